import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ipThrottleKey } from "../src/accounts/client-address";
import {
  eventsFrom,
  expectError,
  fromIp,
  login as loginWith,
  drainEvents,
  outboxSize,
  PASSWORD,
  queueMark,
  redeliverRetries,
  registerUser,
  uniqueIp,
  uniqueUsername,
  withD1TableOffline,
  withQueueRefusing,
  type Vars,
} from "./helpers";

async function registered(): Promise<string> {
  return (await registerUser()).username;
}

/** A login with variable overrides for the worker, from `ip` when given. */
function login(username: string, password: string, vars: Vars, ip?: string) {
  return loginWith(username, password, ip ? fromIp(ip) : {}, vars);
}

function throttleOf(key: string) {
  return env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(key));
}

describe("the default login limits", () => {
  it("lock one username from one address after 5 failures, and nowhere else", async () => {
    const username = await registered();
    const attacker = uniqueIp();
    for (let i = 0; i < 5; i++) expect((await login(username, "wrong password", {}, attacker)).status).toBe(401);
    await expectError(await login(username, PASSWORD, {}, attacker), 429, "too_many_requests");
    expect((await login(username, PASSWORD, {}, uniqueIp())).status).toBe(200);
  });
});

describe("ipThrottleKey", () => {
  it("keeps IPv4 addresses and maps IPv6 addresses to their /64 prefix", () => {
    expect(ipThrottleKey("203.0.113.9")).toBe("203.0.113.9");
    expect(ipThrottleKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(ipThrottleKey("2001:0DB8:0001:0002::9")).toBe("2001:db8:1:2::/64");
    expect(ipThrottleKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(ipThrottleKey("::1")).toBe("0:0:0:0::/64");
    expect(ipThrottleKey("::ffff:198.51.100.7")).toBe("198.51.100.7");
  });

  it("leaves anything that is not an address as it is (bounded), without throwing", () => {
    for (const odd of ["not-an-ip", "1:2:3:4:5:6:7:8:9", "1::2::3", "1:2:3:4:5:6:7::8", "gggg::1", ":".repeat(5000)]) {
      expect(() => ipThrottleKey(odd)).not.toThrow();
      expect(ipThrottleKey(odd).length).toBeLessThanOrEqual(64);
    }
  });
});

describe("login_failed audit events", () => {
  it("wait in the throttle's outbox while the queue refuses them, and are sent by its alarm once it takes them", async () => {
    const ip = uniqueIp();
    const username = uniqueUsername("offline");
    const throttle = throttleOf(`user:${username}`);
    await withQueueRefusing(async () => {
      const response = await login(username, "wrong password", {}, ip);
      // The queue refusing does not change the answer.
      expect(response.status).toBe(401);
      expect(await outboxSize(throttle)).toBe(1);
    });
    expect(await eventsFrom(ip, "login_failed")).toEqual([]);

    expect(await runDurableObjectAlarm(throttle)).toBe(true);
    expect(await eventsFrom(ip, "login_failed")).toEqual([expect.objectContaining({ sub: null, ip })]);
    expect(await outboxSize(throttle)).toBe(0);
  });

  it("reach D1 through the queue when D1 is up, and once D1 is back when it is not", async () => {
    const ip = uniqueIp();
    expect((await login(uniqueUsername("ghost"), "wrong password", {}, ip)).status).toBe(401);
    expect(await eventsFrom(ip, "login_failed")).toHaveLength(1);

    const offline = uniqueIp();
    const mark = queueMark();
    await withD1TableOffline("events", async () => {
      expect((await login(uniqueUsername("ghost"), "wrong password", {}, offline)).status).toBe(401);
      await drainEvents();
    });
    expect(await eventsFrom(offline, "login_failed")).toEqual([]);
    expect((await redeliverRetries(mark)).map((delivery) => delivery.outcome)).toEqual(["ack"]);
    expect(await eventsFrom(offline, "login_failed")).toHaveLength(1);
  });
});

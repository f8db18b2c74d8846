import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ipThrottleKey } from "../src/accounts/client-address";
import { MAX_PADDING_MS, paddingMs, SAMPLES, withSample, type CallDurations } from "../src/accounts/first-use-timing";
import {
  backdateAttempts,
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
  storedIn,
  throttleOfUsername,
  uniqueIp,
  uniqueUsername,
  withQueueRefusing,
  type Vars,
  withD1TableOffline,
} from "./helpers";

async function registered(): Promise<string> {
  return (await registerUser()).username;
}

/** A login with variable overrides for the worker, from `ip` when given. */
function login(username: string, password: string, vars: Vars, ip?: string) {
  return loginWith(username, password, ip ? fromIp(ip) : {}, vars);
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
    const throttle = throttleOfUsername(username);
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

  it("keep the object's storage while one waits for the queue, even once its attempt left the window", async () => {
    const ip = uniqueIp();
    const username = uniqueUsername("offline");
    const throttle = throttleOfUsername(username);
    await withQueueRefusing(async () => {
      expect((await login(username, "wrong password", {}, ip)).status).toBe(401);
      await backdateAttempts(throttle, 900);
      expect(await runDurableObjectAlarm(throttle)).toBe(true);
      // The attempt is gone, the event is not: it is only deleted once the queue has it.
      expect(await outboxSize(throttle)).toBe(1);
      expect((await storedIn(throttle)).alarm).not.toBeNull();
    });

    expect(await runDurableObjectAlarm(throttle)).toBe(true);
    expect(await eventsFrom(ip, "login_failed")).toEqual([expect.objectContaining({ sub: null, ip })]);
    expect(await storedIn(throttle)).toMatchObject({ tables: [], alarm: null });
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

describe("evening out a username object's first use", () => {
  const seen = (firstUse: number[], later: number[]): CallDurations => ({ firstUse, later });

  it("tells a first use from a later one: the instance created for a call reports it", async () => {
    const throttle = throttleOfUsername(uniqueUsername("first"));
    const first = await throttle.reserveForUsername(null);
    const later = await throttle.reserveForUsername(null);
    expect(first).toMatchObject({ allowed: true, firstUse: true });
    expect(later).toMatchObject({ allowed: true, firstUse: false });
  });

  it("pads a later call by the difference of the medians, and never a first use", () => {
    const durations = seen([7, 6, 30, 6, 8], [1, 1, 2, 40]);
    expect(paddingMs(durations, false)).toBe(7 - 1.5);
    expect(paddingMs(durations, true)).toBe(0);
  });

  it("pads nothing before both kinds of call were seen, or when a first use is not slower", () => {
    expect(paddingMs(seen([], [1, 2]), false)).toBe(0);
    expect(paddingMs(seen([5], []), false)).toBe(0);
    expect(paddingMs(seen([1], [3]), false)).toBe(0);
  });

  it("pads at most MAX_PADDING_MS and keeps the last SAMPLES durations of each kind", () => {
    expect(paddingMs(seen([10_000], [1]), false)).toBe(MAX_PADDING_MS);
    let durations = seen([], []);
    for (let i = 0; i < SAMPLES + 10; i++) durations = withSample(durations, i % 2 === 0, i);
    expect(durations.firstUse).toHaveLength(SAMPLES / 2 + 5);
    for (let i = 0; i < SAMPLES; i++) durations = withSample(durations, true, 1000 + i);
    expect(durations.firstUse).toEqual(Array.from({ length: SAMPLES }, (_, i) => 1000 + i));
  });
});

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ipThrottleKey } from "../src/accounts/client-address";
import {
  eventsFrom,
  expectError,
  fromIp,
  login as loginWith,
  PASSWORD,
  queuedWrites,
  registerUser,
  uniqueIp,
  uniqueUsername,
  withD1TableOffline,
  type Vars,
} from "./helpers";

async function registered(): Promise<string> {
  return (await registerUser()).username;
}

/** A login under this file's limits (`vars`), from `ip` when given. */
function login(username: string, password: string, vars: Vars, ip?: string) {
  return loginWith(username, password, ip ? fromIp(ip) : {}, vars);
}

function throttleOf(key: string) {
  return env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(key));
}

/** Moves every counted attempt of a throttle `seconds` into the past, as if that time had gone by. */
function backdate(key: string, seconds: number) {
  return runInDurableObject(throttleOf(key), (_instance, state) => {
    state.storage.sql.exec("UPDATE attempts SET at = at - ?1, expires_at = expires_at - ?1", Math.round(seconds * 1000));
  });
}

/** How many attempts a throttle counts now. */
function attemptsOf(key: string) {
  return runInDurableObject(throttleOf(key), (_instance, state) =>
    state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM attempts").one().n,
  );
}

describe("failed logins per username", () => {
  const vars = { LOGIN_MAX_FAILURES_PER_USERNAME: "3", LOGIN_FAILURE_WINDOW_SECONDS: "900" };

  it("answers 429 with Retry-After after the configured number of failures, even to the right password", async () => {
    const username = await registered();
    for (let i = 0; i < 3; i++) expect((await login(username, "wrong password", vars)).status).toBe(401);

    const blocked = await login(username, PASSWORD, vars);
    await expectError(blocked, 429, "too_many_requests");
    const retryAfter = Number(blocked.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(890);
    expect(retryAfter).toBeLessThanOrEqual(900);
  });

  it("limits an unknown username the same way, so a 429 reveals nothing about who exists", async () => {
    const ghost = uniqueUsername("ghost");
    for (let i = 0; i < 3; i++) expect((await login(ghost, "wrong password", vars)).status).toBe(401);
    expect((await login(ghost, "wrong password", vars)).status).toBe(429);
  });

  it("counts the username case-insensitively", async () => {
    const username = await registered();
    for (const name of [username, username.toUpperCase(), username]) {
      expect((await login(name, "wrong password", vars)).status).toBe(401);
    }
    expect((await login(username.toUpperCase(), PASSWORD, vars)).status).toBe(429);
  });

  it("lets the user in again once the window has passed (failures backdated past it)", async () => {
    const username = await registered();
    for (let i = 0; i < 3; i++) await login(username, "wrong password", vars);
    expect((await login(username, PASSWORD, vars)).status).toBe(429);

    await backdate(`user:${username.toLowerCase()}`, 600);
    const stillBlocked = await login(username, PASSWORD, vars);
    expect(stillBlocked.status).toBe(429);
    expect(Number(stillBlocked.headers.get("Retry-After"))).toBeLessThanOrEqual(300);

    await backdate(`user:${username.toLowerCase()}`, 300);
    expect((await login(username, PASSWORD, vars)).status).toBe(200);
  });

  it("lets the user in again once a 1-second window has passed (failures backdated by 1.1 s)", async () => {
    const short = { LOGIN_MAX_FAILURES_PER_USERNAME: "2", LOGIN_FAILURE_WINDOW_SECONDS: "1" };
    const username = await registered();
    for (let i = 0; i < 2; i++) expect((await login(username, "wrong password", short)).status).toBe(401);
    const blocked = await login(username, PASSWORD, short);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get("Retry-After")).toBe("1");

    await backdate(`user:${username.toLowerCase()}`, 1.1);
    expect((await login(username, PASSWORD, short)).status).toBe(200);
  });

  it("starts the count over after a successful login", async () => {
    const username = await registered();
    for (let i = 0; i < 2; i++) expect((await login(username, "wrong password", vars)).status).toBe(401);
    expect((await login(username, PASSWORD, vars)).status).toBe(200);
    // Without the reset these would be failures 3 and 4 of the window.
    for (let i = 0; i < 2; i++) expect((await login(username, "wrong password", vars)).status).toBe(401);
    expect((await login(username, PASSWORD, vars)).status).toBe(200);
  });

  it("does not count refused (429) attempts, so hammering a locked account does not extend the lock", async () => {
    const username = await registered();
    for (let i = 0; i < 3; i++) await login(username, "wrong password", vars);
    for (let i = 0; i < 5; i++) expect((await login(username, "wrong password", vars)).status).toBe(429);
    expect(await attemptsOf(`user:${username.toLowerCase()}`)).toBe(3);
  });

  it("gives a burst of parallel guesses exactly as many tries as the limit", async () => {
    const username = await registered();
    const burst = await Promise.all(Array.from({ length: 12 }, () => login(username, "wrong password", vars)));
    const statuses = burst.map((response) => response.status).sort();
    expect(statuses).toEqual([401, 401, 401, ...Array(9).fill(429)]);
  });
});

describe("failed logins per client IP", () => {
  const vars = { LOGIN_MAX_FAILURES_PER_USERNAME: "100", LOGIN_MAX_FAILURES_PER_IP: "3", LOGIN_FAILURE_WINDOW_SECONDS: "900" };

  it("answers 429 to an address after the configured failures across any usernames, and not to another address", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) expect((await login(uniqueUsername("spray"), "wrong password", vars, ip)).status).toBe(401);

    const username = await registered();
    const blocked = await login(username, PASSWORD, vars, ip);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(890);

    expect((await login(username, PASSWORD, vars, uniqueIp())).status).toBe(200);
  });

  it("recovers once the window has passed", async () => {
    const ip = uniqueIp();
    const username = await registered();
    for (let i = 0; i < 3; i++) await login(username, "wrong password", vars, ip);
    expect((await login(username, PASSWORD, vars, ip)).status).toBe(429);
    await backdate(`ip:${ip}`, 900);
    expect((await login(username, PASSWORD, vars, ip)).status).toBe(200);
  });

  it("does not count successful logins against the address", async () => {
    const ip = uniqueIp();
    const username = await registered();
    for (let i = 0; i < 5; i++) expect((await login(username, PASSWORD, vars, ip)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await login(username, "wrong password", vars, ip)).status).toBe(401);
    expect((await login(username, PASSWORD, vars, ip)).status).toBe(429);
  });

  it("does not leave a count on the username when the address was the limit that refused", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) await login(uniqueUsername("spray"), "wrong password", vars, ip);
    const username = await registered();
    for (let i = 0; i < 4; i++) expect((await login(username, PASSWORD, vars, ip)).status).toBe(429);
    expect(await attemptsOf(`user:${username.toLowerCase()}`)).toBe(0);
  });

  it("counts IPv6 clients by their /64, so stepping through one prefix does not reset the limit", async () => {
    const prefix = `2001:db8:${crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)}:1`;
    for (let i = 1; i <= 3; i++) await login(uniqueUsername("v6"), "wrong password", vars, `${prefix}::${i}`);
    const username = await registered();
    expect((await login(username, PASSWORD, vars, `${prefix}:ffff:ffff:ffff:ffff`)).status).toBe(429);
    expect((await login(username, PASSWORD, vars, `${prefix.replace(/:1$/, ":2")}::1`)).status).toBe(200);
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
  it("are kept in the throttle's outbox while D1 fails, and written by its alarm once D1 is back", async () => {
    const ip = uniqueIp();
    const username = uniqueUsername("offline");
    const throttle = throttleOf(`user:${username}`);
    await withD1TableOffline("events", async () => {
      const response = await login(username, "wrong password", {}, ip);
      // D1 being down does not change the answer.
      expect(response.status).toBe(401);
      expect(await queuedWrites(throttle)).toBe(1);
    });
    expect(await eventsFrom(ip, "login_failed")).toEqual([]);

    expect(await runDurableObjectAlarm(throttle)).toBe(true);
    expect(await eventsFrom(ip, "login_failed")).toEqual([expect.objectContaining({ sub: null, ip })]);
    const left = await queuedWrites(throttle);
    expect(left).toBe(0);
  });

  it("are written to D1 before the 401 is answered when D1 is up", async () => {
    const ip = uniqueIp();
    expect((await login(uniqueUsername("ghost"), "wrong password", {}, ip)).status).toBe(401);
    expect(await eventsFrom(ip, "login_failed")).toHaveLength(1);
  });
});

import { describe, expect, it } from "vitest";
import { attemptsIn, backdateAttempts, expectError, fromIp, letTimePass, login, PASSWORD, registerUser, storedIn, storesAnything, throttleOfAddress, throttleOfUsername, uniqueIp, uniqueUsername } from "../helpers";

// This project's limits (vitest.config.ts, "login-limits"): 3 failures of one username from one
// address, 6 of one username from all addresses, 8 from one address, in 900 s.
const WRONG = "wrong password";

async function registered(): Promise<string> {
  return (await registerUser()).username;
}

/** A login from `ip`, or with no client address at all. */
function loginFrom(ip: string | null, username: string, password: string) {
  return login(username, password, ip === null ? {} : fromIp(ip));
}

describe("failed logins of one username from one address", () => {
  it("answer 429 with Retry-After after the limit, even to the right password, from that address only", async () => {
    const username = await registered();
    const attacker = uniqueIp();
    for (let i = 0; i < 3; i++) expect((await loginFrom(attacker, username, WRONG)).status).toBe(401);

    const blocked = await loginFrom(attacker, username, PASSWORD);
    await expectError(blocked, 429, "too_many_requests");
    const retryAfter = Number(blocked.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(890);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // The attacker's address cannot lock the user out from anywhere else.
    expect((await loginFrom(uniqueIp(), username, PASSWORD)).status).toBe(200);
  });

  it("limit an unknown username the same way, so a 429 reveals nothing about who exists", async () => {
    const ip = uniqueIp();
    const ghost = uniqueUsername("ghost");
    for (let i = 0; i < 3; i++) expect((await loginFrom(ip, ghost, WRONG)).status).toBe(401);
    expect((await loginFrom(ip, ghost, WRONG)).status).toBe(429);
  });

  it("count the username case-insensitively", async () => {
    const username = await registered();
    const ip = uniqueIp();
    for (const name of [username, username.toUpperCase(), username]) expect((await loginFrom(ip, name, WRONG)).status).toBe(401);
    expect((await loginFrom(ip, username.toUpperCase(), PASSWORD)).status).toBe(429);
  });

  it("let the user in again once the window has passed", async () => {
    const username = await registered();
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) await loginFrom(ip, username, WRONG);
    expect((await loginFrom(ip, username, PASSWORD)).status).toBe(429);

    await backdateAttempts(throttleOfUsername(username), 600);
    const stillBlocked = await loginFrom(ip, username, PASSWORD);
    expect(stillBlocked.status).toBe(429);
    expect(Number(stillBlocked.headers.get("Retry-After"))).toBeLessThanOrEqual(300);

    await backdateAttempts(throttleOfUsername(username), 300);
    expect((await loginFrom(ip, username, PASSWORD)).status).toBe(200);
  });

  it("start over after a successful login from that address", async () => {
    const username = await registered();
    const ip = uniqueIp();
    for (let i = 0; i < 2; i++) expect((await loginFrom(ip, username, WRONG)).status).toBe(401);
    expect((await loginFrom(ip, username, PASSWORD)).status).toBe(200);
    // Without the reset these would be failures 3 and 4 of the window.
    for (let i = 0; i < 2; i++) expect((await loginFrom(ip, username, WRONG)).status).toBe(401);
    expect((await loginFrom(ip, username, PASSWORD)).status).toBe(200);
  });

  it("do not count refused (429) attempts, so hammering a locked account does not extend the lock", async () => {
    const username = await registered();
    const ip = uniqueIp();
    for (let i = 0; i < 3; i++) await loginFrom(ip, username, WRONG);
    for (let i = 0; i < 5; i++) expect((await loginFrom(ip, username, WRONG)).status).toBe(429);
    expect(await attemptsIn(throttleOfUsername(username), ip)).toBe(3);
    expect(await attemptsIn(throttleOfUsername(username))).toBe(3);
    expect(await attemptsIn(throttleOfAddress(ip))).toBe(3);
  });

  it("give a burst of parallel guesses exactly as many tries as the limit", async () => {
    const username = await registered();
    const ip = uniqueIp();
    const burst = await Promise.all(Array.from({ length: 12 }, () => loginFrom(ip, username, WRONG)));
    expect(burst.map((response) => response.status).sort()).toEqual([401, 401, 401, ...Array(9).fill(429)]);
  });
});

describe("failed logins of one username from all addresses", () => {
  it("give a burst of parallel guesses from many addresses exactly as many tries as the per-username limit", async () => {
    const username = await registered();
    const burst = await Promise.all(Array.from({ length: 12 }, () => loginFrom(uniqueIp(), username, WRONG)));
    expect(burst.map((response) => response.status).sort()).toEqual([...Array(6).fill(401), ...Array(6).fill(429)]);
    expect(await attemptsIn(throttleOfUsername(username))).toBe(6);
  });

  it("answer 429 everywhere once a guesser spread over many addresses reached the limit", async () => {
    const username = await registered();
    for (let i = 0; i < 6; i++) expect((await loginFrom(uniqueIp(), username, WRONG)).status).toBe(401);
    const blocked = await loginFrom(uniqueIp(), username, PASSWORD);
    await expectError(blocked, 429, "too_many_requests");
    expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(890);
  });

  it("are the only limit for a request without a client address", async () => {
    const username = await registered();
    for (let i = 0; i < 5; i++) expect((await loginFrom(null, username, WRONG)).status).toBe(401);
    expect((await loginFrom(null, username, PASSWORD)).status).toBe(200);
    // A success clears no failures of other addresses: the next one is the sixth.
    expect((await loginFrom(null, username, WRONG)).status).toBe(401);
    expect((await loginFrom(null, username, PASSWORD)).status).toBe(429);
  });
});

describe("failed logins from one address", () => {
  it("answer 429 to that address after the limit across any usernames, and not to another address", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 8; i++) expect((await loginFrom(ip, uniqueUsername("spray"), WRONG)).status).toBe(401);

    const username = await registered();
    const blocked = await loginFrom(ip, username, PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(890);
    expect((await loginFrom(uniqueIp(), username, PASSWORD)).status).toBe(200);
  });

  it("recover once the window has passed", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 8; i++) await loginFrom(ip, uniqueUsername("spray"), WRONG);
    const username = await registered();
    expect((await loginFrom(ip, username, PASSWORD)).status).toBe(429);
    await backdateAttempts(throttleOfAddress(ip), 900);
    expect((await loginFrom(ip, username, PASSWORD)).status).toBe(200);
  });

  it("do not count successful logins", async () => {
    const ip = uniqueIp();
    const username = await registered();
    for (let i = 0; i < 5; i++) expect((await loginFrom(ip, username, PASSWORD)).status).toBe(200);
    for (let i = 0; i < 8; i++) expect((await loginFrom(ip, uniqueUsername("spray"), WRONG)).status).toBe(401);
    expect((await loginFrom(ip, username, PASSWORD)).status).toBe(429);
  });

  it("leave no count on the username when the address was the limit that refused", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 8; i++) await loginFrom(ip, uniqueUsername("spray"), WRONG);
    const username = await registered();
    for (let i = 0; i < 4; i++) expect((await loginFrom(ip, username, PASSWORD)).status).toBe(429);
    expect(await storesAnything(throttleOfUsername(username))).toBe(false);
    expect(await attemptsIn(throttleOfAddress(ip))).toBe(8);
  });

  it("count IPv6 clients by their /64, so stepping through one prefix does not reset the limit", async () => {
    const prefix = `2001:db8:${crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)}:1`;
    for (let i = 1; i <= 8; i++) await loginFrom(`${prefix}::${i}`, uniqueUsername("v6"), WRONG);
    const username = await registered();
    expect((await loginFrom(`${prefix}:ffff:ffff:ffff:ffff`, username, PASSWORD)).status).toBe(429);
    expect((await loginFrom(`${prefix.replace(/:1$/, ":2")}::1`, username, PASSWORD)).status).toBe(200);
  });
});

describe("what logins from one address make the gateway store", () => {
  it("stops at the address limit: an address over it reaches no username's object, so it creates none", async () => {
    const ip = uniqueIp();
    const counted = Array.from({ length: 8 }, () => uniqueUsername("spray"));
    for (const username of counted) expect((await loginFrom(ip, username, WRONG)).status).toBe(401);
    const refused = Array.from({ length: 12 }, () => uniqueUsername("spray"));
    for (const username of refused) await expectError(await loginFrom(ip, username, WRONG), 429, "too_many_requests");

    for (const username of counted) expect(await attemptsIn(throttleOfUsername(username)), username).toBe(1);
    for (const username of refused) expect(await storesAnything(throttleOfUsername(username)), username).toBe(false);
    expect(await attemptsIn(throttleOfAddress(ip))).toBe(8);
  });

  it("give a burst of parallel guesses at random usernames exactly the address limit, and only those reach a username's object", async () => {
    const ip = uniqueIp();
    const usernames = Array.from({ length: 20 }, () => uniqueUsername("burst"));
    const statuses = (await Promise.all(usernames.map((username) => loginFrom(ip, username, WRONG)))).map((response) => response.status);
    expect([...statuses].sort()).toEqual([...Array(8).fill(401), ...Array(12).fill(429)]);

    const stored = await Promise.all(usernames.map((username) => storesAnything(throttleOfUsername(username))));
    expect(stored).toEqual(statuses.map((status) => status === 401));
    expect(await attemptsIn(throttleOfAddress(ip))).toBe(8);
  });

  it("delete everything, tables and alarm, once the last attempt left the window, and count afresh after", async () => {
    const ip = uniqueIp();
    const username = uniqueUsername("expiring");
    expect((await loginFrom(ip, username, WRONG)).status).toBe(401);
    for (const throttle of [throttleOfAddress(ip), throttleOfUsername(username)]) {
      expect((await storedIn(throttle)).tables).toContain("attempts");
      // Not yet: the attempt is one second short of the window's end, and the alarm is set again for it.
      await letTimePass(throttle, 899);
      expect(await attemptsIn(throttle)).toBe(1);
      expect((await storedIn(throttle)).alarm).not.toBeNull();

      await letTimePass(throttle, 1);
      expect(await storedIn(throttle)).toMatchObject({ tables: [], rows: 0, alarm: null });
    }

    // An object that deleted itself counts from nothing again, under the same limits.
    for (let i = 0; i < 3; i++) expect((await loginFrom(ip, username, WRONG)).status).toBe(401);
    await expectError(await loginFrom(ip, username, WRONG), 429, "too_many_requests");
    expect(await attemptsIn(throttleOfUsername(username))).toBe(3);
  });

  it("leave nothing counted after a successful login, and the objects still delete themselves", async () => {
    const ip = uniqueIp();
    const username = await registered();
    expect((await loginFrom(ip, username, PASSWORD)).status).toBe(200);
    expect(await attemptsIn(throttleOfAddress(ip))).toBe(0);
    expect(await attemptsIn(throttleOfUsername(username))).toBe(0);
    for (const throttle of [throttleOfAddress(ip), throttleOfUsername(username)]) {
      await letTimePass(throttle, 0);
      expect(await storedIn(throttle)).toMatchObject({ tables: [], alarm: null });
    }
  });
});

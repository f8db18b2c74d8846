import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { expectError, fromIp, login, PASSWORD, registerUser, uniqueIp, uniqueUsername } from "../helpers";

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
  return runInDurableObject(throttleOf(key), (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM attempts").one().n);
}

const userIpKey = (username: string, ip: string) => `user-ip:${username.toLowerCase()}|${ip}`;

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

    await backdate(userIpKey(username, ip), 600);
    const stillBlocked = await loginFrom(ip, username, PASSWORD);
    expect(stillBlocked.status).toBe(429);
    expect(Number(stillBlocked.headers.get("Retry-After"))).toBeLessThanOrEqual(300);

    await backdate(userIpKey(username, ip), 300);
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
    expect(await attemptsOf(userIpKey(username, ip))).toBe(3);
    expect(await attemptsOf(`user:${username.toLowerCase()}`)).toBe(3);
  });

  it("give a burst of parallel guesses exactly as many tries as the limit", async () => {
    const username = await registered();
    const ip = uniqueIp();
    const burst = await Promise.all(Array.from({ length: 12 }, () => loginFrom(ip, username, WRONG)));
    expect(burst.map((response) => response.status).sort()).toEqual([401, 401, 401, ...Array(9).fill(429)]);
  });
});

describe("failed logins of one username from all addresses", () => {
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
    await backdate(`ip:${ip}`, 900);
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
    expect(await attemptsOf(`user:${username.toLowerCase()}`)).toBe(0);
    expect(await attemptsOf(userIpKey(username, ip))).toBe(0);
  });

  it("count IPv6 clients by their /64, so stepping through one prefix does not reset the limit", async () => {
    const prefix = `2001:db8:${crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)}:1`;
    for (let i = 1; i <= 8; i++) await loginFrom(`${prefix}::${i}`, uniqueUsername("v6"), WRONG);
    const username = await registered();
    expect((await loginFrom(`${prefix}:ffff:ffff:ffff:ffff`, username, PASSWORD)).status).toBe(429);
    expect((await loginFrom(`${prefix.replace(/:1$/, ":2")}::1`, username, PASSWORD)).status).toBe(200);
  });
});

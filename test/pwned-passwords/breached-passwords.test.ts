import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { capturedLogs, bearer, expectError, login, PASSWORD, postJson, uniqueUsername, type Vars } from "../helpers";
import { accountWithEmail, reset, resetTokenOf, verifiedAccount } from "../account/accounts";

// PWNED_PASSWORDS is `block` in this project and PWNED_PASSWORDS_URL the range API of
// test/pwned-range-server.mjs, which knows these two as breached and pads with count-0 lines.
const BREACHED = "hunter2hunter2";
const ALSO_BREACHED = "P@ssw0rd-leaked";
const PADDED_ONLY = "padding is not a breach";
const CLEAN = "a password nobody leaked";

const logs = capturedLogs();

const api = (mode: "ok" | "slow" | "garbage" | "down" | "redirect") => `${env.TEST_PWNED_URL}/${mode}/range/`;

function registerWith(password: string, vars?: Vars) {
  return postJson("/auth/register", { username: uniqueUsername("pwned"), password }, {}, vars);
}

async function sha1Hex(text: string) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("").toUpperCase();
}

async function rangeRequests(): Promise<Array<{ path: string; padding: string | null }>> {
  return (await fetch(`${env.TEST_PWNED_URL}/__requests`)).json();
}

describe("PWNED_PASSWORDS=block", () => {
  it("refuses a breached password at register with 400 breached_password, sending only 5 hex characters, padded", async () => {
    const before = (await rangeRequests()).length;
    for (const password of [BREACHED, ALSO_BREACHED]) await expectError(await registerWith(password), 400, "breached_password");
    const sent = (await rangeRequests()).slice(before);
    expect(sent).toEqual([
      { path: `/ok/range/${(await sha1Hex(BREACHED)).slice(0, 5)}`, padding: "true" },
      { path: `/ok/range/${(await sha1Hex(ALSO_BREACHED)).slice(0, 5)}`, padding: "true" },
    ]);
    // Never the password or its hash in a log line.
    expect(logs.lines.join("\n")).not.toContain(BREACHED);
    expect(logs.lines.join("\n")).not.toContain((await sha1Hex(BREACHED)).slice(5));
  });

  it("lets a clean password through, and one whose suffix is only a count-0 padding line", async () => {
    expect((await registerWith(CLEAN)).status).toBe(201);
    const padded = await registerWith(PADDED_ONLY);
    expect(padded.status).toBe(201);
    expect(await padded.json()).toEqual({ user_id: expect.any(String) });
  });

  it("refuses a breached new password at change and at reset, and changes nothing", async () => {
    const { username, pair } = await accountWithEmail();
    await expectError(await postJson("/auth/password", { current_password: PASSWORD, new_password: BREACHED }, bearer(pair.access_token)), 400, "breached_password");
    expect((await login(username, PASSWORD)).status).toBe(200);

    const verified = await verifiedAccount();
    const token = await resetTokenOf(verified);
    await expectError(await reset({ token, password: BREACHED }), 400, "breached_password");
    // The token is not spent by a refused password.
    expect((await reset({ token, password: CLEAN })).status).toBe(204);
  });
});

describe("PWNED_PASSWORDS=warn", () => {
  it('lets a breached password register with "breached": true, and a clean one without it', async () => {
    const breached = await registerWith(BREACHED, { PWNED_PASSWORDS: "warn" });
    expect(breached.status).toBe(201);
    expect(await breached.json()).toEqual({ user_id: expect.any(String), breached: true });
    const clean = await registerWith(CLEAN, { PWNED_PASSWORDS: "warn" });
    expect(Object.keys(await clean.json())).toEqual(["user_id"]);
  });

  it("keeps change's 204 for a breached password", async () => {
    const { pair } = await accountWithEmail();
    const vars = { PWNED_PASSWORDS: "warn" };
    expect((await postJson("/auth/password", { current_password: PASSWORD, new_password: BREACHED }, bearer(pair.access_token), vars)).status).toBe(204);
  });
});

describe("PWNED_PASSWORDS=off", () => {
  it("asks nobody", async () => {
    const before = (await rangeRequests()).length;
    expect((await registerWith(BREACHED, { PWNED_PASSWORDS: "off" })).status).toBe(201);
    expect((await rangeRequests()).length).toBe(before);
  });
});

describe("a range API that fails never fails the request", () => {
  it.each([
    ["answers 500", "down", /answered 500/],
    ["answers garbage", "garbage", /not a range answer/],
    ["redirects", "redirect", /answered 302/],
  ] as const)("lets the password through when the API %s, with one log line", async (_name, mode, problem) => {
    const response = await registerWith(BREACHED, { PWNED_PASSWORDS_URL: api(mode) });
    expect(response.status).toBe(201);
    const lines = logs.lines.filter((line) => line.includes("breached_password_check_failed"));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ event: "breached_password_check_failed", problem: expect.stringMatching(problem), outcome: "let through" });
    expect(logs.lines.join("\n")).not.toContain(BREACHED);
  });

  it("gives a slow API 2 s, then lets the password through", async () => {
    const started = Date.now();
    const response = await registerWith(BREACHED, { PWNED_PASSWORDS_URL: api("slow") });
    const took = Date.now() - started;
    expect(response.status).toBe(201);
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(4000);
    expect(logs.lines.some((line) => line.includes("no answer within 2000 ms"))).toBe(true);
  });

  it("lets the password through when nothing listens at the URL", async () => {
    expect((await registerWith(BREACHED, { PWNED_PASSWORDS_URL: "http://127.0.0.1:9/range/" })).status).toBe(201);
  });
});

describe("PWNED_PASSWORDS settings", () => {
  it("answers 503 naming the variable to a bad mode or URL", async () => {
    expect(await expectError(await registerWith(CLEAN, { PWNED_PASSWORDS: "strict" }), 503, "server_misconfigured")).toContain("PWNED_PASSWORDS");
    expect(await expectError(await registerWith(CLEAN, { PWNED_PASSWORDS_URL: "ftp://example.com/" }), 503, "server_misconfigured")).toContain("PWNED_PASSWORDS_URL");
  });
});

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { capturedLogs, call, drainEvents, eventsOf, expectError, postJson, uniqueUsername } from "../helpers";
import { accountWithEmail, messagesOf, requestCode, uniqueEmail, verifiedAccount, verify } from "../account/accounts";
import { deliveriesAbout } from "../webhook-receiver-client";

const logs = capturedLogs();

/** The codes sent to a user, oldest first. */
async function codesOf(userId: string): Promise<string[]> {
  return (await messagesOf(userId, "message.email_verification")).map((message) => message.code!);
}

function verifiedFlag(userId: string) {
  return env.DB.prepare("SELECT email, email_verified FROM users WHERE id = ?1").bind(userId).first<{ email: string; email_verified: number }>();
}

describe("POST /auth/email/verification and /auth/email/verify", () => {
  it("sends a 6-digit code to the account's address as a signed message, and the code verifies it", async () => {
    const email = uniqueEmail("Ada");
    const { userId, pair } = await accountWithEmail(email);
    const before = Date.now();
    expect((await requestCode(pair.access_token)).status).toBe(202);

    await drainEvents(userId);
    const [delivery, ...more] = (await deliveriesAbout(userId)).filter((entry) => entry.payload.type === "message.email_verification");
    expect(more).toEqual([]);
    expect(delivery!.verified).toBe(true);
    const data = delivery!.payload.data as { to: string; user_id: string; code: string; expires_at: string };
    expect(Object.keys(data).sort()).toEqual(["code", "expires_at", "to", "user_id"]);
    expect(data.to).toBe(email.toLowerCase());
    expect(data.user_id).toBe(userId);
    expect(data.code).toMatch(/^\d{6}$/);
    // Ten minutes.
    expect(Date.parse(data.expires_at) - before).toBeGreaterThanOrEqual(600_000 - 1000);
    expect(Date.parse(data.expires_at) - before).toBeLessThanOrEqual(600_000 + 5000);

    expect(await verifiedFlag(userId)).toEqual({ email: email.toLowerCase(), email_verified: 0 });
    expect((await verify(pair.access_token, data.code)).status).toBe(204);
    expect(await verifiedFlag(userId)).toEqual({ email: email.toLowerCase(), email_verified: 1 });
    const events = await eventsOf(userId, "email_verified");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ sub: userId, session_id: pair.session_id, detail: null });
    // Used once: the same code again is invalid_code.
    await expectError(await verify(pair.access_token, data.code), 400, "invalid_code");
    // Never the code in a log line or an event.
    expect(logs.lines.join("\n")).not.toContain(data.code);
    expect(JSON.stringify(await eventsOf(userId))).not.toContain(data.code);
  });

  it("takes five tries: after five wrong codes even the right one is refused", async () => {
    const { userId, pair } = await accountWithEmail();
    expect((await requestCode(pair.access_token)).status).toBe(202);
    const [code] = await codesOf(userId);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    for (let attempt = 0; attempt < 5; attempt += 1) await expectError(await verify(pair.access_token, wrong), 400, "invalid_code");
    await expectError(await verify(pair.access_token, code), 400, "invalid_code");
    expect((await verifiedFlag(userId))!.email_verified).toBe(0);
  });

  it("kills the previous code when a new one is sent", async () => {
    const { userId, pair } = await accountWithEmail();
    expect((await requestCode(pair.access_token)).status).toBe(202);
    expect((await requestCode(pair.access_token)).status).toBe(202);
    const [first, second] = await codesOf(userId);
    if (first !== second) await expectError(await verify(pair.access_token, first), 400, "invalid_code");
    expect((await verify(pair.access_token, second)).status).toBe(204);
  });

  it("refuses a code past its ten minutes", async () => {
    const { userId, pair } = await accountWithEmail();
    expect((await requestCode(pair.access_token)).status).toBe(202);
    const [code] = await codesOf(userId);
    const { runInDurableObject } = await import("cloudflare:test");
    const { userAuthStub } = await import("../helpers");
    await runInDurableObject(userAuthStub(userId), (_instance, state) => {
      state.storage.sql.exec("UPDATE email_codes SET expires_at = ?", Date.now() - 1);
    });
    await expectError(await verify(pair.access_token, code), 400, "invalid_code");
  });

  it("answers 429 with Retry-After to the sixth code within an hour, and keeps at most one code", async () => {
    const { userId, pair } = await accountWithEmail();
    for (let sent = 0; sent < 5; sent += 1) expect((await requestCode(pair.access_token)).status).toBe(202);
    const refused = await requestCode(pair.access_token);
    await expectError(refused, 429, "too_many_requests");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(Number(refused.headers.get("Retry-After"))).toBeLessThanOrEqual(3600);
    expect(await messagesOf(userId, "message.email_verification")).toHaveLength(5);
    const { userAuthStub } = await import("../helpers");
    expect(await userAuthStub(userId).account().counts()).toEqual({ emailCodes: 1, resetTokens: 0, messageSends: 5 });
  });

  it("answers 400 to an account without an address, or one already verified", async () => {
    const { pair } = await accountWithEmail(null);
    await expectError(await requestCode(pair.access_token), 400, "invalid_request");
    const verified = await verifiedAccount();
    await expectError(await requestCode(verified.pair.access_token), 400, "invalid_request");
  });

  it.each([
    ["a number", 123456],
    ["null", null],
    ["a long string", "1".repeat(17)],
  ])("answers 400 invalid_request to a code that is %s", async (_name, code) => {
    const { pair } = await accountWithEmail();
    await expectError(await verify(pair.access_token, code), 400, "invalid_request");
  });

  it.each([["five digits", "12345"], ["letters", "abcdef"], ["no code sent", "123456"]])("answers 400 invalid_code to %s", async (_name, code) => {
    const { pair } = await accountWithEmail();
    await expectError(await verify(pair.access_token, code), 400, "invalid_code");
  });

  it("needs an access token", async () => {
    expect((await call("/auth/email/verification", { method: "POST" })).status).toBe(401);
    expect((await postJson("/auth/email/verify", { code: "123456" })).status).toBe(401);
  });

  it("refuses 409 email_taken when another account verified the address first, at register and at verify", async () => {
    const email = uniqueEmail("Shared");
    const other = await accountWithEmail(email.toUpperCase());
    await verifiedAccount(email);
    // The second account typed it before the first verified it: its code cannot take it over.
    expect((await requestCode(other.pair.access_token)).status).toBe(202);
    const [code] = await codesOf(other.userId);
    await expectError(await verify(other.pair.access_token, code), 409, "email_taken");
    // And a new registration with it, in any case, is refused.
    await expectError(await postJson("/auth/register", { username: uniqueUsername(), password: "a long password", email: email.toLowerCase() }), 409, "email_taken");
  });
});

import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { capturedLogs, eventsOf, expectError, fromIp, login, postJson, refresh, turnTotpOn, uniqueIp, uniqueUsername, userAuthStub } from "../helpers";
import { accountWithEmail, awaitMessages, forgot, messagesOf, reset, resetTokenOf, signIn, verifiedAccount } from "../account/accounts";

const logs = capturedLogs();

const NEW_PASSWORD = "a brand new password";

describe("POST /auth/password/forgot and /auth/password/reset", () => {
  it("sends a single-use reset token of at least 128 bits to the verified address, and the reset revokes every session", async () => {
    const account = await verifiedAccount();
    const second = await signIn(account.username, account.password);
    const before = Date.now();
    const token = await resetTokenOf(account);
    const [message] = await messagesOf(account.userId, "message.password_reset");
    expect(message).toEqual({ to: account.email!.toLowerCase(), user_id: account.userId, token, expires_at: expect.any(String) });
    // 256 random bits after the object's id.
    expect(token).toMatch(/^rt1\.[0-9a-f]{64}\.[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(message!.expires_at) - before).toBeGreaterThanOrEqual(1_800_000 - 1000);
    expect(Date.parse(message!.expires_at) - before).toBeLessThanOrEqual(1_800_000 + 5000);

    expect((await reset({ token, password: NEW_PASSWORD })).status).toBe(204);
    // Every session of the user is revoked, the old password is dead and the new one works.
    await expectError(await refresh(account.pair.refresh_token), 400, "invalid_grant");
    await expectError(await refresh(second.refresh_token), 400, "invalid_grant");
    await expectError(await login(account.username, account.password), 401, "invalid_credentials");
    expect((await login(account.username, NEW_PASSWORD)).status).toBe(200);
    const [event] = await eventsOf(account.userId, "password_reset");
    expect(event).toMatchObject({ sub: account.userId, detail: { revoked_session_ids: expect.arrayContaining([account.pair.session_id, second.session_id]) } });
    // Replayed: invalid_grant.
    await expectError(await reset({ token, password: "yet another password" }), 400, "invalid_grant");
    // Never the token, in a log line or an event.
    expect(logs.lines.join("\n")).not.toContain(token.split(".")[2]);
    expect(JSON.stringify(await eventsOf(account.userId))).not.toContain(token.split(".")[2]);
  });

  it("finds the account by its address in any case, and kills older tokens with the reset", async () => {
    const account = await verifiedAccount();
    expect((await forgot({ email: account.email!.toUpperCase() })).status).toBe(202);
    expect((await forgot({ email: account.email })).status).toBe(202);
    const [older, newer] = await awaitMessages(account.userId, "message.password_reset", 2);
    expect((await reset({ token: newer!.token, password: NEW_PASSWORD })).status).toBe(204);
    await expectError(await reset({ token: older!.token, password: "another new password" }), 400, "invalid_grant");
  });

  it("answers 202 the same way whether or not the account exists or has a verified address, and sends nothing to an unverified one", async () => {
    const unverified = await accountWithEmail();
    const verified = await verifiedAccount();
    const answers = await Promise.all([
      forgot({ username: verified.username }),
      forgot({ username: unverified.username }),
      forgot({ username: uniqueUsername("nobody") }),
      forgot({ email: unverified.email }),
      forgot({ email: `nobody.${crypto.randomUUID().slice(0, 8)}@example.com` }),
    ]);
    const shapes = await Promise.all(answers.map(async (answer) => ({ status: answer.status, body: await answer.text(), headers: [...answer.headers.keys()].sort() })));
    expect(new Set(shapes.map((shape) => JSON.stringify(shape))).size).toBe(1);
    expect(shapes[0]!.status).toBe(202);
    await awaitMessages(verified.userId, "message.password_reset", 1);
    expect(await messagesOf(unverified.userId, "message.password_reset")).toEqual([]);
  });

  it("answers in similar time for an account that exists and one that does not (the token is sent after the answer)", async () => {
    const verified = await verifiedAccount();
    const timeOf = async (body: object) => {
      const started = performance.now();
      expect((await forgot(body)).status).toBe(202);
      return performance.now() - started;
    };
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      known.push(await timeOf({ username: verified.username }));
      unknown.push(await timeOf({ username: uniqueUsername("nobody") }));
    }
    // The same work before the answer (one D1 read): within a few milliseconds of each other.
    expect(Math.abs(median(known) - median(unknown))).toBeLessThan(50);
  });

  it("sends at most five reset messages an hour per account and keeps at most three tokens", async () => {
    const account = await verifiedAccount();
    for (let asked = 0; asked < 8; asked += 1) expect((await forgot({ username: account.username })).status).toBe(202);
    await awaitMessages(account.userId, "message.password_reset", 5);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await messagesOf(account.userId, "message.password_reset")).toHaveLength(5);
    expect(await userAuthStub(account.userId).account().counts()).toMatchObject({ resetTokens: 3 });
  });

  it("counts forgot requests per client address with REGISTRATIONS_PER_IP_PER_HOUR (20): the 21st gets 429", async () => {
    const ip = uniqueIp();
    for (let asked = 0; asked < 20; asked += 1) expect((await forgot({ username: uniqueUsername("nobody") }, fromIp(ip))).status).toBe(202);
    const refused = await forgot({ username: uniqueUsername("nobody") }, fromIp(ip));
    await expectError(refused, 429, "too_many_requests");
    expect(refused.headers.get("Retry-After")).toMatch(/^\d+$/);
  });

  it.each([
    ["neither field", {}],
    ["both fields", { username: "someone", email: "someone@example.com" }],
    ["an address that is not one", { email: "not an address" }],
    ["an address of 255 characters", { email: `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(59)}.com` }],
    ["a username of the wrong type", { username: 42 }],
  ])("answers 400 invalid_request to %s", async (_name, body) => {
    await expectError(await forgot(body), 400, "invalid_request");
  });

  describe("refuses a reset token that is not a live one with 400 invalid_grant", () => {
    it("forged, truncated, of another object, or spent: and the real one still works after", async () => {
      const account = await verifiedAccount();
      const victim = await verifiedAccount();
      const token = await resetTokenOf(account);
      const [kind, objectId, secret] = token.split(".") as [string, string, string];
      const victimObject = userAuthStub(victim.userId).id.toString();
      const forged = [
        `${kind}.${objectId}.${"A".repeat(43)}`,
        token.slice(0, -1),
        `${token}A`,
        `${kind}.${victimObject}.${secret}`,
        `lt1.${objectId}.${secret}`,
        `rt1.${"0".repeat(64)}.${secret}`,
        "",
        "x".repeat(10_000),
      ];
      for (const candidate of forged) await expectError(await reset({ token: candidate, password: NEW_PASSWORD }), 400, "invalid_grant");
      expect((await login(victim.username, victim.password)).status).toBe(200);
      expect((await reset({ token, password: NEW_PASSWORD })).status).toBe(204);
      await expectError(await reset({ token, password: NEW_PASSWORD }), 400, "invalid_grant");
    });

    it("expired after thirty minutes", async () => {
      const account = await verifiedAccount();
      const token = await resetTokenOf(account);
      await runInDurableObject(userAuthStub(account.userId), (_instance, state) => {
        state.storage.sql.exec("UPDATE reset_tokens SET expires_at = ?", Date.now() - 1);
      });
      await expectError(await reset({ token, password: NEW_PASSWORD }), 400, "invalid_grant");
      expect((await login(account.username, account.password)).status).toBe(200);
    });

    it("dead once the password was changed", async () => {
      const account = await verifiedAccount();
      const token = await resetTokenOf(account);
      const { postJson, bearer } = await import("../helpers");
      expect((await postJson("/auth/password", { current_password: account.password, new_password: NEW_PASSWORD }, bearer(account.pair.access_token))).status).toBe(204);
      await expectError(await reset({ token, password: "yet another password" }), 400, "invalid_grant");
    });
  });

  it.each([
    ["a password of 7 characters", { password: "1234567" }],
    ["a password of 257 characters", { password: "p".repeat(257) }],
    ["no password", { password: undefined }],
    ["a token that is not a string", { token: 42 }],
    ["a code that is not a string", { code: 123456 }],
  ])("answers 400 invalid_request to %s, and the token stays usable", async (_name, change) => {
    const account = await verifiedAccount();
    const token = await resetTokenOf(account);
    await expectError(await reset({ token, password: NEW_PASSWORD, ...change }), 400, "invalid_request");
    expect((await reset({ token, password: NEW_PASSWORD })).status).toBe(204);
  });
});

describe("a password reset of an account with TOTP on", () => {
  const resetFrom = (ip: string, body: Record<string, unknown>) => postJson("/auth/password/reset", body, fromIp(ip));

  it("asks for its code: none or a wrong one is 401 mfa_required and leaves the link usable; the right code resets", async () => {
    const account = await verifiedAccount();
    const { device } = await turnTotpOn(account.pair.access_token);
    const token = await resetTokenOf(account);
    const ip = uniqueIp();
    await expectError(await resetFrom(ip, { token, password: NEW_PASSWORD }), 401, "mfa_required");
    await expectError(await resetFrom(ip, { token, password: NEW_PASSWORD, code: "000000" }), 401, "mfa_required");
    expect((await resetFrom(ip, { token, password: NEW_PASSWORD, code: await device.code() })).status).toBe(204);
    // The new password works, and still asks for the second factor.
    const again = await login(account.username, NEW_PASSWORD);
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: string }).error).toBe("mfa_required");
  });

  it("takes a recovery code instead, once", async () => {
    const account = await verifiedAccount();
    const { recoveryCodes } = await turnTotpOn(account.pair.access_token);
    const ip = uniqueIp();
    expect((await resetFrom(ip, { token: await resetTokenOf(account), password: NEW_PASSWORD, code: recoveryCodes[0] })).status).toBe(204);
    await expectError(await resetFrom(ip, { token: await resetTokenOf(account, 1), password: "another new password", code: recoveryCodes[0] }), 401, "mfa_required");
  });

  it("counts a wrong code as a login failure of the username from that address: after five, 429, and the password login from there too", async () => {
    const account = await verifiedAccount();
    const { device } = await turnTotpOn(account.pair.access_token);
    const token = await resetTokenOf(account);
    const ip = uniqueIp();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await expectError(await resetFrom(ip, { token, password: NEW_PASSWORD, code: String(100000 + attempt) }), 401, "mfa_required");
    }
    const limited = await resetFrom(ip, { token, password: NEW_PASSWORD, code: await device.code() });
    await expectError(limited, 429, "too_many_requests");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    await expectError(await login(account.username, account.password, fromIp(ip)), 429, "too_many_requests");
    const failures = await eventsOf(account.userId, "login_failed");
    expect(failures.map((event) => event.detail)).toEqual(Array(5).fill({ reason: "wrong_code", route: "password_reset" }));
    // No code ever reached the audit trail or the log.
    expect(logs.lines.join("\n")).not.toMatch(/\b10000[0-4]\b/);
  });
});

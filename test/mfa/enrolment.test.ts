import { describe, expect, it } from "vitest";
import type { RecoveryCodes, TotpEnrolment } from "../../src/wire";
import {
  bearer,
  call,
  eventsOf,
  expectError,
  fromIp,
  login,
  PASSWORD,
  registerUser,
  sessionOfNewUser,
  TotpDevice,
  totpCode,
  uniqueIp,
  userWithTotp,
  withCode,
  type TokenResponse,
} from "../helpers";

async function enrol(accessToken: string): Promise<Response> {
  return call("/auth/mfa/totp", { method: "POST", headers: bearer(accessToken) });
}

async function passwordSession(): Promise<{ username: string; userId: string; session: TokenResponse }> {
  const { username, userId } = await registerUser();
  const response = await login(username, PASSWORD, fromIp(uniqueIp()));
  expect(response.status).toBe(200);
  return { username, userId, session: await response.json() };
}

describe("POST /auth/mfa/totp", () => {
  it("answers 201 with a base32 secret and an otpauth URI naming the issuer and the username, not cached", async () => {
    const { username, session } = await passwordSession();
    const response = await enrol(session.access_token);
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as TotpEnrolment;
    expect(Object.keys(body).sort()).toEqual(["otpauth_uri", "secret"]);
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(body.otpauth_uri).toBe(`otpauth://totp/edge-auth-gateway:${encodeURIComponent(username)}?issuer=edge-auth-gateway&algorithm=SHA1&secret=${body.secret}&period=30&digits=6`);
  });

  it("names the user id in the URI for an account without a username", async () => {
    const { sub, access_token } = await sessionOfNewUser("mfa");
    const body = (await (await enrol(access_token)).json()) as TotpEnrolment;
    expect(body.otpauth_uri).toContain(`:${encodeURIComponent(sub)}?`);
  });

  it("replaces a pending secret with a second call: only the newest confirms", async () => {
    const { session } = await passwordSession();
    const first = (await (await enrol(session.access_token)).json()) as TotpEnrolment;
    const second = (await (await enrol(session.access_token)).json()) as TotpEnrolment;
    expect(second.secret).not.toBe(first.secret);
    await expectError(await withCode("POST", "/auth/mfa/totp/confirm", session.access_token, await totpCode(first.secret)), 400, "invalid_code");
    expect((await withCode("POST", "/auth/mfa/totp/confirm", session.access_token, await new TotpDevice(second.secret).code())).status).toBe(200);
  });

  it("answers 409 mfa_already_enabled once TOTP is on", async () => {
    const user = await userWithTotp();
    await expectError(await enrol(user.session.access_token), 409, "mfa_already_enabled");
  });

  it("answers 401 without an access token", async () => {
    await expectError(await call("/auth/mfa/totp", { method: "POST" }), 401, "unauthorized");
  });
});

describe("POST /auth/mfa/totp/confirm", () => {
  it("turns TOTP on with a code of the pending secret: ten recovery codes, shown once, and mfa_enabled", async () => {
    const { username, userId, session } = await passwordSession();
    const { secret } = (await (await enrol(session.access_token)).json()) as TotpEnrolment;
    const before = Date.now();
    const response = await withCode("POST", "/auth/mfa/totp/confirm", session.access_token, await new TotpDevice(secret).code());
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as RecoveryCodes;
    expect(Object.keys(body)).toEqual(["recovery_codes"]);
    expect(body.recovery_codes).toHaveLength(10);
    const [event] = await eventsOf(userId, "mfa_enabled");
    expect(event).toMatchObject({ type: "mfa_enabled", sub: userId, session_id: session.session_id, detail: null });
    expect(Date.parse(event!.at)).toBeGreaterThanOrEqual(before - 1000);
    // The next password login asks for the code.
    expect(((await (await login(username, PASSWORD, fromIp(uniqueIp()))).json()) as { error: string }).error).toBe("mfa_required");
  });

  it("answers 400 invalid_code to a wrong code and to anything that is not six digits, and TOTP stays off", async () => {
    const { username, session } = await passwordSession();
    const { secret } = (await (await enrol(session.access_token)).json()) as TotpEnrolment;
    const right = await totpCode(secret);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, "0");
    for (const code of [wrong, "12345", "1234567", "abcdef", ""]) {
      await expectError(await withCode("POST", "/auth/mfa/totp/confirm", session.access_token, code), 400, "invalid_code");
    }
    expect((await login(username, PASSWORD, fromIp(uniqueIp()))).status).toBe(200);
  });

  it("answers 400 invalid_request to a code that is not a string", async () => {
    const { session } = await passwordSession();
    await enrol(session.access_token);
    for (const code of [123456, null, ["123456"], { code: "123456" }]) {
      await expectError(await withCode("POST", "/auth/mfa/totp/confirm", session.access_token, code), 400, "invalid_request");
    }
  });

  it("answers 409 when nothing is pending, and 409 mfa_already_enabled when TOTP is on", async () => {
    const { session } = await passwordSession();
    await expectError(await withCode("POST", "/auth/mfa/totp/confirm", session.access_token, "123456"), 409, "invalid_request");
    const user = await userWithTotp();
    await expectError(await withCode("POST", "/auth/mfa/totp/confirm", user.session.access_token, await user.device.code()), 409, "mfa_already_enabled");
  });
});

describe("DELETE /auth/mfa/totp", () => {
  it("turns TOTP off with a TOTP code: 204, mfa_disabled, and the password alone logs in again", async () => {
    const user = await userWithTotp();
    const response = await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, await user.device.code());
    expect(response.status).toBe(204);
    const [event] = await eventsOf(user.userId, "mfa_disabled");
    expect(event).toMatchObject({ type: "mfa_disabled", sub: user.userId, session_id: user.session.session_id });
    expect((await login(user.username, PASSWORD, fromIp(user.ip))).status).toBe(200);
  });

  it("turns TOTP off with a recovery code, and the recovery codes are gone with it", async () => {
    const user = await userWithTotp();
    expect((await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, user.recoveryCodes[0]!.toUpperCase())).status).toBe(204);
    // On again with a new secret: the old recovery codes are not among the new set's.
    const { secret } = (await (await enrol(user.session.access_token)).json()) as TotpEnrolment;
    await withCode("POST", "/auth/mfa/totp/confirm", user.session.access_token, await new TotpDevice(secret).code());
    await expectError(await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, user.recoveryCodes[1]!), 400, "invalid_code");
  });

  it("answers 400 invalid_code to a wrong code, to a malformed one and when TOTP is off", async () => {
    const user = await userWithTotp();
    for (const code of ["000000", "abcd-efgh-jkmn", "1234567", "x"]) {
      await expectError(await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, code), 400, "invalid_code");
    }
    const { session } = await passwordSession();
    await expectError(await withCode("DELETE", "/auth/mfa/totp", session.access_token, "123456"), 400, "invalid_code");
  });
});

describe("POST /auth/mfa/recovery-codes", () => {
  it("hands out a new set for a TOTP code; the old set is dead", async () => {
    const user = await userWithTotp();
    const response = await withCode("POST", "/auth/mfa/recovery-codes", user.session.access_token, await user.device.code());
    expect(response.status).toBe(200);
    const { recovery_codes } = (await response.json()) as RecoveryCodes;
    expect(recovery_codes).toHaveLength(10);
    expect(recovery_codes.some((code) => user.recoveryCodes.includes(code))).toBe(false);
    await expectError(await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, user.recoveryCodes[0]!), 400, "invalid_code");
    expect((await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, recovery_codes[0]!)).status).toBe(204);
  });

  it("answers 400 invalid_code to a recovery code or a wrong code", async () => {
    const user = await userWithTotp();
    for (const code of [user.recoveryCodes[0]!, "000000", "12"]) {
      await expectError(await withCode("POST", "/auth/mfa/recovery-codes", user.session.access_token, code), 400, "invalid_code");
    }
  });
});

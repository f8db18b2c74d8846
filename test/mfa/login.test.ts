import { decodeJwt } from "jose";
import { describe, expect, it, vi } from "vitest";
import type { MfaRequiredBody, SessionList, TokenResponse } from "../../src/wire";
import { dpopClient } from "../dpop-proofs";
import {
  amrOf,
  bearer,
  call,
  eventsOf,
  expectError,
  fromIp,
  login,
  mfaTokenOf,
  PASSWORD,
  refresh,
  totpCode,
  userWithTotp,
  verifyMfa,
  withCode,
  withD1TableOffline,
} from "../helpers";

describe("POST /auth/login with TOTP on", () => {
  it("answers a right password with 401 mfa_required and an opaque mfa_token, not a session", async () => {
    const user = await userWithTotp();
    const response = await login(user.username, PASSWORD, fromIp(user.ip));
    expect(response.status).toBe(401);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as MfaRequiredBody;
    expect(Object.keys(body).sort()).toEqual(["error", "error_description", "mfa_token"]);
    expect(body.error).toBe("mfa_required");
    expect(body.mfa_token).toMatch(/^mt1\.[0-9a-f]{64}\.[A-Za-z0-9_-]{43}$/);
    expect(body.mfa_token).not.toContain(user.userId);
    // No session was opened: the session list of the enrolling session shows only itself.
    const sessions = (await (await call("/auth/sessions", { headers: bearer(user.session.access_token) })).json()) as SessionList;
    expect(sessions.sessions).toHaveLength(1);
  });

  it("still answers a wrong password with invalid_credentials: mfa_required tells only someone who knows the password", async () => {
    const user = await userWithTotp();
    await expectError(await login(user.username, "not the password", fromIp(user.ip)), 401, "invalid_credentials");
  });
});

describe("POST /auth/mfa/verify", () => {
  it("opens the session for a TOTP code: TokenResponse, amr pwd otp mfa kept across refreshes, a login event of method totp", async () => {
    const user = await userWithTotp();
    const before = Math.floor(Date.now() / 1000);
    const response = await verifyMfa(await mfaTokenOf(user), await user.device.code(), fromIp(user.ip));
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const pair = (await response.json()) as TokenResponse;
    expect(Object.keys(pair).sort()).toEqual(["access_token", "expires_in", "refresh_token", "session_id", "token_type"]);
    expect(pair.token_type).toBe("Bearer");
    const claims = decodeJwt(pair.access_token);
    expect(claims.amr).toEqual(["pwd", "otp", "mfa"]);
    expect(claims.sub).toBe(user.userId);
    expect(claims.auth_time).toBeGreaterThanOrEqual(before - 1);
    const refreshed = (await (await refresh(pair.refresh_token)).json()) as TokenResponse;
    expect(amrOf(refreshed.access_token)).toEqual(["pwd", "otp", "mfa"]);
    const logins = await eventsOf(user.userId, "login");
    expect(logins.find((event) => event.session_id === pair.session_id)?.detail).toEqual({ method: "totp" });
  });

  it("opens the session for a recovery code, once: amr pwd mfa, method recovery_code, recovery_code_used with what remains", async () => {
    const user = await userWithTotp();
    const code = user.recoveryCodes[3]!;
    const pair = (await (await verifyMfa(await mfaTokenOf(user), code, fromIp(user.ip))).json()) as TokenResponse;
    expect(amrOf(pair.access_token)).toEqual(["pwd", "mfa"]);
    const logins = await eventsOf(user.userId, "login");
    expect(logins.find((event) => event.session_id === pair.session_id)?.detail).toEqual({ method: "recovery_code" });
    const [used] = await eventsOf(user.userId, "recovery_code_used");
    expect(used?.detail).toEqual({ remaining: 9 });
    // Never twice.
    await expectError(await verifyMfa(await mfaTokenOf(user), code, fromIp(user.ip)), 401, "invalid_code");
  });

  it("never accepts a TOTP code twice, even within its step", async () => {
    const user = await userWithTotp();
    const code = await user.device.code();
    expect((await verifyMfa(await mfaTokenOf(user), code, fromIp(user.ip))).status).toBe(200);
    await expectError(await verifyMfa(await mfaTokenOf(user), code, fromIp(user.ip)), 401, "invalid_code");
  });

  it("refuses codes two steps before or after now; the device's next code (of the window) still opens the session", async () => {
    const user = await userWithTotp();
    const token = await mfaTokenOf(user);
    // The enrolment took the previous step's code: two steps back is out of the window, whatever the last step.
    await expectError(await verifyMfa(token, await totpCode(user.device.secret, Date.now() - 60_000), fromIp(user.ip)), 401, "invalid_code");
    await expectError(await verifyMfa(token, await totpCode(user.device.secret, Date.now() + 60_000), fromIp(user.ip)), 401, "invalid_code");
    expect((await verifyMfa(token, await user.device.code(), fromIp(user.ip))).status).toBe(200);
  });

  it("spends the mfa_token: a second verify with it is 401 invalid_mfa_token", async () => {
    const user = await userWithTotp();
    const token = await mfaTokenOf(user);
    expect((await verifyMfa(token, await user.device.code(), fromIp(user.ip))).status).toBe(200);
    await expectError(await verifyMfa(token, await user.device.code(), fromIp(user.ip)), 401, "invalid_mfa_token");
  });

  it("kills the mfa_token at the fifth wrong code: the right code then gets invalid_mfa_token", async () => {
    const user = await userWithTotp();
    const token = await mfaTokenOf(user);
    for (let i = 0; i < 5; i++) await expectError(await verifyMfa(token, "000000", fromIp(user.ip)), 401, "invalid_code");
    await expectError(await verifyMfa(token, await user.device.code(), fromIp(user.ip)), 401, "invalid_mfa_token");
  });

  it("counts wrong codes as login failures of that username and address: 429 after the limit, even with the right password", async () => {
    const user = await userWithTotp();
    for (let i = 0; i < 5; i++) {
      const token = await mfaTokenOf(user);
      await expectError(await verifyMfa(token, "000000", fromIp(user.ip)), 401, "invalid_code");
    }
    const refused = await login(user.username, PASSWORD, fromIp(user.ip));
    await expectError(refused, 429, "too_many_requests");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    const failures = await eventsOf(user.userId, "login_failed");
    expect(failures.filter((event) => (event.detail as { reason?: string }).reason === "wrong_code")).toHaveLength(5);
  });

  it("answers 401 invalid_mfa_token to an expired token", async () => {
    const user = await userWithTotp();
    const token = await mfaTokenOf(user);
    vi.useFakeTimers({ now: Date.now() + 5 * 60_000 + 1000, toFake: ["Date"] });
    try {
      await expectError(await verifyMfa(token, "123456", fromIp(user.ip)), 401, "invalid_mfa_token");
    } finally {
      vi.useRealTimers();
    }
  });

  it("answers 401 invalid_mfa_token to tokens that are not ours, and 401 invalid_code to codes that are not codes", async () => {
    const user = await userWithTotp();
    const token = await mfaTokenOf(user);
    const forged = `${token.slice(0, -4)}AAAA`;
    for (const bad of ["", "mt1", forged, token.replace("mt1", "ac1"), `mt1.${"0".repeat(64)}.${"A".repeat(43)}`]) {
      await expectError(await verifyMfa(bad, "123456", fromIp(user.ip)), 401, "invalid_mfa_token");
    }
    for (const code of ["12345", "1234567", "abcdef", "", "x".repeat(5000)]) await expectError(await verifyMfa(token, code, fromIp(user.ip)), 401, "invalid_code");
  });

  it("answers 400 invalid_request to wrong types and missing fields, 415 to a body that is not JSON, 400 to malformed JSON", async () => {
    const user = await userWithTotp();
    const token = await mfaTokenOf(user);
    for (const body of [{ mfa_token: token }, { code: "123456" }, { mfa_token: token, code: 123456 }, { mfa_token: 1, code: "123456" }, [token]]) {
      await expectError(await call("/auth/mfa/verify", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }), 400, "invalid_request");
    }
    await expectError(await call("/auth/mfa/verify", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{\"mfa_token\":" }), 400, "invalid_request");
    await expectError(await call("/auth/mfa/verify", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "x" }), 415, "unsupported_media_type");
    await expectError(await call("/auth/mfa/verify", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ mfa_token: "x".repeat(20_000), code: "1" }) }), 413, "request_too_large");
    // None of it spent the token.
    expect((await verifyMfa(token, await user.device.code(), fromIp(user.ip))).status).toBe(200);
  });

  it("carries the login's DPoP binding: the session opened at verify is bound to that key", async () => {
    const user = await userWithTotp();
    const client = await dpopClient();
    const token = await mfaTokenOf(user, { DPoP: await client.proof("POST", "/auth/login") });
    const pair = (await (await verifyMfa(token, await user.device.code(), fromIp(user.ip))).json()) as TokenResponse;
    expect(pair.token_type).toBe("DPoP");
    expect(decodeJwt(pair.access_token).cnf).toEqual({ jkt: client.jkt });
    // A refresh without a proof of that key is refused; with one it rotates.
    await expectError(await refresh(pair.refresh_token), 400, "invalid_grant");
    const rotated = await call("/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json", DPoP: await client.proof("POST", "/auth/refresh") },
      body: JSON.stringify({ refresh_token: pair.refresh_token }),
    });
    expect(rotated.status).toBe(200);
  });

  it("refuses a verify with a proof of another key than the login's, and leaves the token usable", async () => {
    const user = await userWithTotp();
    const client = await dpopClient();
    const other = await dpopClient();
    const token = await mfaTokenOf(user, { DPoP: await client.proof("POST", "/auth/login") });
    await expectError(await verifyMfa(token, await user.device.code(), { ...fromIp(user.ip), DPoP: await other.proof("POST", "/auth/mfa/verify") }), 400, "invalid_dpop_proof");
    const pair = (await (await verifyMfa(token, await user.device.code(), { ...fromIp(user.ip), DPoP: await client.proof("POST", "/auth/mfa/verify") })).json()) as TokenResponse;
    expect(decodeJwt(pair.access_token).cnf).toEqual({ jkt: client.jkt });
  });

  it("binds to the verify's own proof when the login had none", async () => {
    const user = await userWithTotp();
    const client = await dpopClient();
    const token = await mfaTokenOf(user);
    const pair = (await (await verifyMfa(token, await user.device.code(), { ...fromIp(user.ip), DPoP: await client.proof("POST", "/auth/mfa/verify") })).json()) as TokenResponse;
    expect(decodeJwt(pair.access_token).cnf).toEqual({ jkt: client.jkt });
  });

  it("kills waiting mfa_tokens when TOTP is turned off", async () => {
    const user = await userWithTotp();
    const token = await mfaTokenOf(user);
    expect((await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, await user.device.code())).status).toBe(204);
    await expectError(await verifyMfa(token, user.recoveryCodes[0]!, fromIp(user.ip)), 401, "invalid_mfa_token");
  });
});

describe("the second factor while D1 is away", () => {
  it("enrolment needs D1 (503, for the username) and the login's second step does not", async () => {
    const user = await userWithTotp();
    const token = await mfaTokenOf(user);
    await withD1TableOffline("users", async () => {
      const enrol = await call("/auth/mfa/totp", { method: "POST", headers: bearer(user.session.access_token) });
      await expectError(enrol, 503, "temporarily_unavailable");
      expect((await verifyMfa(token, await user.device.code(), fromIp(user.ip))).status).toBe(200);
    });
  });
});

import { describe, expect, it, vi } from "vitest";
import type { TotpEnrolment } from "../../src/wire";
import {
  bearer,
  call,
  expectError,
  fromIp,
  mfaTokenOf,
  userAuthStub,
  userWithTotp,
  verifyMfa,
  withCode,
} from "../helpers";

function mfaCounts(sub: string) {
  return userAuthStub(sub).mfa().counts();
}

describe("what one client can make the gateway keep for the second factor", () => {
  it("one secret however often TOTP is enrolled, ten recovery code hashes however often they are renewed", async () => {
    const user = await userWithTotp();
    // Off, then enrolled many times without confirming: still one pending secret.
    expect((await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, await user.device.code())).status).toBe(204);
    for (let i = 0; i < 8; i++) expect((await call("/auth/mfa/totp", { method: "POST", headers: bearer(user.session.access_token) })).status).toBe(201);
    expect(await mfaCounts(user.userId)).toEqual({ secrets: 1, recoveryCodes: 0, pendingLogins: 0 });

    const again = await userWithTotp();
    for (let i = 0; i < 2; i++) expect((await withCode("POST", "/auth/mfa/recovery-codes", again.session.access_token, await again.device.code())).status).toBe(200);
    expect(await mfaCounts(again.userId)).toEqual({ secrets: 1, recoveryCodes: 10, pendingLogins: 0 });
  });

  it("at most 10 logins waiting for a code: the oldest mfa_token goes first", async () => {
    const user = await userWithTotp();
    const tokens: string[] = [];
    for (let i = 0; i < 14; i++) tokens.push(await mfaTokenOf(user));
    expect((await mfaCounts(user.userId)).pendingLogins).toBe(10);
    await expectError(await verifyMfa(tokens[0], await user.device.code(), fromIp(user.ip)), 401, "invalid_mfa_token");
    expect((await verifyMfa(tokens[13], await user.device.code(), fromIp(user.ip))).status).toBe(200);
    expect((await mfaCounts(user.userId)).pendingLogins).toBe(9);
  });
});

describe("wrong codes at the Bearer routes", () => {
  it("answer 429 with Retry-After after five in the window, even to the right code", async () => {
    const user = await userWithTotp();
    for (let i = 0; i < 5; i++) await expectError(await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, "000000"), 400, "invalid_code");
    const refused = await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, await user.device.code());
    await expectError(refused, 429, "too_many_requests");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(800);
    await expectError(await withCode("POST", "/auth/mfa/recovery-codes", user.session.access_token, await user.device.code()), 429, "too_many_requests");
    // TOTP is still on.
    expect(await userAuthStub(user.userId).mfa().status()).toEqual({ totp: true, recoveryCodesLeft: 10 });
  });
});

describe("MfaRpc for the other ways in", () => {
  it("status says whether TOTP is on and how many recovery codes are left", async () => {
    const user = await userWithTotp();
    expect(await userAuthStub(user.userId).mfa().status()).toEqual({ totp: true, recoveryCodesLeft: 10 });
    await verifyMfa(await mfaTokenOf(user), user.recoveryCodes[0]!, fromIp(user.ip));
    expect(await userAuthStub(user.userId).mfa().status()).toEqual({ totp: true, recoveryCodesLeft: 9 });
  });

  it("checkSecondFactor: not_enrolled without TOTP, accepted for a fresh code or an unused recovery code, refused otherwise", async () => {
    const user = await userWithTotp();
    const mfa = () => userAuthStub(user.userId).mfa();
    expect(await userAuthStub(`nobody-${crypto.randomUUID()}`).mfa().checkSecondFactor("123456")).toBe("not_enrolled");
    expect(await mfa().checkSecondFactor(undefined)).toBe("refused");
    expect(await mfa().checkSecondFactor("000000")).toBe("refused");
    const code = await user.device.code();
    expect(await mfa().checkSecondFactor(code)).toBe("accepted");
    expect(await mfa().checkSecondFactor(code)).toBe("refused");
    expect(await mfa().checkSecondFactor(user.recoveryCodes[1]!)).toBe("accepted");
    expect(await mfa().checkSecondFactor(user.recoveryCodes[1]!)).toBe("refused");
  });
});

describe("the log", () => {
  it("never holds a TOTP secret, a code, a recovery code or an mfa_token", async () => {
    const lines: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" "))),
    );
    const secrets: string[] = [];
    try {
      const user = await userWithTotp();
      secrets.push(user.device.secret, ...user.recoveryCodes, ...user.recoveryCodes.map((code) => code.replace(/-/g, "")));
      const token = await mfaTokenOf(user);
      secrets.push(token, token.split(".")[2]!);
      await verifyMfa(token, "000000", fromIp(user.ip));
      await verifyMfa(`${token}x`, "000000", fromIp(user.ip));
      const code = await user.device.code();
      secrets.push(code);
      await verifyMfa(token, code, fromIp(user.ip));
      await verifyMfa(token, code, fromIp(user.ip));
      const enrolled = (await (await call("/auth/mfa/totp", { method: "POST", headers: bearer(user.session.access_token) })).json()) as TotpEnrolment | { error: string };
      expect("error" in enrolled).toBe(true);
      await withCode("DELETE", "/auth/mfa/totp", user.session.access_token, user.recoveryCodes[0]!);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    // The refusals were logged (so the capture works), without what was presented.
    expect(lines.some((line) => line.includes("mfa_token_refused"))).toBe(true);
    for (const secret of secrets) expect(lines.filter((line) => line.includes(secret))).toEqual([]);
  });
});

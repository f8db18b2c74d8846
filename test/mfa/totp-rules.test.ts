import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codeCheckAllowed, CODE_FAILURE_WINDOW_MS, verifyBinding, withWrongCode } from "../../src/mfa/mfa-rules";
import { newRecoveryCodes, normalizeRecoveryCode } from "../../src/mfa/recovery-codes";
import { acceptedTotpStep, totpEnrolment } from "../../src/mfa/totp";
import { fromBase32, hotp } from "../helpers";

// RFC 6238 appendix B: the SHA-1 secret is the ASCII of "12345678901234567890".
const RFC_SECRET = new TextEncoder().encode("12345678901234567890");
const RFC_VECTORS = [
  { seconds: 59, code: "94287082" },
  { seconds: 1111111109, code: "07081804" },
  { seconds: 1111111111, code: "14050471" },
  { seconds: 1234567890, code: "89005924" },
  { seconds: 2000000000, code: "69279037" },
];

describe("TOTP codes (RFC 6238)", () => {
  it("the tests' own HOTP gives RFC 6238's test vectors", async () => {
    for (const { seconds, code } of RFC_VECTORS) expect(await hotp(RFC_SECRET, Math.floor(seconds / 30), 8)).toBe(code);
  });

  it("accepts the six-digit code of each RFC vector's step, and says which step", () => {
    for (const { seconds, code } of RFC_VECTORS) {
      expect(acceptedTotpStep(RFC_SECRET, code.slice(2), seconds * 1000, null)).toBe(Math.floor(seconds / 30));
    }
  });

  it("accepts the step before and after now, not two away", async () => {
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    for (const offset of [-1, 0, 1]) expect(acceptedTotpStep(RFC_SECRET, await hotp(RFC_SECRET, step + offset), now, null)).toBe(step + offset);
    for (const offset of [-2, 2]) expect(acceptedTotpStep(RFC_SECRET, await hotp(RFC_SECRET, step + offset), now, null)).toBeNull();
  });

  it("never accepts a step again, nor one before the last accepted", async () => {
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    expect(acceptedTotpStep(RFC_SECRET, await hotp(RFC_SECRET, step), now, step)).toBeNull();
    expect(acceptedTotpStep(RFC_SECRET, await hotp(RFC_SECRET, step - 1), now, step)).toBeNull();
    expect(acceptedTotpStep(RFC_SECRET, await hotp(RFC_SECRET, step + 1), now, step)).toBe(step + 1);
  });

  it("refuses anything that is not six digits", () => {
    for (const code of ["", "12345", "1234567", "12345a", " 123456", "١٢٣٤٥٦"]) expect(acceptedTotpStep(RFC_SECRET, code, 59_000, null)).toBeNull();
  });

  it("enrols with an otpauth URI of SHA1, 6 digits, 30 s whose secret is the answer's", () => {
    const secret = crypto.getRandomValues(new Uint8Array(20));
    const enrolment = totpEnrolment("edge-auth-gateway", "dana", secret);
    expect(enrolment.otpauthUri.startsWith("otpauth://totp/edge-auth-gateway:dana?")).toBe(true);
    const uri = new URL(enrolment.otpauthUri);
    expect(Object.fromEntries(uri.searchParams)).toEqual({ issuer: "edge-auth-gateway", algorithm: "SHA1", secret: enrolment.secret, period: "30", digits: "6" });
    expect(fromBase32(enrolment.secret)).toEqual(secret);
  });
});

describe("recovery codes", () => {
  it("are ten, distinct, each 12 letters of a 32-letter alphabet (60 bits)", () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/);
  });

  it("are read as people type them: any case, with or without dashes and spaces, o for 0 and l or i for 1", () => {
    expect(normalizeRecoveryCode("AB01-cd23-ef45")).toBe("ab01cd23ef45");
    expect(normalizeRecoveryCode(" abo1 CDZ3 eFi5 ")).toBe("ab01cdz3ef15");
    for (const code of ["", "abcd-efgh", "abcd-efgh-jkmn-p", "abcd-efgh-jku!"]) expect(normalizeRecoveryCode(code)).toBeNull();
  });
});

describe("the rules around codes", () => {
  it("refuse to check a sixth wrong code in the window, and allow again once it ran out", () => {
    let tally = { count: 0, since: null as number | null };
    for (let i = 0; i < 5; i++) {
      expect(codeCheckAllowed(tally, 1000 + i).allowed).toBe(true);
      tally = withWrongCode(tally, 1000 + i);
    }
    expect(codeCheckAllowed(tally, 2000)).toEqual({ allowed: false, retryAfterSeconds: Math.ceil((CODE_FAILURE_WINDOW_MS - 1000) / 1000) });
    expect(codeCheckAllowed(tally, 1000 + CODE_FAILURE_WINDOW_MS).allowed).toBe(true);
  });

  it("bind the verified session to the login's key, refusing a proof of another", () => {
    const login = { jkt: "k1", jti: "a", iat: 1 };
    const sameKey = { jkt: "k1", jti: "b", iat: 2 };
    expect(verifyBinding(login, null)).toEqual({ ok: true, proof: login });
    expect(verifyBinding(login, sameKey)).toEqual({ ok: true, proof: sameKey });
    expect(verifyBinding(login, { jkt: "k2", jti: "c", iat: 3 })).toEqual({ ok: false });
    expect(verifyBinding(null, sameKey)).toEqual({ ok: true, proof: sameKey });
    expect(verifyBinding(null, null)).toEqual({ ok: true, proof: null });
  });
});

describe("property: which step a code is accepted for", () => {
  it("accepts the code of step s exactly when s is within one step of now and after the last accepted", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.integer({ min: 1_000_000, max: 100_000_000 }),
        fc.integer({ min: -3, max: 3 }),
        fc.option(fc.integer({ min: -3, max: 3 })),
        fc.integer({ min: 0, max: 29_999 }),
        async (secret, nowStep, offset, lastOffset, withinStep) => {
          const now = nowStep * 30_000 + withinStep;
          const step = nowStep + offset;
          const last = lastOffset === null ? null : nowStep + lastOffset;
          const accepted = acceptedTotpStep(secret, await hotp(secret, step), now, last);
          // Another step's code may collide with this one's (one in a million): then the earliest matching step wins.
          const expected = Math.abs(offset) <= 1 && (last === null || step > last) ? step : null;
          if (accepted !== expected) expect(accepted === null ? null : await hotp(secret, accepted)).toBe(await hotp(secret, step));
        },
      ),
      { numRuns: 300 },
    );
  });
});

import { createTOTPKeyURI, generateHOTP } from "@oslojs/otp";

/**
 * TOTP (RFC 6238) as the gateway uses it: SHA-1, 6 digits, 30-second steps, which every
 * authenticator app reads from an `otpauth://` URI. Pure: each function takes `now`, so the
 * tests need no clock tricks. The HMAC is `@oslojs/otp`'s; which step a code belongs to, and
 * that a step is never accepted twice, are decided here.
 */

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** 160 bits, the HMAC-SHA-1 key length RFC 4226 section 4 recommends. */
const SECRET_BYTES = 20;
/** The steps a code may belong to around now: the one before, now, the one after (RFC 6238 section 5.2). */
const STEPS_AROUND_NOW = [-1, 0, 1] as const;

/** A fresh TOTP secret. */
export function newTotpSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
}

/** The 30-second step `now` (Unix ms) falls in. */
export function totpStep(now: number): number {
  return Math.floor(now / (TOTP_PERIOD_SECONDS * 1000));
}

/** Whether `code` has the shape of a TOTP code: exactly six ASCII digits. */
export function isTotpCode(code: string): boolean {
  return /^[0-9]{6}$/.test(code);
}

/**
 * The enrolment an authenticator app scans: the `otpauth://totp/` URI (`issuer:account`, SHA1, 6
 * digits, 30 s) and the base32 secret inside it, for typing in by hand.
 */
export function totpEnrolment(issuer: string, account: string, secret: Uint8Array): { secret: string; otpauthUri: string } {
  const otpauthUri = createTOTPKeyURI(issuer, account, secret, TOTP_PERIOD_SECONDS, TOTP_DIGITS);
  // The library encodes the secret once, in the URI; the answer shows the same string.
  return { secret: new URL(otpauthUri).searchParams.get("secret")!, otpauthUri };
}

/**
 * The step of `code` when it is the code of a step around `now` later than `lastStep` (the last
 * step this secret accepted, null when none), or null. Never twice: once a step was accepted,
 * neither its code nor that of any earlier step is accepted again. Every candidate is computed
 * and compared in constant time, so the answer's timing does not tell which step matched.
 */
export function acceptedTotpStep(secret: Uint8Array, code: string, now: number, lastStep: number | null): number | null {
  if (!isTotpCode(code)) return null;
  const presented = new TextEncoder().encode(code);
  const current = totpStep(now);
  let accepted: number | null = null;
  for (const offset of STEPS_AROUND_NOW) {
    const step = current + offset;
    const expected = new TextEncoder().encode(generateHOTP(secret, BigInt(step), TOTP_DIGITS));
    const matches = crypto.subtle.timingSafeEqual(presented, expected);
    if (matches && (lastStep === null || step > lastStep) && accepted === null) accepted = step;
  }
  return accepted;
}

// TOTP from the tests' side, computed as RFC 6238 says with WebCrypto's HMAC-SHA-1 (not the
// gateway's library), and a user with TOTP on, enrolled through the real routes.
import { decodeJwt } from "jose";
import { expect } from "vitest";
import type { MfaRequiredBody, RecoveryCodes, TokenResponse, TotpEnrolment } from "../../src/wire";
import { bearer, call, fromIp, login, postJson, PASSWORD } from "./requests";
import { registerUser } from "./sessions";
import { uniqueIp } from "./unique";

const STEP_MS = 30_000;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** The bytes of RFC 4648 base32 text (no padding). */
export function fromBase32(text: string): Uint8Array {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const letter of text.replace(/=+$/, "")) {
    const index = BASE32.indexOf(letter);
    if (index === -1) throw new Error(`not base32: ${letter}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

/** The HOTP value (RFC 4226 section 5.3) of `key` at `counter`, `digits` long. */
export async function hotp(key: Uint8Array, counter: number, digits = 6): Promise<string> {
  const hmacKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, BigInt(counter));
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, message));
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/** The 30-second step of `at` (Unix ms). */
export function stepOf(at: number): number {
  return Math.floor(at / STEP_MS);
}

/** The TOTP code of a base32 secret for the step `at` falls in. */
export function totpCode(secret: string, at = Date.now()): Promise<string> {
  return hotp(fromBase32(secret), stepOf(at));
}

/** Waits, when a 30-second step ends within `marginMs`, until the next one began: a code computed now is still of its step when the gateway checks it. */
export async function awayFromStepBoundary(marginMs = 3000): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/**
 * Codes of a secret the gateway has not accepted yet, in order: it accepts the step before now,
 * now and the one after, each once and never one older than the last it took. Starts at the step
 * before now; waits for the next step when all three were used.
 */
export class TotpDevice {
  #next: number;

  constructor(readonly secret: string) {
    this.#next = stepOf(Date.now()) - 1;
  }

  async code(): Promise<string> {
    await awayFromStepBoundary();
    while (this.#next > stepOf(Date.now()) + 1) await new Promise((resolve) => setTimeout(resolve, 500));
    this.#next = Math.max(this.#next, stepOf(Date.now()) - 1);
    return hotp(fromBase32(this.secret), this.#next++);
  }
}

/** POST /auth/mfa/totp/confirm, and the other code routes, with a JSON body. */
export function withCode(method: "POST" | "DELETE", path: string, accessToken: string, code: unknown, headers: Record<string, string> = {}) {
  return call(path, { method, headers: { "Content-Type": "application/json", ...bearer(accessToken), ...headers }, body: JSON.stringify({ code }) });
}

/** A registered user with TOTP on: their credentials, their authenticator, their recovery codes and the session they enrolled in. */
export interface TotpUser {
  username: string;
  userId: string;
  ip: string;
  device: TotpDevice;
  recoveryCodes: string[];
  session: TokenResponse;
}

/** Registers a user, logs in and turns TOTP on through the routes, as a person would. */
export async function userWithTotp(): Promise<TotpUser> {
  const { username, userId } = await registerUser();
  const ip = uniqueIp();
  const session = (await (await login(username, PASSWORD, fromIp(ip))).json()) as TokenResponse;
  const enrolled = await call("/auth/mfa/totp", { method: "POST", headers: bearer(session.access_token) });
  expect(enrolled.status).toBe(201);
  const { secret } = (await enrolled.json()) as TotpEnrolment;
  const device = new TotpDevice(secret);
  const confirmed = await withCode("POST", "/auth/mfa/totp/confirm", session.access_token, await device.code());
  expect(confirmed.status).toBe(200);
  const { recovery_codes } = (await confirmed.json()) as RecoveryCodes;
  return { username, userId, ip, device, recoveryCodes: recovery_codes, session };
}

/** Logs a TOTP user in with their password (expecting `mfa_required`) and returns the `mfa_token`. */
export async function mfaTokenOf(user: Pick<TotpUser, "username" | "ip">, headers: Record<string, string> = {}): Promise<string> {
  const response = await login(user.username, PASSWORD, { ...fromIp(user.ip), ...headers });
  expect(response.status).toBe(401);
  const body = (await response.json()) as MfaRequiredBody;
  expect(body.error).toBe("mfa_required");
  return body.mfa_token;
}

/** POST /auth/mfa/verify. */
export function verifyMfa(mfaToken: unknown, code: unknown, headers: Record<string, string> = {}) {
  return postJson("/auth/mfa/verify", { mfa_token: mfaToken, code }, headers);
}

/** The `amr` of an access token. */
export function amrOf(accessToken: string): unknown {
  return decodeJwt(accessToken).amr;
}

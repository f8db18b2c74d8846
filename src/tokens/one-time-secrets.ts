import { base64url } from "jose";

/**
 * The one-time secrets of federated sign-in, the second factor and password resets, addressed like
 * refresh tokens: `<kind>.<object id>.<secret>`, where the object id is the hex id of the user's UserAuth Durable Object (so the
 * secret reaches it without a lookup, and names no user) and the secret 256 random bits. The
 * object stores only its SHA-256, never the secret.
 *
 * - `ac1`: an authorization code (`/auth/oidc/callback` issues it, `/auth/token` spends it).
 * - `lt1`: a link ticket (`POST /auth/identities` issues it, `/auth/authorize?link=` spends it).
 * - `mt1`: an `mfa_token` (a correct password of a user with TOTP on, `POST /auth/mfa/verify` spends it).
 * - `rt1`: a password reset token (`POST /auth/password/forgot` sends it, `POST /auth/password/reset` spends it).
 */
export type OneTimeKind = "ac1" | "lt1" | "mt1" | "rt1";

export interface OneTimeSecret {
  objectId: string;
  /** SHA-256 of the whole value, hex: what the object stores and looks it up by. */
  hash: string;
}

// 32 bytes in base64url without padding are 43 characters, the last carrying 4 bits and 2 zero
// bits: only the canonical spelling is accepted, or each secret would have four spellings.
const SECRET = "[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]";
const PATTERNS: Record<OneTimeKind, RegExp> = {
  ac1: new RegExp(`^ac1\\.([0-9a-f]{64})\\.${SECRET}$`),
  lt1: new RegExp(`^lt1\\.([0-9a-f]{64})\\.${SECRET}$`),
  mt1: new RegExp(`^mt1\\.([0-9a-f]{64})\\.${SECRET}$`),
  rt1: new RegExp(`^rt1\\.([0-9a-f]{64})\\.${SECRET}$`),
};

/** A fresh secret of `kind` for the object `objectId`: the value to hand out and the hash to store. */
export async function newOneTimeSecret(kind: OneTimeKind, objectId: string): Promise<{ value: string; hash: string }> {
  const value = `${kind}.${objectId}.${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}`;
  return { value, hash: await sha256Hex(value) };
}

/** The object and hash of a presented value; null for anything that is not exactly one of `kind`. */
export async function parseOneTimeSecret(kind: OneTimeKind, value: string): Promise<OneTimeSecret | null> {
  const match = PATTERNS[kind].exec(value);
  return match ? { objectId: match[1]!, hash: await sha256Hex(value) } : null;
}

/** SHA-256 of the text, hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** BASE64URL(SHA-256(verifier)): the S256 code challenge of a PKCE verifier (RFC 7636 section 4.2). */
export async function s256Challenge(verifier: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

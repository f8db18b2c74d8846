import { base64url } from "jose";

/**
 * Refresh tokens: `rt1.<object id>.<session id>.<generation>.<mac>`.
 *
 * - `object id` is the hex id of the user's UserAuth Durable Object (`idFromName(sub)`): the
 *   token reaches the right object without a lookup and carries no username or email.
 * - `generation` counts the session's rotations; the session's current token is the one whose
 *   generation equals the stored one, every lower one is a token that was already used.
 * - `mac` is HMAC-SHA256 over `<session id>.<generation>` under a random 256-bit key of that session
 *   only. The server stores the key, never a token, so storage stays one key per session however
 *   often it rotates, and any token of the chain can still be recognised (reuse, logout).
 */
export interface RefreshTokenParts {
  objectId: string;
  sessionId: string;
  generation: number;
  mac: string;
}

// The MAC's last character carries 4 bits and 2 zero padding bits: only the canonical spelling
// is accepted, or each token would have four spellings that decode to the same MAC.
const PATTERN = /^rt1\.([0-9a-f]{64})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(0|[1-9]\d{0,8})\.([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

/** Splits a presented refresh token; null for anything that is not exactly our format. */
export function parseRefreshToken(token: string): RefreshTokenParts | null {
  const match = PATTERN.exec(token);
  if (!match) return null;
  const [, objectId, sessionId, generation, mac] = match as unknown as [string, string, string, string, string];
  return { objectId, sessionId, generation: Number(generation), mac };
}

export function formatRefreshToken(parts: RefreshTokenParts): string {
  return `rt1.${parts.objectId}.${parts.sessionId}.${parts.generation}.${parts.mac}`;
}

/** A fresh random 256-bit MAC key for a new session. */
export function newSessionKey(): ArrayBuffer {
  return crypto.getRandomValues(new Uint8Array(32)).buffer;
}

export function importSessionKey(raw: ArrayBuffer): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** The MAC of one generation of one session's refresh token, base64url without padding. */
export async function refreshTokenMac(key: CryptoKey, sessionId: string, generation: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, macInput(sessionId, generation));
  return base64url.encode(new Uint8Array(mac));
}

/** Checks a presented token's MAC; `crypto.subtle.verify` compares in constant time. */
export async function hasValidMac(key: CryptoKey, parts: RefreshTokenParts): Promise<boolean> {
  // parseRefreshToken admits only canonical base64url of 32 bytes, so this always decodes.
  return crypto.subtle.verify("HMAC", key, base64url.decode(parts.mac), macInput(parts.sessionId, parts.generation));
}

function macInput(sessionId: string, generation: number) {
  return new TextEncoder().encode(`${sessionId}.${generation}`);
}

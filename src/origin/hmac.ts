import { parseSigningSecrets } from "./signature-base";

const utf8 = new TextEncoder();

// One imported key per secret per isolate or process: importing is the costly part of an HMAC,
// and a process sees one secret, or two during a rotation. Bounded anyway, for a caller that
// passes many.
const MAX_CACHED_KEYS = 16;
const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC-SHA256 key of `secret`, imported once and cached. */
export function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  const cacheKey = `${usage}:${secret}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [usage]);
    if (keys.size >= MAX_CACHED_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(cacheKey, key);
  }
  return key;
}

/**
 * Whether `mac` is the HMAC-SHA256 of `message` under one of `secrets`. WebCrypto's HMAC
 * `verify` compares in constant time.
 */
export async function verifyHmac(secrets: readonly string[], mac: Uint8Array<ArrayBuffer>, message: string): Promise<boolean> {
  const data = utf8.encode(message);
  for (const secret of secrets) {
    if (await crypto.subtle.verify("HMAC", await hmacKey(secret, "verify"), mac, data)) return true;
  }
  return false;
}

/**
 * The secrets of the `secret` option: a string (one secret, or two separated by a comma during a
 * rotation) or an array of one or two. Throws a TypeError for anything else, so that a
 * misconfigured origin fails at its first request instead of accepting or refusing at random.
 */
export function secretsOf(secret: string | readonly string[]): readonly string[] {
  const joined = typeof secret === "string" ? secret : Array.isArray(secret) ? secret.join(",") : null;
  const secrets = joined === null ? null : parseSigningSecrets(joined);
  if (secrets === null) {
    throw new TypeError("secret must be the gateway's ORIGIN_SIGNING_SECRET: one secret of at least 32 characters, or two separated by a comma.");
  }
  return secrets;
}

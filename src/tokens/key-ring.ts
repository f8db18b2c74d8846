import { base64url, importJWK, type JWK, type JWTHeaderParameters } from "jose";
import { misconfigured } from "../errors/auth-error";
import type { AccessTokenReason } from "../errors/refusals";
import type { Verdict } from "../errors/verdict";

/** The algorithms an operator may sign with (docs/api.md: ES256 by default, EdDSA allowed). */
export type SigningAlgorithm = "ES256" | "EdDSA";

/** A public key that verifies the tokens signed under its `kid`. */
export interface VerificationKey {
  kid: string;
  alg: SigningAlgorithm;
  key: CryptoKey;
}

/** The private key that signs new tokens, under its `kid`. It never verifies: `byKid` holds its public half. */
export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  key: CryptoKey;
}

/** The imported `SIGNING_KEYS`: the first key signs, every key verifies. */
export interface KeyRing {
  signer: SigningKey;
  byKid: Map<string, VerificationKey>;
  /** Each key by the encoded protected header of the tokens it signs (`signedHeader`), for `keyOfSignedHeader`. */
  bySignedHeader: Map<string, VerificationKey>;
  algorithms: SigningAlgorithm[];
  /** The public halves, as served at `/.well-known/jwks.json`. */
  jwks: { keys: JWK[] };
  /**
   * The private scalar (`d`) of every key that has one, by `kid`, as HKDF input keys: what the
   * gateway derives its symmetric keys from (`deriveKey`), the signer's first, so that they rotate
   * with the signing keys and need no secret of their own.
   */
  secrets: Map<string, CryptoKey>;
}

// The WebCrypto parameters of each signing algorithm (RFC 7518 section 3.4, RFC 8037 section 3.1).
const WEBCRYPTO_ALGORITHMS = {
  ES256: { name: "ECDSA", hash: "SHA-256" },
  EdDSA: { name: "Ed25519" },
} as const;

const HOW_TO_MAKE_KEYS =
  "Run `npm run keys` and store the output with `wrangler secret put SIGNING_KEYS` (`npm run dev` writes local keys to .dev.vars).";

// Private members of EC and OKP keys (RFC 7518 section 6.2.2, RFC 8037 section 2), plus those of
// RSA and symmetric keys so that nothing secret is ever published even from a wrong key set.
const PRIVATE_MEMBERS = new Set(["d", "p", "q", "dp", "dq", "qi", "oth", "k"]);

/** Whether a JWK carries any private member: a key that must never be published or accepted as public. */
export function holdsPrivateMembers(jwk: object): boolean {
  return Object.keys(jwk).some((name) => PRIVATE_MEMBERS.has(name));
}

/** The protected header of the access tokens a key signs (RFC 9068 section 2.1: `typ` at+jwt). */
export function signedHeader(key: { alg: SigningAlgorithm; kid: string }): JWTHeaderParameters {
  return { alg: key.alg, kid: key.kid, typ: "at+jwt" };
}

/**
 * The key a JWS header names: chosen by `kid` alone, and only for the algorithm it was configured
 * with, so a token that names an ES256 key but says EdDSA or HS256 (algorithm confusion) finds no
 * key. `jku`, `x5u` and `jwk` header parameters are never looked at.
 */
export function keyForHeader(
  ring: KeyRing,
  header: { kid?: unknown; alg?: unknown },
): Verdict<{ key: VerificationKey }, Extract<AccessTokenReason, "unknown_kid" | "key_alg_mismatch">> {
  const key = typeof header.kid === "string" ? ring.byKid.get(header.kid) : undefined;
  if (!key) return { ok: false, reason: "unknown_kid" };
  return key.alg === header.alg ? { ok: true, key } : { ok: false, reason: "key_alg_mismatch" };
}

/**
 * The key whose tokens carry exactly this encoded protected header (jose serializes it with
 * `JSON.stringify`): such a header names a known `kid` with its own algorithm and `typ: "at+jwt"`,
 * and nothing else, so it needs no parsing. Undefined for any other header.
 */
export function keyOfSignedHeader(ring: KeyRing, encodedHeader: string): VerificationKey | undefined {
  return ring.bySignedHeader.get(encodedHeader);
}

/**
 * Checks a JWS signature with the key and its algorithm's WebCrypto parameters. False, as in jose,
 * for a signature WebCrypto cannot even check (a wrong length, say).
 */
export async function verifySignature(key: VerificationKey, signature: Uint8Array, signingInput: Uint8Array): Promise<boolean> {
  try {
    return await crypto.subtle.verify(WEBCRYPTO_ALGORITHMS[key.alg], key.key, signature, signingInput);
  } catch {
    return false;
  }
}

let cached: { raw: string; ring: Promise<KeyRing> } | null = null;

/**
 * Imports the `SIGNING_KEYS` secret once per isolate. Rejects with 503 `server_misconfigured`
 * naming `SIGNING_KEYS`, and saying how to make keys, when it is unusable.
 */
export function loadKeyRing(raw: string): Promise<KeyRing> {
  if (cached?.raw !== raw) {
    const ring = importKeyRing(raw);
    // A failed import is cached too: the secret cannot change within an isolate, so importing
    // it again per request would only burn CPU and fail the same way.
    cached = { raw, ring };
  }
  return cached.ring;
}

/**
 * 503 `server_misconfigured` for a request that must issue or verify a token while `SIGNING_KEYS`
 * is unset: without keys the gateway can do neither, and it says how to make them.
 */
export const signingKeysNotSet = () => misconfigured(`SIGNING_KEYS is not set. ${HOW_TO_MAKE_KEYS}`);

async function importKeyRing(raw: string): Promise<KeyRing> {
  const bad = (problem: string) => misconfigured(`SIGNING_KEYS ${problem} ${HOW_TO_MAKE_KEYS}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw bad("is not JSON.");
  }
  const jwks = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(jwks) || jwks.length === 0) throw bad('must be a JWK set {"keys":[...]} with at least one key.');

  let signer: SigningKey | undefined;
  const byKid = new Map<string, VerificationKey>();
  const secrets = new Map<string, CryptoKey>();
  const published: JWK[] = [];
  for (const [index, entry] of jwks.entries()) {
    const jwk = entry as JWK;
    if (typeof jwk !== "object" || jwk === null) throw bad(`key ${index} is not an object.`);
    if (typeof jwk.kid !== "string" || jwk.kid === "") throw bad(`key ${index} has no "kid".`);
    if (byKid.has(jwk.kid)) throw bad(`has the kid "${jwk.kid}" twice.`);
    const alg = algorithmOf(jwk);
    if (!alg) throw bad(`key "${jwk.kid}" must be an EC P-256 (ES256) or OKP Ed25519 (EdDSA) key.`);
    if (index === 0 && typeof jwk.d !== "string") throw bad(`key "${jwk.kid}" signs, so it must be a private key.`);

    const publicJwk = Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name))) as JWK;
    let key: CryptoKey;
    try {
      // Every key verifies with its public half; only the first one's private half is imported, to sign.
      key = (await importJWK({ ...publicJwk, alg }, alg)) as CryptoKey;
      if (index === 0) signer = { kid: jwk.kid, alg, key: (await importJWK({ ...jwk, alg }, alg)) as CryptoKey };
      if (typeof jwk.d === "string") secrets.set(jwk.kid, await crypto.subtle.importKey("raw", base64url.decode(jwk.d), "HKDF", false, ["deriveKey"]));
    } catch {
      throw bad(`key "${jwk.kid}" could not be imported.`);
    }
    byKid.set(jwk.kid, { kid: jwk.kid, alg, key });
    published.push({ ...publicJwk, alg, use: "sig" });
  }

  return {
    signer: signer!,
    byKid,
    bySignedHeader: new Map([...byKid.values()].map((key) => [base64url.encode(JSON.stringify(signedHeader(key))), key])),
    algorithms: [...new Set([...byKid.values()].map((entry) => entry.alg))],
    jwks: { keys: published },
    secrets,
  };
}

/**
 * An AES-GCM key derived (HKDF-SHA256) from the private key `kid` of the ring, for one purpose
 * only: `info` names it, so no two uses of the gateway ever share a key, and none can be turned
 * back into the signing key. Undefined when that key has no private half here.
 *
 * @example
 * const key = await deriveKey(ring, ring.signer.kid, "edge-auth-gateway oidc transaction v1");
 */
export async function deriveKey(ring: KeyRing, kid: string, info: string): Promise<CryptoKey | undefined> {
  const secret = ring.secrets.get(kid);
  if (!secret) return undefined;
  const encoder = new TextEncoder();
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("edge-auth-gateway"), info: encoder.encode(info) },
    secret,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function algorithmOf(jwk: JWK): SigningAlgorithm | null {
  if (jwk.kty === "EC" && jwk.crv === "P-256" && (jwk.alg === undefined || jwk.alg === "ES256")) return "ES256";
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519" && (jwk.alg === undefined || jwk.alg === "EdDSA" || jwk.alg === "Ed25519")) {
    return "EdDSA";
  }
  return null;
}

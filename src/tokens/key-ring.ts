import { importJWK, type JWK } from "jose";
import { misconfigured } from "../errors/auth-error";

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
  algorithms: SigningAlgorithm[];
  /** The public halves, as served at `/.well-known/jwks.json`. */
  jwks: { keys: JWK[] };
}

const HOW_TO_MAKE_KEYS =
  "Run `npm run keys` and store the output with `wrangler secret put SIGNING_KEYS` (`npm run dev` writes local keys to .dev.vars).";

// Private members of EC and OKP keys (RFC 7518 section 6.2.2, RFC 8037 section 2), plus those of
// RSA and symmetric keys so that nothing secret is ever published even from a wrong key set.
const PRIVATE_MEMBERS = new Set(["d", "p", "q", "dp", "dq", "qi", "oth", "k"]);

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
    } catch {
      throw bad(`key "${jwk.kid}" could not be imported.`);
    }
    byKid.set(jwk.kid, { kid: jwk.kid, alg, key });
    published.push({ ...publicJwk, alg, use: "sig" });
  }

  return {
    signer: signer!,
    byKid,
    algorithms: [...new Set([...byKid.values()].map((entry) => entry.alg))],
    jwks: { keys: published },
  };
}

function algorithmOf(jwk: JWK): SigningAlgorithm | null {
  if (jwk.kty === "EC" && jwk.crv === "P-256" && (jwk.alg === undefined || jwk.alg === "ES256")) return "ES256";
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519" && (jwk.alg === undefined || jwk.alg === "EdDSA" || jwk.alg === "Ed25519")) {
    return "EdDSA";
  }
  return null;
}

import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from "jose";

/** The algorithms the gateway signs with (ES256 by default, EdDSA allowed). */
export const ALGORITHMS = ["ES256", "EdDSA"];

// Private members of EC and OKP keys, plus those of RSA and symmetric keys (as src/tokens/key-ring.ts).
const PRIVATE_MEMBERS = new Set(["d", "p", "q", "dp", "dq", "qi", "oth", "k"]);

/**
 * A new private signing key as a JWK with `kid`, `alg` and `use`. Without an explicit `kid`, the
 * kid is the creation date plus the start of the key's RFC 7638 thumbprint
 * (`2026-11-26-3q2Q8Zk1`): sortable by age, unique per key.
 */
export async function newSigningKey({ alg = "ES256", kid, kidPrefix = "" } = {}) {
  if (!ALGORITHMS.includes(alg)) throw new Error(`--alg must be one of ${ALGORITHMS.join(", ")}, got "${alg}".`);
  const { privateKey } = await generateKeyPair(alg, { extractable: true, crv: alg === "EdDSA" ? "Ed25519" : undefined });
  const jwk = await exportJWK(privateKey);
  const thumbprint = await calculateJwkThumbprint(jwk);
  const date = new Date().toISOString().slice(0, 10);
  return { kid: kid ?? `${kidPrefix}${date}-${thumbprint.slice(0, 8)}`, alg, use: "sig", ...jwk };
}

/** A key set the worker would refuse; its message is one line, fit for the terminal. */
export class KeySetError extends Error {}

/**
 * The keys of a `SIGNING_KEYS` value, checked with the rules the worker applies when it imports
 * the secret (src/tokens/key-ring.ts): a JWK set (or array) of at least one key, each an object
 * with a non-empty unique string `kid`, an EC P-256 (ES256) or OKP Ed25519 (EdDSA) key that
 * imports, the first one private because it signs. Throws a `KeySetError` naming the first
 * problem: a set the worker would refuse takes the gateway down for every request. With
 * `signerMustBePrivate: false` it takes public keys only (a published JWKS), as the verifying
 * part of a set a new signer goes in front of.
 */
export async function checkedKeySet(json, { signerMustBePrivate = true } = {}) {
  let parsed;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new KeySetError("it is not JSON.");
  }
  const keys = Array.isArray(parsed) ? parsed : parsed?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new KeySetError('it must be a JWK set {"keys":[...]} with at least one key.');
  const kids = new Set();
  for (const [index, jwk] of keys.entries()) {
    if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw new KeySetError(`key ${index} is not an object.`);
    if (typeof jwk.kid !== "string" || jwk.kid === "") throw new KeySetError(`key ${index} has no "kid".`);
    if (kids.has(jwk.kid)) throw new KeySetError(`it has the kid "${jwk.kid}" twice.`);
    kids.add(jwk.kid);
    const alg = algorithmOf(jwk);
    if (!alg) throw new KeySetError(`key "${jwk.kid}" must be an EC P-256 (ES256) or OKP Ed25519 (EdDSA) key.`);
    const signs = index === 0 && signerMustBePrivate;
    if (signs && typeof jwk.d !== "string") throw new KeySetError(`key "${jwk.kid}" signs, so it must be a private key.`);
    const publicJwk = Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name)));
    try {
      await importJWK(signs ? { ...jwk, alg } : { ...publicJwk, alg }, alg);
    } catch {
      throw new KeySetError(`key "${jwk.kid}" could not be imported.`);
    }
  }
  return keys;
}

function algorithmOf(jwk) {
  if (jwk.kty === "EC" && jwk.crv === "P-256" && (jwk.alg === undefined || jwk.alg === "ES256")) return "ES256";
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519" && (jwk.alg === undefined || jwk.alg === "EdDSA" || jwk.alg === "Ed25519")) return "EdDSA";
  return null;
}

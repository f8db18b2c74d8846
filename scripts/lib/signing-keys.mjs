import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";

/** The algorithms the gateway signs with (DESIGN.md: ES256 by default, EdDSA allowed). */
export const ALGORITHMS = ["ES256", "EdDSA"];

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

/** A JWK set (`{"keys":[...]}`) whose first key signs; `previous` keys stay as verification keys. */
export async function newSigningKeySet({ alg, kid, kidPrefix, previous = [] } = {}) {
  const key = await newSigningKey({ alg, kid, kidPrefix });
  if (previous.some((old) => old.kid === key.kid)) throw new Error(`kid "${key.kid}" is already in the key set.`);
  return { keys: [key, ...previous] };
}

import { GatewayVerificationError } from "./errors";

/** The algorithms the gateway signs access tokens with, and the WebCrypto parameters of each. */
export const ALGORITHMS = {
  ES256: { importAs: { name: "ECDSA", namedCurve: "P-256" }, verifyAs: { name: "ECDSA", hash: "SHA-256" } },
  EdDSA: { importAs: { name: "Ed25519" }, verifyAs: { name: "Ed25519" } },
} as const;

export type Algorithm = keyof typeof ALGORITHMS;

/** A verification key of the gateway's JWKS, pinned to its one algorithm. */
export interface GatewayKey {
  alg: Algorithm;
  key: CryptoKey;
}

interface CachedSet {
  keys: Map<string, GatewayKey>;
  fetchedAt: number;
}

/** How long a fetched key set is used before it is fetched again: the gateway's own `max-age`. */
const FRESH_MS = 300_000;
/** However often unknown `kid`s come, the set is fetched at most this often. */
const COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;
/** A key set is a few hundred bytes per key; a larger answer is not the gateway's. */
const MAX_JWKS_BYTES = 65_536;

const sets = new Map<string, CachedSet>();
const inFlight = new Map<string, Promise<CachedSet>>();
const lastAttempt = new Map<string, number>();

/**
 * The key of `kid` in the JWKS at `url`, fetched once and cached for five minutes; a `kid` it does
 * not know makes it fetch again (a rotated-in key), at most every 30 s. When a fetch fails, the
 * last set it got keeps serving; with none, `jwks_unavailable`. Null for a `kid` that is not there.
 */
export async function gatewayKey(url: string, kid: string, now: number): Promise<GatewayKey | null> {
  let set = sets.get(url);
  const needed = set === undefined || now - set.fetchedAt >= FRESH_MS || !set.keys.has(kid);
  // A fetch under way is waited for whatever the cooldown: concurrent requests share it.
  const pending = inFlight.get(url);
  if (needed && (pending !== undefined || now - (lastAttempt.get(url) ?? -Infinity) >= COOLDOWN_MS)) {
    try {
      set = await (pending ?? refresh(url, now));
    } catch (error) {
      if (set === undefined) {
        throw new GatewayVerificationError("jwks_unavailable", `The gateway's JWKS (${url}) could not be fetched: ${(error as Error).message}`);
      }
    }
  }
  if (set === undefined) throw new GatewayVerificationError("jwks_unavailable", `The gateway's JWKS (${url}) could not be fetched in the last 30 s.`);
  return set.keys.get(kid) ?? null;
}

/** Forgets every cached key set (tests, or an origin that rotates the gateway it trusts). */
export function clearJwksCache(): void {
  sets.clear();
  inFlight.clear();
  lastAttempt.clear();
}

// Concurrent requests that need the set share one fetch.
function refresh(url: string, now: number): Promise<CachedSet> {
  lastAttempt.set(url, now);
  const pending = fetchKeySet(url, now)
    .then((set) => {
      sets.set(url, set);
      return set;
    })
    .finally(() => inFlight.delete(url));
  inFlight.set(url, pending);
  return pending;
}

async function fetchKeySet(url: string, now: number): Promise<CachedSet> {
  // Never followed (Workers' fetch has no `redirect: "error"`): a redirect is not a key set.
  const response = await fetch(url, { headers: { Accept: "application/json" }, redirect: "manual", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_JWKS_BYTES) throw new Error("the answer is too large for a key set");
  const parsed = JSON.parse(text) as { keys?: unknown };
  if (!Array.isArray(parsed?.keys)) throw new Error('the answer is not a JWK set {"keys":[...]}');
  const keys = new Map<string, GatewayKey>();
  for (const jwk of parsed.keys as Array<Record<string, unknown>>) {
    const imported = await importKey(jwk);
    if (imported) keys.set(jwk.kid as string, imported);
  }
  return { keys, fetchedAt: now };
}

/**
 * A JWK of the set as a verification key, or null for one the gateway would never sign with
 * (another type, curve or algorithm, another use, no `kid`): it is skipped, not trusted.
 */
async function importKey(jwk: Record<string, unknown>): Promise<GatewayKey | null> {
  if (typeof jwk !== "object" || jwk === null || typeof jwk.kid !== "string" || jwk.kid === "") return null;
  if (jwk.use !== undefined && jwk.use !== "sig") return null;
  let alg: Algorithm;
  let members: JsonWebKey;
  if (jwk.kty === "EC" && jwk.crv === "P-256" && (jwk.alg === undefined || jwk.alg === "ES256")) {
    alg = "ES256";
    members = { kty: "EC", crv: "P-256", x: jwk.x as string, y: jwk.y as string };
  } else if (jwk.kty === "OKP" && jwk.crv === "Ed25519" && (jwk.alg === undefined || jwk.alg === "EdDSA")) {
    alg = "EdDSA";
    members = { kty: "OKP", crv: "Ed25519", x: jwk.x as string };
  } else {
    return null;
  }
  try {
    return { alg, key: await crypto.subtle.importKey("jwk", members, ALGORITHMS[alg].importAs, false, ["verify"]) };
  } catch {
    return null;
  }
}

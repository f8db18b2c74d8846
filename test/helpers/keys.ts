// The test signing keys and the claims of an access token the gateway would accept.
import { env } from "cloudflare:workers";
import { importJWK, SignJWT, type JWK } from "jose";
import { uniqueSub } from "./unique";

/**
 * The private JWKs of the SIGNING_KEYS test binding (vitest.config.ts): ES256 `test-es256`, which
 * signs, then EdDSA `test-eddsa`, which still verifies.
 */
export const TEST_SIGNING_KEYS = (JSON.parse(env.SIGNING_KEYS!) as { keys: JWK[] }).keys;

/** A JWK without its private member: what a key set keeps of a retired key. */
export function publicHalf({ d: _d, ...rest }: JWK): JWK {
  return rest;
}

/** Claims of an access token the gateway would accept; `undefined` in `overrides` removes a claim. */
export function accessTokenClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const issuedAt = Math.floor(Date.now() / 1000);
  const all: Record<string, unknown> = {
    iss: env.ISSUER,
    aud: env.AUDIENCE,
    sub: uniqueSub("at"),
    sid: crypto.randomUUID(),
    jti: crypto.randomUUID(),
    iat: issuedAt,
    exp: issuedAt + 300,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

/** An access token with exactly `claims`, signed with the real ES256 test key (test-es256). */
export async function signedWithTestKey(claims: Record<string, unknown>): Promise<string> {
  const jwk = TEST_SIGNING_KEYS[0]!;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: "test-es256", typ: "at+jwt" })
    .sign(await importJWK(jwk, "ES256"));
}

import type { Context } from "hono";
import { base64url } from "jose";
import { invalidRequest } from "../src/errors/auth-error";
import { keyRing, type AppEnv } from "../src/http/context";
import { signInResponse } from "../src/http/token-response";

/**
 * Bench only: the floor of a passkey login (`npm run bench`, bench/scenarios/passkeys.mjs). A
 * login with a passkey cannot do less than this: one ECDSA P-256 verification of the assertion's
 * signature under the stored public key (imported for the check, as a stored key must be), then
 * the session opening the password login also pays: `signInResponse`, the user's object opening
 * the session as every way in does (the session cap, its D1 record and `login` event in the
 * outbox), the access token signed and the token response. No ceremony, no client data or
 * authenticator data parsed, no counter, no login limit.
 */
export async function passkeyLoginFloor(c: Context<AppEnv>) {
  const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
  const { user, key, data, signature } = body ?? {};
  if (typeof user !== "string" || user === "" || typeof key !== "object" || key === null || typeof data !== "string" || typeof signature !== "string") {
    throw invalidRequest("user, key (a public JWK), data and signature are required.");
  }
  keyRing(c);
  let valid = false;
  try {
    const publicKey = await crypto.subtle.importKey("jwk", key as JsonWebKey, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    valid = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, publicKey, base64url.decode(signature), base64url.decode(data));
  } catch {
    // Not a P-256 public key, or not base64url: a bad request like a bad signature.
  }
  if (!valid) throw invalidRequest("the signature does not verify under that key.");
  return signInResponse(c, { method: "passkey", sub: user });
}

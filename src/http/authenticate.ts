import { createMiddleware } from "hono/factory";
import { keyRing, type AppContext, type AppEnv } from "./context";
import { accessRefusal, type AccessRefusal } from "../errors/refusals";
import { logRefusal, type RefusalDetail } from "../errors/verdict";
import { verifyAccessToken, type AccessClaims } from "../tokens/access";
import { DPOP_ALGORITHMS, verifyDpopProof } from "../tokens/dpop";

// RFC 6750 section 2.1: b64token; RFC 9449 section 7.1 uses the same syntax for `DPoP`.
const CREDENTIAL = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The access token of a request and the scheme it came in. */
export interface AccessCredential {
  scheme: "Bearer" | "DPoP";
  /** "" for a credential that is not a well-formed token. */
  token: string;
}

/**
 * The access token of the request: `Authorization: Bearer` (RFC 6750) or `Authorization: DPoP`
 * (RFC 9449); null when there is none, or another scheme (RFC 6750 section 3.1 treats both as
 * "no authentication information").
 */
export function accessCredential(c: AppContext): AccessCredential | null {
  const header = c.req.header("Authorization");
  const scheme = header === undefined ? null : /^(Bearer|DPoP)(\s|$)/i.exec(header)?.[1]?.toLowerCase();
  if (!scheme) return null;
  return { scheme: scheme === "dpop" ? "DPoP" : "Bearer", token: CREDENTIAL.exec(header!)?.[2] ?? "" };
}

/** The Bearer token of the request (the admin token is one); null without one. */
export function bearerToken(c: AppContext): string | null {
  const credential = accessCredential(c);
  return credential?.scheme === "Bearer" ? credential.token : null;
}

/**
 * Verifies the request's access token and returns its claims, or throws the 401 of RFC 6750
 * section 3.1: a bare `WWW-Authenticate: Bearer realm=...` when no token was sent, with
 * `error="invalid_token"` when one was, saying `expired` when that is why, so the client knows to
 * refresh. A token of a DPoP-bound session (`cnf.jkt`) passes only as `Authorization: DPoP` with
 * a proof of the bound key for this request and token (RFC 9449 section 7), checked statelessly;
 * its 401s carry a `DPoP` challenge. The only place an access token is checked. With
 * `allowExpired`, a token that is genuine but past its lifetime is accepted too (logout: ending a
 * session needs no fresh token). Each refusal is one log line naming its reason.
 */
export async function authenticate(c: AppContext, { allowExpired = false } = {}): Promise<AccessClaims> {
  const config = c.get("config");
  const credential = accessCredential(c);
  const refuse = (reason: AccessRefusal, scheme: "Bearer" | "DPoP", detail: RefusalDetail = {}) => {
    if (reason !== "no_token") logRefusal("access_token", reason, { scheme: credential?.scheme ?? null, ...detail });
    return accessRefusal(reason, { scheme, realm: config.realm, dpopAlgorithms: DPOP_ALGORITHMS });
  };
  if (credential === null) throw refuse("no_token", "Bearer");
  const result = await verifyAccessToken(credential.token, keyRing(c), config, Date.now() / 1000);
  // The claims of a token this gateway issued, expired or not: its session may be named in the log.
  const genuine = result.ok ? result.claims : result.expiredClaims;
  const session: RefusalDetail = genuine ? { session_id: genuine.sid } : {};
  const claims = result.ok || allowExpired ? genuine : undefined;
  const scheme = credential.scheme === "DPoP" || claims?.cnf ? "DPoP" : "Bearer";
  if (!claims) throw refuse(result.ok ? "not_a_session" : result.reason, scheme, session);

  const bound = claims.cnf?.jkt;
  if (credential.scheme === "DPoP" && !bound) throw refuse("dpop_scheme_unbound", scheme, session);
  if (bound && credential.scheme !== "DPoP") throw refuse("bearer_scheme_bound", scheme, session);
  if (bound) {
    const header = c.req.header("DPoP");
    if (header === undefined) throw refuse("no_dpop_proof", scheme, session);
    const proof = await verifyDpopProof(header, {
      method: c.req.method,
      url: c.req.url,
      accessToken: credential.token,
      nowSeconds: Date.now() / 1000,
      clockSkewSeconds: config.clockSkewSeconds,
    });
    if (!proof.ok) throw refuse("dpop_proof_refused", scheme, { ...session, proof_reason: proof.reason });
    if (proof.proof.jkt !== bound) throw refuse("dpop_proof_of_another_key", scheme, session);
  }
  return claims;
}

/** Middleware for the Bearer routes: `c.get("auth")` holds the verified claims. */
export const requireAccessToken = createMiddleware<AppEnv>(async function requireAccessToken(c, next) {
  c.set("auth", await authenticate(c));
  await next();
});

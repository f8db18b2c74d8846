import { createMiddleware } from "hono/factory";
import { keyRing, type AppContext, type AppEnv } from "./context";
import { AuthError } from "./errors";
import { verifyAccessToken, type AccessClaims } from "../tokens/access";

// RFC 6750 section 2.1: b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The Bearer token of the request; null when there is none, or when the client used another
 * scheme (RFC 6750 section 3.1 treats both as "no authentication information"); "" for a Bearer
 * credential that is not a well-formed token.
 */
export function bearerToken(c: AppContext): string | null {
  const header = c.req.header("Authorization");
  if (header === undefined || !/^Bearer(\s|$)/i.test(header)) return null;
  return BEARER.exec(header)?.[1] ?? "";
}

/**
 * Verifies the request's access token and returns its claims, or throws the RFC 6750 401: a bare
 * `WWW-Authenticate: Bearer realm=...` when no token was sent (section 3.1), with
 * `error="invalid_token"` when one was, saying `expired` when that is why, so the client knows to
 * refresh. The only place an access token is checked. With `allowExpired`, a token that is
 * genuine but past its lifetime is accepted too (logout: ending a session needs no fresh token).
 */
export async function authenticate(c: AppContext, { allowExpired = false } = {}): Promise<AccessClaims> {
  const config = c.get("config");
  const token = bearerToken(c);
  if (token === null) {
    throw new AuthError("unauthorized", 401, "An access token is required.", {
      "WWW-Authenticate": `Bearer realm="${quoted(config.realm)}"`,
    });
  }
  const result = await verifyAccessToken(token, keyRing(c), config, Date.now() / 1000);
  if (result.ok) return result.claims;
  if (allowExpired && result.expiredClaims) return result.expiredClaims;
  const description = result.problem === "expired" ? "The access token expired" : "The access token is invalid";
  throw new AuthError("invalid_token", 401, description, {
    "WWW-Authenticate": `Bearer realm="${quoted(config.realm)}", error="invalid_token", error_description="${description}"`,
  });
}

/** Middleware for the Bearer routes: `c.get("auth")` holds the verified claims. */
export const requireAccessToken = createMiddleware<AppEnv>(async function requireAccessToken(c, next) {
  c.set("auth", await authenticate(c));
  await next();
});

// RFC 7235 section 2.2: quoted-string; backslash-escape quotes and backslashes.
function quoted(value: string) {
  return value.replace(/[\\"]/g, "\\$&");
}

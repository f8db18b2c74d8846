import { createMiddleware } from "hono/factory";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Config } from "../config";
import type { AppContext, AppEnv } from "./context";
import { AuthError, invalidGrant } from "../errors/auth-error";
import { REFRESH_COOKIE_NAME } from "./refresh-cookie-name";

/** The refresh-token cookie of `REFRESH_COOKIE=true`; `__Host-` requires `Secure`, `Path=/` and no `Domain`. */
const COOKIE = REFRESH_COOKIE_NAME;
const OPTIONS = { httpOnly: true, secure: true, sameSite: "Strict", path: "/" } as const;
// Browsers cap cookie lifetimes at 400 days (RFC 6265bis); used when the session has no limit.
const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 3600;

/**
 * Declared first by every route that can set or clear the refresh cookie (login, refresh, logout,
 * logout-all; a new sign-in route adds it to its chain too). With `REFRESH_COOKIE` on, a request
 * from a browser on another site is refused with 403 `forbidden_origin`, before its body is read,
 * its DPoP proof checked or any token used: one whose `Origin` is neither the gateway's own nor in
 * `ALLOWED_ORIGINS`, or one without `Origin` that says `Sec-Fetch-Site: cross-site`. A request
 * without `Origin` (a native app, a back end) goes on.
 *
 * `SameSite=Strict` does not cover this: it decides which cookies a request carries, and a
 * browser still stores what the answer to a top-level cross-site form POST sets. Without this
 * check such a form could log the browser into the attacker's session (login CSRF) or clear the
 * user's cookie (a forced logout), no preflight needed.
 *
 * @example
 * routes.post("/login", setsRefreshCookie, dpopProof({ issuesTokens: true }), loginBody, async function login(c) { ... });
 */
export const setsRefreshCookie = createMiddleware<AppEnv>(async function refuseCrossSiteCookieWrites(c, next) {
  const config = c.get("config");
  if (config.refreshCookie && isCrossSite(config, c)) {
    throw new AuthError("forbidden_origin", 403, "A request from another site may not set or clear the refresh cookie.");
  }
  c.set("setsRefreshCookie", true);
  await next();
});

/** Sets the refresh cookie on a token response, when cookie transport is on. */
export function setRefreshCookie(c: AppContext, refreshToken: string) {
  const { refreshCookie, session } = c.get("config");
  assertDeclared(c);
  if (!refreshCookie) return;
  const limits = [session.refreshIdleTtlSeconds, session.sessionMaxTtlSeconds].filter((ttl) => ttl > 0);
  setCookie(c, COOKIE, refreshToken, { ...OPTIONS, maxAge: Math.min(MAX_COOKIE_AGE_SECONDS, ...limits) });
}

/** Clears the refresh cookie, when cookie transport is on. */
export function clearRefreshCookie(c: AppContext) {
  assertDeclared(c);
  if (c.get("config").refreshCookie) deleteCookie(c, COOKIE, OPTIONS);
}

/**
 * The refresh token from the cookie, when cookie transport is on and the body had none. A
 * browser sends the cookie on its own, so the request must come from the gateway's own origin or
 * one of `ALLOWED_ORIGINS` (CSRF); anything else, no `Origin` included, is refused with 403
 * before any token is used.
 */
export function refreshTokenFromCookie(c: AppContext): string | null {
  const config = c.get("config");
  if (!config.refreshCookie) return null;
  // Two copies mean someone planted one (cookie tossing): which is real cannot be told, so
  // neither is used, and the browser is told to drop it.
  if (refreshCookieCount(c.req.header("Cookie")) > 1) {
    clearRefreshCookie(c);
    throw invalidGrant();
  }
  const token = getCookie(c, COOKIE);
  if (!token) return null;
  if (!isAllowedOrigin(config, c.req.header("Origin"), ownOrigin(c))) {
    throw new AuthError("forbidden_origin", 403, "Cookie-authenticated requests must come from an allowed Origin.");
  }
  return token;
}

export function isAllowedOrigin(config: Config, origin: string | undefined, ownOrigin: string): boolean {
  return origin !== undefined && (origin === ownOrigin || config.allowedOrigins.includes(origin));
}

// A present `Origin` says where the request comes from (`null` from an opaque origin counts as
// foreign); without one, a browser's `Sec-Fetch-Site` still can (Fetch Metadata).
function isCrossSite(config: Config, c: AppContext): boolean {
  const origin = c.req.header("Origin");
  if (origin !== undefined) return !isAllowedOrigin(config, origin, ownOrigin(c));
  return c.req.header("Sec-Fetch-Site")?.trim().toLowerCase() === "cross-site";
}

function ownOrigin(c: AppContext): string {
  return new URL(c.req.url).origin;
}

/**
 * How many pairs of the Cookie header are the refresh cookie (RFC 6265 section 4.2.1:
 * `name=value` pairs joined by "; "). Names are compared after trimming, as the cookie is read
 * (`getCookie` trims too): `__Host-refresh_token =x` is a copy like any other.
 */
function refreshCookieCount(header: string | undefined): number {
  if (!header) return 0;
  return header.split(";").filter((pair) => {
    const equals = pair.indexOf("=");
    return equals !== -1 && pair.slice(0, equals).trim() === COOKIE;
  }).length;
}

// A route that writes the cookie without `setsRefreshCookie` in front would let any site set it:
// better a loud failure in its first test than a silent hole.
function assertDeclared(c: AppContext): void {
  if (c.get("setsRefreshCookie") !== true) throw new Error("a route that sets or clears the refresh cookie must declare setsRefreshCookie");
}

import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Config } from "../config";
import type { AppContext } from "./context";
import { AuthError, invalidGrant } from "./errors";
import { REFRESH_COOKIE_NAME } from "./refresh-cookie-name";

/** The refresh-token cookie of `REFRESH_COOKIE=true`; `__Host-` requires `Secure`, `Path=/` and no `Domain`. */
const COOKIE = REFRESH_COOKIE_NAME;
const OPTIONS = { httpOnly: true, secure: true, sameSite: "Strict", path: "/" } as const;
// Browsers cap cookie lifetimes at 400 days (RFC 6265bis); used when the session has no limit.
const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 3600;

/** Sets the refresh cookie on a token response, when cookie transport is on. */
export function setRefreshCookie(c: AppContext, refreshToken: string) {
  const { refreshCookie, session } = c.get("config");
  if (!refreshCookie) return;
  const limits = [session.refreshIdleTtlSeconds, session.sessionMaxTtlSeconds].filter((ttl) => ttl > 0);
  setCookie(c, COOKIE, refreshToken, { ...OPTIONS, maxAge: Math.min(MAX_COOKIE_AGE_SECONDS, ...limits) });
}

export function clearRefreshCookie(c: AppContext) {
  if (c.get("config").refreshCookie) deleteCookie(c, COOKIE, OPTIONS);
}

/**
 * The refresh token from the cookie, when cookie transport is on and the body had none. A
 * browser sends the cookie on its own, so the request must come from the gateway's own origin or
 * one of `ALLOWED_ORIGINS` (CSRF); anything else is refused with 403 before any token is used.
 */
export function refreshTokenFromCookie(c: AppContext): string | null {
  const config = c.get("config");
  if (!config.refreshCookie) return null;
  // Two copies mean someone planted one (cookie tossing): which is real cannot be told, so
  // neither is used, and the browser is told to drop it.
  if (cookieCount(c.req.header("Cookie"), COOKIE) > 1) {
    clearRefreshCookie(c);
    throw invalidGrant();
  }
  const token = getCookie(c, COOKIE);
  if (!token) return null;
  if (!isAllowedOrigin(config, c.req.header("Origin"), new URL(c.req.url).origin)) {
    throw new AuthError("forbidden_origin", 403, "Cookie-authenticated requests must come from an allowed Origin.");
  }
  return token;
}

export function isAllowedOrigin(config: Config, origin: string | undefined, ownOrigin: string): boolean {
  return origin !== undefined && (origin === ownOrigin || config.allowedOrigins.includes(origin));
}

/** How many times the Cookie header names `name` (RFC 6265 section 4.2.1: `name=value` pairs joined by "; "). */
function cookieCount(header: string | undefined, name: string): number {
  if (!header) return 0;
  return header.split(";").filter((pair) => pair.trim().startsWith(`${name}=`)).length;
}

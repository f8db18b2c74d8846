import { createMiddleware } from "hono/factory";
import { firstTimeFilter } from "../log-once";
import type { AppContext, AppEnv } from "./context";

// What a browser app may send: the access token, JSON bodies, and a DPoP proof (RFC 9449).
const ALLOW_HEADERS = "Authorization, Content-Type, DPoP";
const ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
// What its script may read: the 401 challenge that says "expired" (RFC 6750 section 3), and how
// long to wait after a 429.
const EXPOSE_HEADERS = "WWW-Authenticate, Retry-After";
const PREFLIGHT_MAX_AGE_SECONDS = "600";

/**
 * CORS for every path, `/auth/*` and proxied paths alike, by `ALLOWED_ORIGINS`. For a listed
 * `Origin` a preflight is answered here (204, no token needed, the origin never sees it) and every
 * other response gets `Access-Control-Allow-Origin` with credentials allowed. Any other `Origin`
 * gets no CORS header at all: its requests go on as if it had sent none, so a preflight from it
 * meets the route's ordinary answer (a 401 on a proxied path). `Vary: Origin` goes on every
 * response once the list is not empty, since the answer then depends on it. A preflight from an
 * origin not in the list is logged (`cors_origin_not_allowed`), once per isolate and origin.
 *
 * Not `hono/cors`: it answers every OPTIONS request as a preflight and sends its other CORS
 * headers (credentials, methods, headers) to any origin, listed or not.
 */
export const corsForAllowedOrigins = createMiddleware<AppEnv>(async function corsForAllowedOrigins(c, next) {
  const allowedOrigins = c.get("config").allowedOrigins;
  const origin = c.req.header("Origin");
  const allowed = origin !== undefined && allowedOrigins.includes(origin);
  if (origin !== undefined && isPreflight(c)) {
    if (allowed) {
      return c.body(null, 204, {
        ...corsHeaders(origin),
        "Access-Control-Allow-Methods": ALLOW_METHODS,
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_SECONDS,
        Vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      });
    }
    logRefusedOriginOnce(origin);
  }
  await next();
  if (allowed) {
    for (const [name, value] of Object.entries(corsHeaders(origin))) c.header(name, value);
  }
  if (allowedOrigins.length > 0) c.header("Vary", "Origin", { append: true });
});

// The browser refuses the page's request without saying why to its script (the client can only
// say "unreachable or refused by CORS"): the operator reads which origin it was here, once per
// isolate and origin. The origin is the client's to choose: it is cut short in the line, and the
// filter remembers a bounded number of them.
const MAX_LOGGED_ORIGIN_LENGTH = 128;
const firstTimeRefused = firstTimeFilter(64);

function logRefusedOriginOnce(origin: string): void {
  const shown = origin.length > MAX_LOGGED_ORIGIN_LENGTH ? `${origin.slice(0, MAX_LOGGED_ORIGIN_LENGTH)}...` : origin;
  if (firstTimeRefused(shown)) console.warn(JSON.stringify({ event: "cors_origin_not_allowed", origin: shown }));
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    "Access-Control-Allow-Origin": origin,
    // Cookie mode: an app on a listed origin refreshes with `credentials: "include"`.
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Expose-Headers": EXPOSE_HEADERS,
  };
}

// Fetch standard, CORS-preflight request: OPTIONS with `Access-Control-Request-Method`. A plain
// OPTIONS request (sent after its own preflight) is an ordinary request for the route.
function isPreflight(c: AppContext): boolean {
  return c.req.method === "OPTIONS" && c.req.header("Access-Control-Request-Method") !== undefined;
}

/** Whether a header is one of CORS's response headers, which only the gateway sets. */
export function isCorsResponseHeader(name: string): boolean {
  return name.toLowerCase().startsWith("access-control-");
}

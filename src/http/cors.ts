import { createMiddleware } from "hono/factory";
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
 * response once the list is not empty, since the answer then depends on it.
 *
 * Not `hono/cors`: it answers every OPTIONS request as a preflight and sends its other CORS
 * headers (credentials, methods, headers) to any origin, listed or not.
 */
export const corsForAllowedOrigins = createMiddleware<AppEnv>(async function corsForAllowedOrigins(c, next) {
  const allowedOrigins = c.get("config").allowedOrigins;
  const origin = c.req.header("Origin");
  const allowed = origin !== undefined && allowedOrigins.includes(origin);
  if (allowed && isPreflight(c)) {
    return c.body(null, 204, {
      ...corsHeaders(origin),
      "Access-Control-Allow-Methods": ALLOW_METHODS,
      "Access-Control-Allow-Headers": ALLOW_HEADERS,
      "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_SECONDS,
      Vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    });
  }
  await next();
  if (allowed) {
    for (const [name, value] of Object.entries(corsHeaders(origin))) c.header(name, value);
  }
  if (allowedOrigins.length > 0) c.header("Vary", "Origin", { append: true });
});

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

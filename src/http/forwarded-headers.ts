/**
 * Client headers that never reach the origin, by their name with `_` and `.` read as `-`:
 * CGI-style origins (PHP, WSGI, Rack) read `X_Auth_User` or `X.Auth.User` as `X-Auth-User`, so the
 * lookalikes go too. Besides every `X-Auth-*` (the identity is the gateway's to say):
 * - headers some origins or proxies route on instead of the path or method (IIS, Symfony, Zend,
 *   Envoy, Spring, Rails' `Rack::MethodOverride`), which would let a public path or a GET stand in
 *   for any other;
 * - headers that claim the client's address or credentials for a proxy, which the origin might
 *   trust: the address reaches it as the gateway saw it (`X-Forwarded-*`, set below).
 */
const REMOVED = new Set([
  "x-original-url",
  "x-rewrite-url",
  "x-override-url",
  "x-envoy-original-path",
  "x-forwarded-prefix",
  "x-forwarded-uri",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
  "forwarded",
  "x-real-ip",
  "true-client-ip",
  "proxy-authorization",
  // Replaced, not appended to: whatever the client wrote there is its own claim.
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
]);

/**
 * The headers of a request as the gateway forwards them, before it adds identity: a copy of
 * `incoming` without any client `X-Auth-*` header or the headers above, with `X-Forwarded-For` set
 * to `clientIp` (the one address the gateway saw, `CF-Connecting-IP`; none when it is null) and
 * `X-Forwarded-Proto` and `X-Forwarded-Host` to the scheme and host of `url`, the request the
 * client made.
 *
 * @example
 * const headers = forwardedHeaders(c.req.raw.headers, new URL(c.req.url), c.req.header("CF-Connecting-IP") ?? null);
 */
export function forwardedHeaders(incoming: Headers, url: URL, clientIp: string | null): Headers {
  const headers = new Headers(incoming);
  for (const name of [...headers.keys()]) {
    const canonical = name.replace(/[_.]/g, "-");
    if (canonical.startsWith("x-auth-") || REMOVED.has(canonical)) headers.delete(name);
  }
  if (clientIp !== null) headers.set("X-Forwarded-For", clientIp);
  headers.set("X-Forwarded-Proto", url.protocol.slice(0, -1));
  headers.set("X-Forwarded-Host", url.host);
  return headers;
}

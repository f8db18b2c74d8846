import type { Config } from "./config";
import { accessCredential, authenticate } from "./http/authenticate";
import { clientInfo, type AppContext } from "./http/context";
import { isCorsResponseHeader } from "./http/cors";
import { AuthError, misconfigured } from "./errors/auth-error";
import { forwardedHeaders } from "./http/forwarded-headers";
import { signForOrigin } from "./http/origin-signature";
import { LEGACY_REFRESH_COOKIE_NAME, REFRESH_COOKIE_NAME } from "./http/refresh-cookie-name";
import type { AccessClaims } from "./tokens/access";
import type { EchoResponse } from "./wire";

/**
 * The gateway for every path that is not the gateway's own: verifies the access token (optional
 * on a public path, where one that does not verify is dropped), strips the client headers an
 * origin might take for identity, routing or the client's address (`forwardedHeaders`), adds
 * `X-Auth-User` and `X-Auth-Session`, signs the request with `ORIGIN_SIGNING_SECRET` when it is
 * set, and forwards it to the service binding `ORIGIN` or else to `ORIGIN_URL`, with method, path,
 * query and body intact. Without either, a built-in echo origin answers with what it would have
 * forwarded.
 */
export async function gateway(c: AppContext): Promise<Response> {
  const config = c.get("config");
  const service = originService(c.env);
  const url = new URL(c.req.url);
  const headers = forwardedHeaders(c.req.raw.headers, url, clientInfo(c).ip);

  // Both the path as the client sent it and the one that is forwarded must be public: the
  // runtime's URL parser resolves dot segments and backslashes, a proxy in front may not.
  const prefixes = config.publicPathPrefixes;
  const isPublic = isPublicPath(rawPathOf(c.req.url), prefixes) && isPublicPath(url.pathname, prefixes);
  const claims = isPublic ? await optionalIdentity(c) : await authenticate(c);
  if (claims) {
    headers.set("X-Auth-User", claims.sub);
    headers.set("X-Auth-Session", claims.sid);
  } else if (accessCredential(c) !== null) {
    // A public path forwards no token the gateway did not verify: the origin might trust it.
    headers.delete("Authorization");
    headers.delete("DPoP");
  }
  if (!config.forwardAuthorization) {
    headers.delete("Authorization");
    headers.delete("DPoP");
  }
  headers.delete("Host");
  withoutRefreshCookie(headers);

  const target = originTarget(service, config, url);
  // Signed last: the signature covers the identity headers set above and the path as forwarded.
  if (config.originSigningSecret !== null) {
    const forwarded = target ?? url;
    const pathAndQuery = `${forwarded.pathname}${forwarded.search}`;
    await signForOrigin(headers, config.originSigningSecret, { method: c.req.method, pathAndQuery }, Date.now() / 1000);
  }

  if (target === null) {
    return c.json({
      method: c.req.method,
      path: url.pathname,
      query: queryOf(url.searchParams),
      headers: Object.fromEntries(headers),
    } satisfies EchoResponse);
  }

  const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
  const init: RequestInit = { method: c.req.method, headers, body: hasBody ? c.req.raw.body : null, redirect: "manual" };
  let response: Response;
  try {
    response = await (service ? service.fetch(target, init) : fetch(target, init));
  } catch (error) {
    console.warn(`origin unreachable: ${(error as Error).message}`);
    throw new AuthError("bad_gateway", 502, "The origin could not be reached.");
  }
  return originResponse(response);
}

/**
 * The service binding `ORIGIN`, or null when there is none. A binding, not a variable, so it is
 * no row of the settings table; a `[vars] ORIGIN = "..."` would otherwise be silently ignored.
 */
function originService(env: Env): Fetcher | null {
  // Not in Env: wrangler.toml declares no `[[services]]` of its own, an operator adds it.
  const binding = (env as { ORIGIN?: unknown }).ORIGIN;
  if (binding === undefined || binding === null || binding === "") return null;
  if (typeof binding !== "object" || typeof (binding as Partial<Fetcher>).fetch !== "function") {
    throw misconfigured('ORIGIN must be a service binding ([[services]] binding = "ORIGIN" in wrangler.toml), not a variable.');
  }
  return binding as Fetcher;
}

/**
 * Where a request for `url` goes: to the service binding `ORIGIN` at the client's own URL (it
 * has no URL of its own), or to `ORIGIN_URL` with its base path in front of the request's path;
 * null for the echo origin, when neither is set.
 */
function originTarget(service: Fetcher | null, config: Config, url: URL): URL | null {
  if (service !== null) {
    const target = new URL(url);
    target.hash = "";
    return target;
  }
  if (config.originUrl === null) return null;
  const basePath = config.originUrl.pathname.replace(/\/+$/, "");
  // Set on a copy of ORIGIN_URL, not resolved against it: a path like `//other.host/x` would
  // otherwise resolve as a scheme-relative URL and send the request to another host.
  const target = new URL(config.originUrl);
  target.pathname = `${basePath}${url.pathname}`;
  target.search = url.search;
  target.hash = "";
  return target;
}

// The refresh cookie is between the browser and the gateway, whether or not REFRESH_COOKIE is
// on: an origin that could read it could refresh as the user, one that could set it could plant a
// token of its choosing (session fixation).
function isRefreshCookieName(name: string): boolean {
  const lower = name.trim().toLowerCase();
  return lower === REFRESH_COOKIE_NAME.toLowerCase() || lower === LEGACY_REFRESH_COOKIE_NAME;
}

/** Removes the refresh cookie from the `Cookie` header; leaves a header without it as it was. */
function withoutRefreshCookie(headers: Headers): void {
  const cookie = headers.get("Cookie");
  if (cookie === null) return;
  // `;` separates cookies (RFC 6265 section 5.4). A `,` may too, where two Cookie headers were
  // joined, but it is also allowed inside values: a piece is split at commas only when one of
  // its parts is the refresh cookie, so every other cookie reaches the origin byte for byte.
  let removed = false;
  const kept = cookie.split(";").flatMap((piece) => {
    const parts = piece.split(",");
    if (!parts.some((part) => isRefreshCookieName(part.split("=", 1)[0]!))) return [piece];
    removed = true;
    const rest = parts.filter((part) => !isRefreshCookieName(part.split("=", 1)[0]!));
    return rest.length > 0 ? [rest.join(",")] : [];
  });
  if (!removed) return;
  const joined = kept.map((pair) => pair.trim()).filter((pair) => pair !== "").join("; ");
  if (joined === "") headers.delete("Cookie");
  else headers.set("Cookie", joined);
}

/**
 * The origin's response without any `Set-Cookie` for the refresh cookie, and without CORS headers:
 * CORS is the gateway's (`ALLOWED_ORIGINS`, src/http/cors.ts), so an origin that answers
 * `Access-Control-Allow-Origin: *` or echoes any `Origin` cannot open the API to other sites.
 */
function originResponse(response: Response): Response {
  const setCookies = response.headers.getSetCookie();
  const kept = setCookies.filter((setCookie) => !isRefreshCookieName(setCookieName(setCookie)));
  const cors = [...response.headers.keys()].filter(isCorsResponseHeader);
  if (kept.length === setCookies.length && cors.length === 0) return response;
  const headers = new Headers(response.headers);
  for (const name of cors) headers.delete(name);
  headers.delete("Set-Cookie");
  for (const setCookie of kept) headers.append("Set-Cookie", setCookie);
  // `webSocket` keeps an upgraded (101) response usable.
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers, webSocket: response.webSocket });
}

// A nameless cookie (`=__Host-refresh_token=x`) comes back from some browsers as
// `__Host-refresh_token=x`, so its value's name counts too.
function setCookieName(setCookie: string): string {
  const pair = setCookie.split(";", 1)[0]!;
  const [name, ...value] = pair.split("=");
  return name!.trim() === "" && value.length > 1 ? value[0]! : name!;
}

/** The echo origin's `query`: each key maps to its value, or to all its values in order when repeated. */
function queryOf(params: URLSearchParams): Record<string, string | string[]> {
  // `fromEntries` defines own properties, so a key named `__proto__` is echoed like any other.
  return Object.fromEntries(
    [...new Set(params.keys())].map((key) => {
      const values = params.getAll(key);
      return [key, values.length === 1 ? values[0]! : values];
    }),
  );
}

/**
 * On a public path an access token is optional: the caller's claims when it verifies (with its
 * DPoP proof, for a bound token), null when there is none or it does not verify (expired,
 * forged, malformed, a missing proof, or no keys to check it with).
 */
async function optionalIdentity(c: AppContext): Promise<AccessClaims | null> {
  if (accessCredential(c) === null) return null;
  try {
    return await authenticate(c);
  } catch (error) {
    if (error instanceof AuthError) return null;
    throw error;
  }
}

/**
 * Whether `path` falls under one of the public prefixes, matched on whole segments: `/public`
 * covers `/public` and `/public/x`, not `/publicity`. Prefixes arrive without a trailing slash.
 * Only a plain path can be public (see `isPlainPath`).
 */
export function isPublicPath(path: string, prefixes: string[]): boolean {
  if (!isPlainPath(path)) return false;
  return prefixes.some((prefix) => prefix === "" || path === prefix || path.startsWith(`${prefix}/`));
}

// Servers disagree about what a path that is not plain means: Java servlet containers drop
// `;...` path parameters (`/public/..;/admin` is `/admin` to Tomcat), Windows servers read `\`
// as `/`, some proxies merge `//` or resolve dot segments, and origins that decode before they
// normalise turn `%2f`, `%5c`, `%2e` or `%3b` into the real thing, and those that decode twice
// turn `%252e` into `.` (an encoded `%`), or stop at a NUL (`%00`). Whatever such a path means
// at the origin, it needs a token.
function isPlainPath(path: string): boolean {
  if (/[;\\]|\/\/|%(2f|5c|2e|3b|25|00)/i.test(path)) return false;
  return !path.split("/").some((segment) => segment === "." || segment === "..");
}

// The path of the request URL as it reached the worker, before `new URL()` resolves anything.
function rawPathOf(url: string): string {
  const afterScheme = url.indexOf("//");
  const start = url.indexOf("/", afterScheme === -1 ? 0 : afterScheme + 2);
  if (start === -1) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

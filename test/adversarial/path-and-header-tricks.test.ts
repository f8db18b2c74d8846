// Path and header tricks against PUBLIC_PATH_PREFIXES and the identity headers: whatever a client
// writes on the request line or in its headers, the origin never receives a request outside the
// public prefix without a verified token, a client-chosen identity, a URL, path or method
// override, or a client-chosen address.
import { describe, expect, it } from "vitest";
import { bearer, call, callAsSent, openSession, uniqueSub, type Vars } from "../helpers";
import { expectUnauthorized, forwardingHeaders, genuineToken, identityAndOverrideHeaders, recordingOrigin } from "./attacks";

const publicVars = (origin: { url: string }): Vars => ({ ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public" });

/** What the contract calls a plain path under `/public`: the only kind that may reach the origin without a token. */
function isPlainPublicPath(path: string): boolean {
  if (path !== "/public" && !path.startsWith("/public/")) return false;
  if (/[;\\]|\/\/|%(2f|5c|2e|3b)/i.test(path)) return false;
  return !path.split("/").some((segment) => segment === "." || segment === "..");
}

// Each of these is public only in the eyes of some server behind the gateway (servlet path
// parameters, Windows separators, decoders, merging proxies, case-insensitive file systems) or not
// under the prefix at all: as sent, every one needs a token.
const NEEDS_A_TOKEN: Array<[string, string]> = [
  ["a ; path parameter", "/public;/admin"],
  ["..; (Tomcat reads /admin)", "/public/..;/admin"],
  ["..; twice", "/public/..;/..;/admin"],
  [".; ", "/public/.;/admin"],
  ["a jsessionid parameter", "/public/x;jsessionid=1"],
  ["a ; parameter on the prefix itself", "/public;x=1"],
  ["%2e%2e", "/public/%2e%2e/admin"],
  ["%2E%2E", "/public/%2E%2E/admin"],
  ["%2e.", "/public/%2e./admin"],
  [".%2e", "/public/.%2e/admin"],
  ["%2e", "/public/%2e/admin"],
  ["..%2f", "/public/..%2fadmin"],
  ["..%2F", "/public/..%2Fadmin"],
  ["%2f right after the prefix", "/public%2f..%2fadmin"],
  ["..%5c", "/public/..%5cadmin"],
  ["..%5C", "/public/..%5Cadmin"],
  ["%5c right after the prefix", "/public%5cadmin"],
  ["..%3b", "/public/..%3b/admin"],
  ["%3B", "/public/%3B/x"],
  ["%3b right after the prefix", "/public%3b/admin"],
  ["a double slash inside", "/public//admin"],
  ["a double slash in front", "//public/admin"],
  ["a trailing double slash", "/public//"],
  ["a double slash deeper down", "/public/x//y"],
  ["backslash dot segments", "/public\\..\\admin"],
  ["a backslash after the prefix", "/public\\admin"],
  ["a backslash deeper down", "/public/x\\y"],
  ["a raw .. segment", "/public/.."],
  ["a raw ../admin", "/public/../admin"],
  ["a raw . segment", "/public/./x"],
  ["a raw trailing .", "/public/."],
  ["raw .. twice", "/public/x/../../admin"],
  ["/PUBLIC in capitals", "/PUBLIC/x"],
  ["/Public capitalised", "/Public/x"],
  ["/pUbLiC in mixed case", "/pUbLiC"],
  ["a trailing dot on the prefix (Windows drops it)", "/public./x"],
  ["two trailing dots on the prefix", "/public../x"],
  ["an encoded trailing dot on the prefix", "/public%2e/x"],
  ["a fullwidth slash right after the prefix", "/public%EF%BC%8Fadmin"],
  ["a division slash right after the prefix", "/public%E2%88%95admin"],
  ["an encoded letter in the prefix", "/publi%63/x"],
  ["an encoded first letter", "/%70ublic/x"],
  ["an encoded space after the prefix", "/public%20/x"],
  ["an encoded NUL after the prefix", "/public%00/x"],
  ["/publicity", "/publicity"],
  ["/publicx/y", "/publicx/y"],
  ["/public-x", "/public-x"],
  ["/public.json", "/public.json"],
  ["the prefix further down", "/api/public/x"],
];

// Plain by the contract's rules, but a decoder or normalizer at the origin could read a traversal
// into them (fullwidth or overlong dots, double encoding, %u escapes, NUL, trailing space). The
// gateway must either ask for a token or hand them to the origin exactly as sent, never decoded.
const DECODED_AT_THE_ORIGIN_ONLY: Array<[string, string]> = [
  ["fullwidth slashes (U+FF0F)", "/public/%EF%BC%8F..%EF%BC%8Fadmin"],
  ["fullwidth dots (U+FF0E)", "/public/%EF%BC%8E%EF%BC%8E/admin"],
  ["a division slash (U+2215)", "/public/..%E2%88%95admin"],
  ["a horizontal ellipsis (U+2026)", "/public/%E2%80%A6/admin"],
  ["double-encoded dots", "/public/%252e%252e/admin"],
  ["double-encoded slashes", "/public/..%252f..%252fadmin"],
  ["double-encoded backslash", "/public/..%255cadmin"],
  ["overlong UTF-8 dots", "/public/%c0%ae%c0%ae/admin"],
  ["an overlong UTF-8 slash", "/public/..%c0%afadmin"],
  ["IIS %u escapes", "/public/%u002e%u002e/admin"],
  ["a NUL after ..", "/public/..%00/admin"],
  ["a space after ..", "/public/..%20/admin"],
  ["a tab after ..", "/public/..%09/admin"],
  ["a trailing dot on the last segment", "/public/admin."],
];

describe("public paths: only the plain form is public", () => {
  it("lets plain public paths through as sent, the baseline the tricks depart from", async () => {
    const origin = recordingOrigin();
    const paths = ["/public", "/public/", "/public/x/y.txt", "/public/a..b", "/public/.well-known/x", "/public/x?next=/a/../b;c"];
    for (const path of paths) expect((await callAsSent(path, {}, publicVars(origin))).status, path).toBe(200);
    expect((await origin.requests()).map((entry) => `${entry.path}${entry.search}`)).toEqual(paths);
  });

  it.each(NEEDS_A_TOKEN)("asks for a token for %s (%s) as sent, and the origin never sees it", async (_name, path) => {
    const origin = recordingOrigin();
    await expectUnauthorized(await callAsSent(path, { headers: { "X-Auth-User": "admin" } }, publicVars(origin)), "bare", path);
    expect(await origin.requests()).toEqual([]);
  });

  it.each(NEEDS_A_TOKEN)("lets %s (%s) reach the origin without a token only as a plain public path once the runtime parsed it", async (_name, path) => {
    // `new Request()` resolves dot segments and turns backslashes into slashes before the worker
    // runs; what it leaves may be public, but then what reaches the origin is plain.
    const origin = recordingOrigin();
    const response = await call(path, {}, publicVars(origin));
    expect([200, 401], path).toContain(response.status);
    const reached = await origin.requests();
    if (response.status === 401) expect(reached).toEqual([]);
    else expect(reached.map((entry) => isPlainPublicPath(entry.path)), JSON.stringify(reached.map((entry) => entry.path))).toEqual([true]);
  });

  it.each(DECODED_AT_THE_ORIGIN_ONLY)("never decodes %s (%s) itself: a token is asked for, or the origin gets the path byte for byte", async (_name, path) => {
    const origin = recordingOrigin();
    const response = await callAsSent(path, { headers: { "X-Auth-User": "admin", "X-Original-URL": "/admin" } }, publicVars(origin));
    expect([200, 401], path).toContain(response.status);
    const reached = await origin.requests();
    if (response.status === 401) {
      expect(reached).toEqual([]);
    } else {
      expect(reached.map((entry) => entry.path)).toEqual([path]);
      expect(identityAndOverrideHeaders(reached[0]!.headers)).toEqual({});
    }
  });

  it("asks for a token outside the prefix however PUBLIC_PATH_PREFIXES is spelled (trailing slash, spaces, repeats)", async () => {
    const origin = recordingOrigin();
    for (const prefixes of ["/public/", " /public , ", "/public,/public/"]) {
      for (const path of ["/publicity", "/public/..;/admin", "/api/x"]) {
        const response = await callAsSent(path, {}, { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: prefixes });
        expect(response.status, `${prefixes} ${path}`).toBe(401);
      }
    }
    expect(await origin.requests()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

/** Every spelling of an identity or URL-override header a runtime lets a client send. */
function forgedHeaders(): Headers {
  const headers = new Headers();
  headers.append("X-Auth-User", "admin");
  headers.append("X-Auth-User", "root");
  headers.append("x-auth-user", "lowercase");
  headers.append("X-AUTH-SESSION", "forged-session");
  headers.append("X-Auth-Admin", "true");
  headers.append("X_Auth_User", "underscore");
  headers.append("X.Auth.User", "dots");
  headers.append("X-Auth_User", "mixed");
  headers.append("X_Auth.Session", "mixed");
  headers.append("X.AUTH_ROLES", "admin");
  // The runtime takes non-ASCII names; U+017F upper-cases to S, so "X-AUTH-USER" to some origins.
  headers.append("X-Auth-U\u017Fer", "long-s");
  headers.append("X-Original-URL", "/admin");
  headers.append("X-ORIGINAL-URL", "/admin/users");
  headers.append("X-Rewrite-URL", "/admin");
  headers.append("X_Original_URL", "/admin");
  headers.append("x.rewrite.url", "/admin");
  headers.append("X-Original_Url", "/admin");
  // Path and method overrides other servers and proxies honour (Envoy, Spring, Rack, ASP.NET).
  headers.append("X-Override-URL", "/admin");
  headers.append("X-Envoy-Original-Path", "/admin");
  headers.append("X_Envoy_Original_Path", "/admin");
  headers.append("X-Forwarded-Prefix", "/admin");
  headers.append("X-Forwarded-Uri", "/admin");
  headers.append("X.Forwarded.Uri", "/admin");
  headers.append("X-HTTP-Method-Override", "DELETE");
  headers.append("X_HTTP_Method_Override", "DELETE");
  headers.append("X-HTTP-Method", "DELETE");
  headers.append("X-Method-Override", "DELETE");
  headers.append("x.method.override", "DELETE");
  // Claims about the client's address, or credentials for a proxy, that an origin might trust.
  headers.append("Forwarded", "for=127.0.0.1;host=internal");
  headers.append("X-Real-IP", "127.0.0.1");
  headers.append("X_Real_IP", "127.0.0.1");
  headers.append("True-Client-IP", "127.0.0.1");
  headers.append("Proxy-Authorization", "Basic YWRtaW46YWRtaW4=");
  headers.append("Proxy_Authorization", "Basic YWRtaW46YWRtaW4=");
  headers.append("X-Forwarded-For", "127.0.0.1");
  headers.append("X_Forwarded_For", "127.0.0.1");
  headers.append("X-Forwarded-Host", "internal");
  headers.append("X-Forwarded-Proto", "https");
  headers.append("X.Forwarded.Proto", "https");
  return headers;
}

/** The X-Forwarded-* the origin gets for a request to `http://gateway.test` without `CF-Connecting-IP`. */
const GATEWAY_FORWARDING = { "x-forwarded-host": "gateway.test", "x-forwarded-proto": "http" };

type TokenKind = "none" | "valid" | "invalid";

describe("identity headers: the origin never sees a client-chosen identity, override or address", () => {
  it("cannot even build the spellings the runtime refuses (a space, tab, colon or line break in the name)", () => {
    for (const name of ["X-Auth-User ", " X-Auth-User", "X-Auth-User\t", "X-Auth-User:", "X Auth User", "X-Auth-User\r\nX"]) {
      expect(() => new Headers([[name, "admin"]]), JSON.stringify(name)).toThrow(TypeError);
    }
  });

  it.each([
    ["/public/feed", "none"],
    ["/public/feed", "valid"],
    ["/public/feed", "invalid"],
    ["/api/feed", "none"],
    ["/api/feed", "valid"],
    ["/api/feed", "invalid"],
  ] as Array<[string, TokenKind]>)("strips every forged identity and override header on %s with %s token", async (path, kind) => {
    const origin = recordingOrigin();
    const sub = uniqueSub("forge");
    const session = kind === "valid" ? await openSession(sub) : null;
    const headers = forgedHeaders();
    if (kind === "valid") headers.set("Authorization", `Bearer ${session!.access_token}`);
    if (kind === "invalid") {
      // A genuine token with its signature's last two characters changed (to "AA", or "QA" for the
      // one token in a thousand that already ends in "AA").
      const genuine = await genuineToken();
      headers.set("Authorization", `Bearer ${genuine.slice(0, -2)}${genuine.endsWith("AA") ? "QA" : "AA"}`);
    }

    const response = await call(path, { method: "POST", headers, body: "payload" }, publicVars(origin));
    const reached = await origin.requests();
    if (path.startsWith("/api") && kind !== "valid") {
      await expectUnauthorized(response, kind === "none" ? "bare" : "invalid_token");
      expect(reached).toEqual([]);
      return;
    }
    expect(response.status).toBe(200);
    expect(reached).toHaveLength(1);
    expect(reached[0]).toMatchObject({ method: "POST", path, body: "payload" });
    const expected = kind === "valid" ? { "x-auth-user": sub, "x-auth-session": session!.session_id } : {};
    expect(identityAndOverrideHeaders(reached[0]!.headers)).toEqual(expected);
    expect(forwardingHeaders(reached[0]!.headers)).toEqual(GATEWAY_FORWARDING);
    // An unverified token is not forwarded either: the origin might trust it.
    if (kind === "invalid") expect(reached[0]!.headers).not.toHaveProperty("authorization");
  });

  it("strips the forgeries on the tricky public paths too, where a path the gateway passes meets a header the origin routes on", async () => {
    const origin = recordingOrigin();
    for (const [, path] of DECODED_AT_THE_ORIGIN_ONLY) {
      await callAsSent(path, { headers: forgedHeaders() }, publicVars(origin));
    }
    for (const entry of await origin.requests()) {
      expect(identityAndOverrideHeaders(entry.headers), entry.path).toEqual({});
      expect(forwardingHeaders(entry.headers), entry.path).toEqual(GATEWAY_FORWARDING);
    }
  });

  it("keeps the identity of the token when a forged one names another real user", async () => {
    const origin = recordingOrigin();
    const victim = uniqueSub("victim");
    await openSession(victim);
    const attacker = uniqueSub("attacker");
    const { access_token, session_id } = await openSession(attacker);
    const headers = forgedHeaders();
    headers.set("X-Auth-User", victim);
    headers.set("Authorization", `Bearer ${access_token}`);
    expect((await call("/api/me", { headers }, publicVars(origin))).status).toBe(200);
    const [received] = await origin.requests();
    expect(identityAndOverrideHeaders(received!.headers)).toEqual({ "x-auth-user": attacker, "x-auth-session": session_id });
  });

  it("forwards a Connection header naming the identity headers without letting it drop them at the origin", async () => {
    // A hop-by-hop list naming X-Auth-User would make a proxy between gateway and origin remove
    // the header the gateway set (RFC 9110 section 7.6.1).
    const origin = recordingOrigin();
    const sub = uniqueSub("hop");
    const { access_token } = await openSession(sub);
    const response = await call("/api/x", { headers: { ...bearer(access_token), Connection: "close, X-Auth-User, X-Auth-Session" } }, publicVars(origin));
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers["x-auth-user"]).toBe(sub);
    expect(received!.headers.connection ?? "").not.toMatch(/x-auth/i);
  });

  // A comma inside another cookie's value must not become a cookie boundary when the refresh
  // cookie is removed: `x=1,session=planted` (set by a sibling subdomain, or reflected by the
  // origin) would otherwise reach the origin as two cookies.
  it("leaves every other cookie byte for byte when it removes the refresh cookie, commas in values included", async () => {
    const origin = recordingOrigin();
    const { access_token } = await openSession(uniqueSub("cookie"));
    const others = 'prefs={"a":1,"b":2}; x=1,session=planted';
    const response = await call("/api/x", { headers: { ...bearer(access_token), Cookie: `${others}; __Host-refresh_token=rt1.x` } }, publicVars(origin));
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers.cookie).toBe(others);
  });
});

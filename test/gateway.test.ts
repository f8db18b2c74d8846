import { env } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  base64,
  bearer,
  call,
  callAsSent,
  expectError,
  openSession,
  recordingOrigin,
  TEST_ORIGIN_URL as ORIGIN,
  TEST_SIGNING_KEYS,
  uniqueSub,
  type RecordedRequest,
  type Vars,
} from "./helpers";

/** The requests that reached the origin at its root (ORIGIN_URL without base path), by marker. */
async function rootRequests(marker: string): Promise<RecordedRequest[]> {
  const all: RecordedRequest[] = await (await fetch(`${ORIGIN}/__log`)).json();
  return all.filter((entry) => entry.path.includes(marker) || entry.search.includes(marker));
}

/** An access token signed with the real test signing key, with the given claims. */
async function signedWithTestKey(claims: Record<string, unknown>): Promise<string> {
  const jwk = TEST_SIGNING_KEYS[0]!;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid: "test-es256", typ: "at+jwt" })
    .sign(await importJWK(jwk, "ES256"));
}

async function session() {
  const sub = uniqueSub("gw");
  return { sub, ...(await openSession(sub)) };
}

describe("gateway: forwarding a verified request to the origin", () => {
  it("forwards method, path and query unchanged and names the caller with X-Auth-User and X-Auth-Session", async () => {
    const origin = recordingOrigin();
    const { sub, access_token, session_id } = await session();
    const response = await call(
      "/api/items/42?tag=a&tag=b&q=hello%20world&empty=",
      { headers: { ...bearer(access_token), "X-Request-Id": "req-1" } },
      { ORIGIN_URL: origin.url },
    );
    expect(response.status).toBe(200);
    const [received, ...more] = await origin.requests();
    expect(more).toHaveLength(0);
    expect(received).toMatchObject({
      method: "GET",
      path: "/api/items/42",
      search: "?tag=a&tag=b&q=hello%20world&empty=",
      query: { tag: ["a", "b"], q: ["hello world"], empty: [""] },
    });
    expect(received!.headers["x-auth-user"]).toBe(sub);
    expect(received!.headers["x-auth-session"]).toBe(session_id);
    expect(received!.headers["x-request-id"]).toBe("req-1");
    // The origin is addressed as itself, not as the gateway's host.
    expect(received!.headers.host).toBe(new URL(ORIGIN).host);
  });

  it("forwards to the exact path when ORIGIN_URL has no base path", async () => {
    const { access_token } = await session();
    const marker = crypto.randomUUID();
    const response = await call(`/v1/${marker}/orders?page=2`, { headers: bearer(access_token) }, { ORIGIN_URL: ORIGIN });
    expect(response.status).toBe(200);
    const received = await rootRequests(marker);
    expect(received.map((entry) => `${entry.method} ${entry.path}${entry.search}`)).toEqual([`GET /v1/${marker}/orders?page=2`]);
  });

  it("keeps a path that starts with // on the origin host instead of treating it as another host", async () => {
    const { access_token } = await session();
    const marker = crypto.randomUUID();
    const response = await call(
      `http://gateway.test//attacker.invalid/${marker}?steal=1`,
      { headers: bearer(access_token) },
      { ORIGIN_URL: ORIGIN },
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`origin saw GET //attacker.invalid/${marker}`);
    expect((await rootRequests(marker)).map((entry) => entry.path)).toEqual([`//attacker.invalid/${marker}`]);
  });

  it("forwards a JSON body byte for byte with its content type", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const body = JSON.stringify({ name: "Zoë", items: [1, 2, 3], nested: { ok: true } });
    const response = await call(
      "/api/orders",
      { method: "POST", headers: { ...bearer(access_token), "Content-Type": "application/json" }, body },
      { ORIGIN_URL: origin.url },
    );
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received).toMatchObject({ method: "POST", path: "/api/orders", body });
    expect(received!.headers["content-type"]).toBe("application/json");
  });

  it("forwards a binary body byte for byte", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const bytes = new Uint8Array(70_000).map((_, index) => (index * 7 + 3) % 256);
    const response = await call(
      "/api/upload",
      { method: "PUT", headers: { ...bearer(access_token), "Content-Type": "application/octet-stream" }, body: bytes },
      { ORIGIN_URL: origin.url },
    );
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.method).toBe("PUT");
    expect(received!.bodyBase64).toBe(base64(bytes));
  });

  it("keeps the method of PATCH, DELETE and HEAD requests", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    for (const method of ["PATCH", "DELETE", "HEAD"]) {
      const response = await call("/api/thing", { method, headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
      expect(response.status).toBe(200);
    }
    expect((await origin.requests()).map((entry) => entry.method)).toEqual(["PATCH", "DELETE", "HEAD"]);
  });

  it("removes every X-Auth-* header the client sent, whatever its case, and sets identity from the token", async () => {
    const origin = recordingOrigin();
    const { sub, access_token, session_id } = await session();
    const response = await call(
      "/api/me",
      {
        headers: {
          ...bearer(access_token),
          "x-auth-user": "admin",
          "X-AUTH-SESSION": "forged-session",
          "X-Auth-Admin": "true",
          "X-Auth-Roles": "root",
          // Lookalikes that CGI-style origins (PHP, WSGI, Rack) read as X-Auth-User.
          X_Auth_User: "mallory",
          "X-Auth_User": "mallory",
          "X.Auth.User": "mallory",
        },
      },
      { ORIGIN_URL: origin.url },
    );
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    const authHeaders = Object.entries(received!.headers).filter(([name]) => /^x[-_.]auth[-_.]/.test(name));
    expect(Object.fromEntries(authHeaders)).toEqual({ "x-auth-user": sub, "x-auth-session": session_id });
  });

  it("removes X-Original-URL and X-Rewrite-URL, which an origin might route on instead of the path", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const overrides = { "X-Original-URL": "/admin", "x-rewrite-url": "/admin", X_Original_URL: "/admin", "X.Rewrite.URL": "/admin" };
    const verified = await call("/api/x", { headers: { ...bearer(access_token), ...overrides } }, { ORIGIN_URL: origin.url });
    expect(verified.status).toBe(200);
    const open = await call("/public/x", { headers: overrides }, { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public" });
    expect(open.status).toBe(200);
    const received = await origin.requests();
    expect(received).toHaveLength(2);
    for (const entry of received) {
      expect(Object.keys(entry.headers).filter((name) => /original|rewrite/.test(name)), entry.path).toEqual([]);
    }
  });

  it("forwards the Authorization header by default", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    await call("/api/x", { headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
    const [received] = await origin.requests();
    expect(received!.headers.authorization).toBe(`Bearer ${access_token}`);
  });

  it("removes the Authorization header when FORWARD_AUTHORIZATION is false", async () => {
    const origin = recordingOrigin();
    const { sub, access_token } = await session();
    const response = await call("/api/x", { headers: bearer(access_token) }, { ORIGIN_URL: origin.url, FORWARD_AUTHORIZATION: "false" });
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers).not.toHaveProperty("authorization");
    expect(received!.headers["x-auth-user"]).toBe(sub);
  });

  it("passes the origin's status, body and headers back to the client", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const response = await call("/api/teapot", { headers: { ...bearer(access_token), "X-Test-Status": "418" } }, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(418);
    expect(await response.text()).toBe("origin saw GET /api/teapot");
    expect(response.headers.get("X-Origin")).toBe("test-origin");
    expect(response.headers.get("Set-Cookie")).toBe("origin=1; Path=/");
    expect(response.headers.get("Content-Type")).toBe("text/plain");
  });

  it("passes an origin redirect back instead of following it", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const response = await call(
      "/api/old",
      { headers: { ...bearer(access_token), "X-Test-Status": "302", "X-Test-Location": "https://elsewhere.example/new" } },
      { ORIGIN_URL: origin.url },
    );
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("https://elsewhere.example/new");
    expect(await origin.requests()).toHaveLength(1);
  });

  it("answers 502 bad_gateway when the origin cannot be reached", async () => {
    const { access_token } = await session();
    const response = await call("/api/x", { headers: bearer(access_token) }, { ORIGIN_URL: "http://127.0.0.1:1" });
    await expectError(response, 502, "bad_gateway");
  });
});

describe("gateway: refusing requests without a valid token", () => {
  it("answers 401 with a bare Bearer challenge when no token is sent, and the origin sees nothing", async () => {
    const origin = recordingOrigin();
    const response = await call("/api/x", { method: "POST", body: "{}", headers: { "X-Auth-User": "admin" } }, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-auth-gateway"');
    expect(await origin.requests()).toEqual([]);
  });

  it("names the configured REALM in the challenge, escaping quotes and backslashes", async () => {
    const origin = recordingOrigin();
    const plain = await call("/api/x", {}, { ORIGIN_URL: origin.url, REALM: "acme-api" });
    expect(plain.headers.get("WWW-Authenticate")).toBe('Bearer realm="acme-api"');
    const quoted = await call("/api/x", {}, { ORIGIN_URL: origin.url, REALM: 'Acme "prod" \\ api' });
    expect(quoted.status).toBe(401);
    expect(quoted.headers.get("WWW-Authenticate")).toBe('Bearer realm="Acme \\"prod\\" \\\\ api"');
    const invalid = await call("/api/x", { headers: bearer("not-a-jwt") }, { ORIGIN_URL: origin.url, REALM: 'Acme "prod"' });
    expect(invalid.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="Acme \\"prod\\"", error="invalid_token", error_description="[^"]+"$/);
    expect(await origin.requests()).toEqual([]);
  });

  it("answers 401 invalid_token for a token that is not valid, and the origin sees nothing", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const [header, payload, signature] = access_token.split(".");
    const otherSignature = signature!.startsWith("A") ? `B${signature!.slice(1)}` : `A${signature!.slice(1)}`;
    const response = await call("/api/x", { headers: bearer(`${header}.${payload}.${otherSignature}`) }, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(401);
    const challenge = response.headers.get("WWW-Authenticate")!;
    expect(challenge).toMatch(/^Bearer realm="edge-auth-gateway", error="invalid_token", error_description="[^"]+"$/);
    expect(challenge).not.toContain("expired");
    expect(await response.json()).toMatchObject({ error: "invalid_token" });
    expect(await origin.requests()).toEqual([]);
  });

  it("says the token expired when it did, so the client knows to refresh", async () => {
    const origin = recordingOrigin();
    const now = Math.floor(Date.now() / 1000);
    const expired = await signedWithTestKey({
      iss: env.ISSUER,
      aud: env.AUDIENCE,
      sub: uniqueSub("gw"),
      sid: crypto.randomUUID(),
      jti: crypto.randomUUID(),
      iat: now - 400,
      exp: now - 100,
    });
    const response = await call("/api/x", { headers: bearer(expired) }, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(401);
    const challenge = response.headers.get("WWW-Authenticate")!;
    expect(challenge).toMatch(/^Bearer realm="edge-auth-gateway", error="invalid_token", error_description="[^"]*expired[^"]*"$/);
    expect(((await response.json()) as { error_description: string }).error_description).toContain("expired");
    expect(await origin.requests()).toEqual([]);
  });

  it("refuses an Authorization header that is not a Bearer token", async () => {
    const origin = recordingOrigin();
    for (const authorization of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc.def.ghi"]) {
      const response = await call("/api/x", { headers: { Authorization: authorization } }, { ORIGIN_URL: origin.url });
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get("WWW-Authenticate"), authorization).toMatch(/^Bearer realm="edge-auth-gateway"/);
    }
    expect(await origin.requests()).toEqual([]);
  });

  it("answers another scheme with the bare challenge, as for no token (RFC 6750 section 3.1)", async () => {
    for (const authorization of ["Basic dXNlcjpwYXNz", "Token abc.def.ghi"]) {
      const response = await call("/api/x", { headers: { Authorization: authorization } });
      expect(response.headers.get("WWW-Authenticate"), authorization).toBe('Bearer realm="edge-auth-gateway"');
    }
    const malformed = await call("/api/x", { headers: { Authorization: "Bearer a b" } });
    expect(malformed.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
  });
});

describe("gateway: PUBLIC_PATH_PREFIXES", () => {
  const publicVars = (origin: { url: string }): Vars => ({ ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public, /docs/" });

  it("lets requests under a public prefix reach the origin without a token", async () => {
    const origin = recordingOrigin();
    for (const path of ["/public", "/public/x", "/public/x/y?z=1", "/docs", "/docs/a"]) {
      const response = await call(path, {}, publicVars(origin));
      expect(response.status, path).toBe(200);
    }
    expect((await origin.requests()).map((entry) => `${entry.path}${entry.search}`)).toEqual([
      "/public",
      "/public/x",
      "/public/x/y?z=1",
      "/docs",
      "/docs/a",
    ]);
  });

  it("matches whole path segments only: /publicity and /documents still need a token", async () => {
    const origin = recordingOrigin();
    for (const path of ["/publicity", "/documents", "/docsx/a", "/api/public", "/PUBLIC/x"]) {
      const response = await call(path, {}, publicVars(origin));
      expect(response.status, path).toBe(401);
    }
    expect(await origin.requests()).toEqual([]);
  });

  it("asks for a token when a public path hides an encoded slash, backslash or dot", async () => {
    const origin = recordingOrigin();
    for (const path of ["/public/..%2fadmin", "/public/..%2Fadmin", "/public/%2e%2e/admin", "/public/..%5cadmin"]) {
      const response = await call(path, {}, publicVars(origin));
      expect(response.status, path).toBe(401);
    }
    expect(await origin.requests()).toEqual([]);
  });

  it("asks for a token when a public path holds a semicolon, an empty segment or an encoded semicolon", async () => {
    const origin = recordingOrigin();
    // Java servlet containers read `/public/..;/private/admin` as `/private/admin`.
    for (const path of ["/public/..;/private/admin", "/public/x;jsessionid=1", "/public/.;/admin", "/public//admin", "/public/..%3b/admin", "/public/%3B/x"]) {
      const response = await call(path, {}, publicVars(origin));
      expect(response.status, path).toBe(401);
    }
    expect(await origin.requests()).toEqual([]);
  });

  it("asks for a token when a public path arrives with dot segments or backslashes the runtime did not normalise", async () => {
    const origin = recordingOrigin();
    const rawPaths = ["/public/../private/admin", "/public/./x", "/public/x/..", "/public/.%2e/admin", "/public\\..\\admin", "/public/x\\y", "/public/..;/admin"];
    for (const path of rawPaths) {
      const response = await callAsSent(path, {}, publicVars(origin));
      expect(response.status, path).toBe(401);
    }
    expect(await origin.requests()).toEqual([]);
  });

  it("still lets plain public paths through when the runtime passes the path as sent", async () => {
    const origin = recordingOrigin();
    for (const path of ["/public", "/public/", "/public/x/y.txt", "/docs/a..b/.well", "/public/x?next=/a/../b;c"]) {
      const response = await callAsSent(path, {}, publicVars(origin));
      expect(response.status, path).toBe(200);
    }
    expect((await origin.requests()).map((entry) => `${entry.path}${entry.search}`)).toEqual([
      "/public",
      "/public/",
      "/public/x/y.txt",
      "/docs/a..b/.well",
      "/public/x?next=/a/../b;c",
    ]);
  });

  it("names the caller on a public path when a valid access token comes along", async () => {
    const origin = recordingOrigin();
    const { sub, access_token, session_id } = await session();
    const response = await call("/public/feed", { headers: { ...bearer(access_token), "X-Auth-User": "admin" } }, publicVars(origin));
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers["x-auth-user"]).toBe(sub);
    expect(received!.headers["x-auth-session"]).toBe(session_id);
    expect(received!.headers.authorization).toBe(`Bearer ${access_token}`);
  });

  it("drops an access token that does not verify on a public path and forwards the request without identity", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const [header, payload, signature] = access_token.split(".");
    const forged = `${header}.${payload}.${signature!.startsWith("A") ? "B" : "A"}${signature!.slice(1)}`;
    const now = Math.floor(Date.now() / 1000);
    const expired = await signedWithTestKey({
      iss: env.ISSUER,
      aud: env.AUDIENCE,
      sub: uniqueSub("gw"),
      sid: crypto.randomUUID(),
      jti: crypto.randomUUID(),
      iat: now - 400,
      exp: now - 100,
    });
    const authorizations = [`Bearer ${forged}`, `Bearer ${expired}`, "Bearer not-a-jwt", "Bearer a b", "bearer   "];
    for (const authorization of authorizations) {
      const response = await call("/public/feed", { headers: { Authorization: authorization } }, publicVars(origin));
      expect(response.status, authorization).toBe(200);
    }
    const received = await origin.requests();
    expect(received).toHaveLength(authorizations.length);
    for (const entry of received) {
      expect(entry.headers).not.toHaveProperty("authorization");
      expect(Object.keys(entry.headers).filter((name) => name.startsWith("x-auth-"))).toEqual([]);
    }
  });

  it("drops an access token on a public path when no signing keys are set, instead of failing", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const response = await call("/public/feed", { headers: bearer(access_token) }, { ...publicVars(origin), SIGNING_KEYS: "" });
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers).not.toHaveProperty("authorization");
    expect(received!.headers).not.toHaveProperty("x-auth-user");
  });

  it("leaves another scheme's credentials on a public path to the origin", async () => {
    const origin = recordingOrigin();
    const response = await call("/public/feed", { headers: { Authorization: "Basic dXNlcjpwYXNz" } }, publicVars(origin));
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers.authorization).toBe("Basic dXNlcjpwYXNz");
  });

  it("still strips client X-Auth-* headers on public paths and adds no identity", async () => {
    const origin = recordingOrigin();
    const response = await call(
      "/public/profile",
      { method: "POST", headers: { "X-Auth-User": "admin", "x-auth-session": "s", "X-Auth-Admin": "1", X_Auth_User: "admin" }, body: "hello" },
      publicVars(origin),
    );
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.body).toBe("hello");
    expect(Object.keys(received!.headers).filter((name) => /^x[-_.]auth[-_.]/.test(name))).toEqual([]);
  });
});

describe("gateway: the refresh cookie stays between the browser and the gateway", () => {
  const browserCookies = "theme=dark; __Host-refresh_token=rt1.current; refresh_token=rt1.old; lang=en";

  it.each(["true", "false"])("never shows the origin a refresh cookie the browser sent (REFRESH_COOKIE=%s)", async (refreshCookie) => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const vars = { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public", REFRESH_COOKIE: refreshCookie };
    expect((await call("/api/x", { headers: { ...bearer(access_token), Cookie: browserCookies } }, vars)).status).toBe(200);
    expect((await call("/public/x", { headers: { Cookie: browserCookies } }, vars)).status).toBe(200);
    expect((await call("/public/x", { headers: { Cookie: "__Host-refresh_token=rt1.current" } }, vars)).status).toBe(200);
    const received = await origin.requests();
    expect(received.map((entry) => entry.headers.cookie)).toEqual(["theme=dark; lang=en", "theme=dark; lang=en", undefined]);
  });

  it("removes a refresh cookie whose name has spaces or a tab before =, as the gateway reads it", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const cookie = "theme=dark; __Host-refresh_token =rt1.a;  __Host-refresh_token\t=rt1.b; refresh_token  =rt1.c; lang=en";
    expect((await call("/api/x", { headers: { ...bearer(access_token), Cookie: cookie } }, { ORIGIN_URL: origin.url })).status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers.cookie).toBe("theme=dark; lang=en");
  });

  it("leaves a Cookie header without a refresh cookie exactly as sent", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const cookie = "theme=dark;lang=en; my_refresh_token=kept";
    expect((await call("/api/x", { headers: { ...bearer(access_token), Cookie: cookie } }, { ORIGIN_URL: origin.url })).status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers.cookie).toBe(cookie);
  });

  it.each(["true", "false"])("never lets the origin set or clear the refresh cookie (REFRESH_COOKIE=%s)", async (refreshCookie) => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const fromOrigin = [
      "__Host-refresh_token=planted; Path=/; Secure; HttpOnly",
      "refresh_token=planted; Path=/auth",
      "__Host-refresh_token=; Max-Age=0; Path=/; Secure",
      // A nameless cookie that a browser would send back as `__Host-refresh_token=planted`.
      "=__Host-refresh_token=planted; Path=/",
      "cart=3; Path=/",
    ];
    const response = await call(
      "/api/x",
      { headers: { ...bearer(access_token), "X-Test-Set-Cookie": JSON.stringify(fromOrigin), "X-Test-Status": "201" } },
      { ORIGIN_URL: origin.url, REFRESH_COOKIE: refreshCookie },
    );
    expect(response.status).toBe(201);
    expect(response.headers.getSetCookie()).toEqual(["origin=1; Path=/", "cart=3; Path=/"]);
    expect(response.headers.get("X-Origin")).toBe("test-origin");
    expect(await response.text()).toBe("origin saw GET /api/x");
  });

  it("shows no refresh cookie in the echo origin's forwarded headers", async () => {
    const { access_token } = await session();
    const response = await call("/api/echo", { headers: { ...bearer(access_token), Cookie: browserCookies } });
    const echo = (await response.json()) as { headers: Record<string, string> };
    expect(echo.headers.cookie).toBe("theme=dark; lang=en");
  });
});

describe("gateway: built-in echo origin", () => {
  it("answers 200 with the method, path, query and the headers it would have forwarded when ORIGIN_URL is unset", async () => {
    const { sub, access_token, session_id } = await session();
    const response = await call("/api/echo?a=1&b=two", {
      method: "POST",
      headers: { ...bearer(access_token), "X-Auth-User": "admin", "X-Custom": "kept", "Content-Type": "text/plain" },
      body: "ignored",
    });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as { method: string; path: string; query: Record<string, string>; headers: Record<string, string> };
    expect(echo).toMatchObject({ method: "POST", path: "/api/echo", query: { a: "1", b: "two" } });
    expect(echo.headers["x-auth-user"]).toBe(sub);
    expect(echo.headers["x-auth-session"]).toBe(session_id);
    expect(echo.headers["x-custom"]).toBe("kept");
    expect(echo.headers.authorization).toBe(`Bearer ${access_token}`);
  });

  it("echoes every value of a repeated query key, in order", async () => {
    const { access_token } = await session();
    const response = await call("/api/echo?x=1&y=only&x=3&x=&z=%20a&__proto__=p", { headers: bearer(access_token) });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as { query: Record<string, unknown> };
    expect(Object.entries(echo.query)).toEqual([
      ["x", ["1", "3", ""]],
      ["y", "only"],
      ["z", " a"],
      ["__proto__", "p"],
    ]);
  });

  it("still requires a token in front of the echo origin", async () => {
    const response = await call("/api/echo");
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-auth-gateway"');
  });
});

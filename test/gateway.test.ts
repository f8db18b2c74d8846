// The gateway in front of the origin: what it forwards for a verified request, and the built-in
// echo origin. What it refuses is in gateway-refusals.test.ts, public paths in
// gateway-public-paths.test.ts.
import { describe, expect, it } from "vitest";
import { base64, bearer, call, expectError, recordingOrigin, sessionOfNewUser, TEST_ORIGIN_URL as ORIGIN, type RecordedRequest } from "./helpers";

/** The requests that reached the origin at its root (ORIGIN_URL without base path), by marker. */
async function rootRequests(marker: string): Promise<RecordedRequest[]> {
  const all: RecordedRequest[] = await (await fetch(`${ORIGIN}/__log`)).json();
  return all.filter((entry) => entry.path.includes(marker) || entry.search.includes(marker));
}

describe("gateway: forwarding a verified request to the origin", () => {
  it("forwards method, path and query unchanged and names the caller with X-Auth-User and X-Auth-Session", async () => {
    const origin = recordingOrigin();
    const { sub, access_token, session_id } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
    const marker = crypto.randomUUID();
    const response = await call(`/v1/${marker}/orders?page=2`, { headers: bearer(access_token) }, { ORIGIN_URL: ORIGIN });
    expect(response.status).toBe(200);
    const received = await rootRequests(marker);
    expect(received.map((entry) => `${entry.method} ${entry.path}${entry.search}`)).toEqual([`GET /v1/${marker}/orders?page=2`]);
  });

  it("keeps a path that starts with // on the origin host instead of treating it as another host", async () => {
    const { access_token } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
    for (const method of ["PATCH", "DELETE", "HEAD"]) {
      const response = await call("/api/thing", { method, headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
      expect(response.status).toBe(200);
    }
    expect((await origin.requests()).map((entry) => entry.method)).toEqual(["PATCH", "DELETE", "HEAD"]);
  });

  it("removes every X-Auth-* header the client sent, whatever its case, and sets identity from the token", async () => {
    const origin = recordingOrigin();
    const { sub, access_token, session_id } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
    await call("/api/x", { headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
    const [received] = await origin.requests();
    expect(received!.headers.authorization).toBe(`Bearer ${access_token}`);
  });

  it("removes the Authorization header when FORWARD_AUTHORIZATION is false", async () => {
    const origin = recordingOrigin();
    const { sub, access_token } = await sessionOfNewUser("gw");
    const response = await call("/api/x", { headers: bearer(access_token) }, { ORIGIN_URL: origin.url, FORWARD_AUTHORIZATION: "false" });
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers).not.toHaveProperty("authorization");
    expect(received!.headers["x-auth-user"]).toBe(sub);
  });

  it("passes the origin's status, body and headers back to the client", async () => {
    const origin = recordingOrigin();
    const { access_token } = await sessionOfNewUser("gw");
    const response = await call("/api/teapot", { headers: { ...bearer(access_token), "X-Test-Status": "418" } }, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(418);
    expect(await response.text()).toBe("origin saw GET /api/teapot");
    expect(response.headers.get("X-Origin")).toBe("test-origin");
    expect(response.headers.get("Set-Cookie")).toBe("origin=1; Path=/");
    expect(response.headers.get("Content-Type")).toBe("text/plain");
  });

  it("passes an origin redirect back instead of following it", async () => {
    const origin = recordingOrigin();
    const { access_token } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
    const response = await call("/api/x", { headers: bearer(access_token) }, { ORIGIN_URL: "http://127.0.0.1:1" });
    await expectError(response, 502, "bad_gateway");
  });
});

describe("gateway: built-in echo origin", () => {
  it("answers 200 with the method, path, query and the headers it would have forwarded when ORIGIN_URL is unset", async () => {
    const { sub, access_token, session_id } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
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

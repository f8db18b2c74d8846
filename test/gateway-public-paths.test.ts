// PUBLIC_PATH_PREFIXES: paths the gateway forwards without a token, and what it never lets
// through them.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bearer, call, callAsSent, recordingOrigin, sessionOfNewUser, signedWithTestKey, uniqueSub, type Vars } from "./helpers";

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
    const { sub, access_token, session_id } = await sessionOfNewUser("gw");
    const response = await call("/public/feed", { headers: { ...bearer(access_token), "X-Auth-User": "admin" } }, publicVars(origin));
    expect(response.status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers["x-auth-user"]).toBe(sub);
    expect(received!.headers["x-auth-session"]).toBe(session_id);
    expect(received!.headers.authorization).toBe(`Bearer ${access_token}`);
  });

  it("drops an access token that does not verify on a public path and forwards the request without identity", async () => {
    const origin = recordingOrigin();
    const { access_token } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
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

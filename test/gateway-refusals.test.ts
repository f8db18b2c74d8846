// The gateway refusing requests without a valid token, and keeping the refresh cookie between the
// browser and itself.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bearer, call, recordingOrigin, sessionOfNewUser, signedWithTestKey, uniqueSub } from "./helpers";

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
    const { access_token } = await sessionOfNewUser("gw");
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

describe("gateway: the refresh cookie stays between the browser and the gateway", () => {
  const browserCookies = "theme=dark; __Host-refresh_token=rt1.current; refresh_token=rt1.old; lang=en";

  it.each(["true", "false"])("never shows the origin a refresh cookie the browser sent (REFRESH_COOKIE=%s)", async (refreshCookie) => {
    const origin = recordingOrigin();
    const { access_token } = await sessionOfNewUser("gw");
    const vars = { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public", REFRESH_COOKIE: refreshCookie };
    expect((await call("/api/x", { headers: { ...bearer(access_token), Cookie: browserCookies } }, vars)).status).toBe(200);
    expect((await call("/public/x", { headers: { Cookie: browserCookies } }, vars)).status).toBe(200);
    expect((await call("/public/x", { headers: { Cookie: "__Host-refresh_token=rt1.current" } }, vars)).status).toBe(200);
    const received = await origin.requests();
    expect(received.map((entry) => entry.headers.cookie)).toEqual(["theme=dark; lang=en", "theme=dark; lang=en", undefined]);
  });

  it("removes a refresh cookie whose name has spaces or a tab before =, as the gateway reads it", async () => {
    const origin = recordingOrigin();
    const { access_token } = await sessionOfNewUser("gw");
    const cookie = "theme=dark; __Host-refresh_token =rt1.a;  __Host-refresh_token\t=rt1.b; refresh_token  =rt1.c; lang=en";
    expect((await call("/api/x", { headers: { ...bearer(access_token), Cookie: cookie } }, { ORIGIN_URL: origin.url })).status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers.cookie).toBe("theme=dark; lang=en");
  });

  it("leaves a Cookie header without a refresh cookie exactly as sent", async () => {
    const origin = recordingOrigin();
    const { access_token } = await sessionOfNewUser("gw");
    const cookie = "theme=dark;lang=en; my_refresh_token=kept";
    expect((await call("/api/x", { headers: { ...bearer(access_token), Cookie: cookie } }, { ORIGIN_URL: origin.url })).status).toBe(200);
    const [received] = await origin.requests();
    expect(received!.headers.cookie).toBe(cookie);
  });

  it.each(["true", "false"])("never lets the origin set or clear the refresh cookie (REFRESH_COOKIE=%s)", async (refreshCookie) => {
    const origin = recordingOrigin();
    const { access_token } = await sessionOfNewUser("gw");
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
    const { access_token } = await sessionOfNewUser("gw");
    const response = await call("/api/echo", { headers: { ...bearer(access_token), Cookie: browserCookies } });
    const echo = (await response.json()) as { headers: Record<string, string> };
    expect(echo.headers.cookie).toBe("theme=dark; lang=en");
  });
});

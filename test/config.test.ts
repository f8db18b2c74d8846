import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig, type Config } from "../src/config";
import {
  adminHeaders,
  bearer,
  call,
  expectError,
  openSession,
  postJson,
  publicHalf,
  recordingOrigin,
  refresh,
  TEST_SIGNING_KEYS as testKeys,
  uniqueSub,
  type Vars,
} from "./helpers";

function configOf(vars: Partial<Record<keyof Env, string>>): Config {
  const result = parseConfig(vars as unknown as Env);
  if (!result.ok) throw new Error(`unexpected bad config: ${result.problem}`);
  return result.config;
}

// One bad value per row: the variable, the value, and the variable the 503 must name.
const BAD_VALUES: Array<[keyof Env, string]> = [
  ["ACCESS_TOKEN_TTL_SECONDS", "abc"],
  ["ACCESS_TOKEN_TTL_SECONDS", "0"],
  ["ACCESS_TOKEN_TTL_SECONDS", "1.5"],
  ["REFRESH_IDLE_TTL_SECONDS", "-1"],
  ["SESSION_MAX_TTL_SECONDS", "90 days"],
  ["REFRESH_REUSE_GRACE_SECONDS", "ten"],
  ["CLOCK_SKEW_SECONDS", "1e3"],
  ["REUSE_REVOKES", "everyone"],
  ["FORWARD_AUTHORIZATION", "maybe"],
  ["ALLOW_REGISTRATION", "yes"],
  ["REFRESH_COOKIE", "1"],
  ["DEMO", "on"],
  ["ORIGIN_URL", "not a url"],
  ["ORIGIN_URL", "ftp://files.example.com"],
  ["PUBLIC_PATH_PREFIXES", "/public, docs"],
  ["CLAIMS_HOOK_URL", "claims.example.com/hook"],
  ["CLAIMS_HOOK_URL", "ftp://claims.example.com"],
  ["CLAIMS_TTL_SECONDS", "0"],
  ["CLAIMS_TTL_SECONDS", "five minutes"],
  ["INTROSPECTION_TOKEN", "shorter-than-32-characters"],
  ["ALLOWED_ORIGINS", "app.example.com"],
  ["ALLOWED_ORIGINS", "https://app.example.com, localhost:3000"],
  ["ALLOWED_ORIGINS", "null"],
  ["ALLOWED_ORIGINS", "*"],
  ["ALLOWED_ORIGINS", "https://*.example.com"],
  ["ALLOWED_ORIGINS", "ftp://app.example.com"],
  ["ALLOWED_ORIGINS", "https://app.example.com/app"],
  ["ALLOWED_ORIGINS", "https://app.example.com/?x=1"],
  ["ALLOWED_ORIGINS", "https://app.example.com#top"],
  ["ALLOWED_ORIGINS", "https://user@app.example.com"],
  ["ALLOWED_ORIGINS", "https:app.example.com"],
  ["ALLOWED_ORIGINS", "https://"],
  ["OIDC_PROVIDERS", "{not json"],
  ["OIDC_PROVIDERS", JSON.stringify({ id: "google" })],
  ["OIDC_PROVIDERS", JSON.stringify([{ id: "Google", issuer: "https://accounts.google.com", client_id: "c" }])],
  ["OIDC_PROVIDERS", JSON.stringify([{ id: "x".repeat(33), issuer: "https://accounts.google.com", client_id: "c" }])],
  ["OIDC_PROVIDERS", JSON.stringify([{ id: "google", issuer: "http://accounts.google.com", client_id: "c" }])],
  ["OIDC_PROVIDERS", JSON.stringify([{ id: "google", issuer: "https://accounts.google.com?x=1", client_id: "c" }])],
  ["OIDC_PROVIDERS", JSON.stringify([{ id: "google", issuer: "https://accounts.google.com" }])],
  ["OIDC_PROVIDERS", JSON.stringify([{ id: "a", issuer: "https://a.example", client_id: "c" }, { id: "a", issuer: "https://b.example", client_id: "c" }])],
  ["OIDC_CLIENT_SECRETS", "not json"],
  ["OIDC_CLIENT_SECRETS", JSON.stringify({ "Not An Id": "secret" })],
  ["OIDC_CLIENT_SECRETS", JSON.stringify({ google: 42 })],
  ["OAUTH_CLIENTS", JSON.stringify([{ client_id: "web", redirect_uris: [] }])],
  ["OAUTH_CLIENTS", JSON.stringify([{ client_id: "web", redirect_uris: ["javascript:alert(1)"] }])],
  ["OAUTH_CLIENTS", JSON.stringify([{ client_id: "web", redirect_uris: ["https://app.example.com/cb#x"] }])],
  ["OAUTH_CLIENTS", JSON.stringify([{ client_id: "web", redirect_uris: ["http://app.example.com/cb"] }])],
  ["OAUTH_CLIENTS", JSON.stringify([{ client_id: "web", redirect_uris: ["/callback"] }])],
  ["OAUTH_CLIENTS", JSON.stringify([{ client_id: "web", redirect_uris: ["https://a.example/cb"] }, { client_id: "web", redirect_uris: ["https://b.example/cb"] }])],
  ["OIDC_LINK_RETURN_URL", "not a url"],
  ["ISSUER", "not a url"],
  ["ISSUER", "ftp://auth.example.com"],
  ["ISSUER", "https://auth.example.com/?tenant=1"],
  ["ISSUER", "https://auth.example.com#x"],
  ["SIGNING_KEYS", "{not json"],
  ["SIGNING_KEYS", JSON.stringify({ keys: [publicHalf(testKeys[0]!), testKeys[1]] })],
  ["SIGNING_KEYS", JSON.stringify({ keys: [] })],
  ["SIGNING_KEYS", JSON.stringify({ keys: [{ ...testKeys[0], kid: undefined }] })],
  ["SIGNING_KEYS", JSON.stringify({ keys: [testKeys[0], { ...testKeys[1], kid: "test-es256" }] })],
  ["SIGNING_KEYS", JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0", kid: "hmac", alg: "HS256" }] })],
];

describe("a bad configuration value", () => {
  it.each(BAD_VALUES)("%s=%j makes every request, public paths included, answer 503 naming it", async (name, value) => {
    const origin = recordingOrigin();
    const { access_token, refresh_token } = await openSession(uniqueSub("cfg"));
    // PUBLIC_PATH_PREFIXES is itself one of the bad values: keep "/public" in it either way.
    const vars: Vars = { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public", [name]: value };
    const responses = {
      refresh: await refresh(refresh_token, vars),
      gateway: await call("/api/orders", { headers: bearer(access_token) }, vars),
      public: await call("/public/status", {}, vars),
      jwks: await call("/.well-known/jwks.json", {}, vars),
      admin: await postJson("/auth/admin/sessions", { sub: uniqueSub("cfg") }, adminHeaders, vars),
    };
    for (const [what, response] of Object.entries(responses)) {
      expect(response.status, what).toBe(503);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error, what).toBe("server_misconfigured");
      expect(body.error_description, what).toContain(name);
    }
    expect(await origin.requests()).toEqual([]);
    // Nothing was spent: the refresh token still works once the configuration is fixed.
    expect((await refresh(refresh_token)).status).toBe(200);
  });

  it("answers 503 naming CLAIMS on every request when CLAIMS is a variable instead of a service binding", async () => {
    // Not a variable of Env: an operator who wrote `[vars] CLAIMS = "..."` meant a binding.
    const vars = { CLAIMS: "https://claims.example.com" } as Vars;
    const { refresh_token } = await openSession(uniqueSub("cfg"));
    for (const response of [await refresh(refresh_token, vars), await call("/public/status", {}, { ...vars, PUBLIC_PATH_PREFIXES: "/public" }), await call("/.well-known/jwks.json", {}, vars)]) {
      const description = await expectError(response, 503, "server_misconfigured");
      expect(description).toMatch(/^CLAIMS must be a service binding/);
    }
    expect((await refresh(refresh_token)).status).toBe(200);
  });

  it("never reveals a signing key in the description", async () => {
    const response = await call("/.well-known/jwks.json", {}, { SIGNING_KEYS: JSON.stringify({ keys: [publicHalf(testKeys[0]!)] }).slice(0, -1) });
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(text).not.toContain(testKeys[0]!.x!);
    expect(text).not.toContain(testKeys[0]!.d!);
  });
});

describe("the federation settings", () => {
  it("read providers (openid always in their scope), client secrets and OAuth clients", () => {
    const config = configOf({
      OIDC_PROVIDERS: JSON.stringify([
        { id: "google", issuer: "https://accounts.google.com", client_id: "c1" },
        { id: "local", issuer: "http://127.0.0.1:9400", client_id: "c2", scope: "email" },
      ]),
      OIDC_CLIENT_SECRETS: JSON.stringify({ google: "s" }),
      OAUTH_CLIENTS: JSON.stringify([{ client_id: "web", redirect_uris: ["https://app.example.com/cb", "com.example.app:/cb", "http://localhost:3000/cb"] }]),
    });
    expect(config.federation.providers).toEqual([
      { id: "google", issuer: "https://accounts.google.com", client_id: "c1", scope: "openid email profile" },
      { id: "local", issuer: "http://127.0.0.1:9400", client_id: "c2", scope: "openid email" },
    ]);
    expect(config.federation.clientSecrets).toEqual({ google: "s" });
    expect(config.federation.oauthClients[0]!.redirect_uris).toHaveLength(3);
  });

  it("never repeat a client secret in the 503", async () => {
    const response = await call("/.well-known/jwks.json", {}, { OIDC_CLIENT_SECRETS: JSON.stringify({ google: "GOCSPX-very-secret", Bad: "x" }) });
    expect(response.status).toBe(503);
    expect(await response.text()).not.toContain("GOCSPX");
  });
});

describe("a misconfigured worker's log", () => {
  afterEach(() => vi.restoreAllMocks());

  /** What the worker wrote to console.error that mentions `marker`. */
  function logged(spy: { mock: { calls: unknown[][] } }, marker: string): string[] {
    return spy.mock.calls.map((args) => args.map(String).join(" ")).filter((line) => line.includes(marker));
  }

  it("tells the operator why once, not on every request", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    // A value no other test uses, so this isolate has not seen the problem yet.
    const ttl = `${crypto.randomUUID()}s`;
    const descriptions = new Set<string>();
    for (const path of ["/api/orders", "/public/status", "/.well-known/jwks.json", "/auth/refresh"]) {
      const response = await call(path, { method: "POST" }, { ACCESS_TOKEN_TTL_SECONDS: ttl, PUBLIC_PATH_PREFIXES: "/public" });
      expect(response.status, path).toBe(503);
      descriptions.add(((await response.json()) as { error_description: string }).error_description);
    }
    const [description] = [...descriptions];
    expect(descriptions.size).toBe(1);
    expect(logged(errors, ttl)).toEqual([expect.stringContaining(description!)]);
    expect(logged(errors, ttl)[0]).toContain("ACCESS_TOKEN_TTL_SECONDS");
  });

  it("logs each distinct problem once, a bad signing key set included", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const grace = `${crypto.randomUUID()}s`;
    const kid = crypto.randomUUID();
    const badKeys = JSON.stringify({ keys: [{ ...publicHalf(testKeys[0]!), kid }] });
    for (let round = 0; round < 3; round++) {
      expect((await call("/api/x", {}, { REFRESH_REUSE_GRACE_SECONDS: grace })).status).toBe(503);
      expect((await call("/api/x", {}, { SIGNING_KEYS: badKeys })).status).toBe(503);
    }
    expect(logged(errors, grace)).toEqual([expect.stringContaining("REFRESH_REUSE_GRACE_SECONDS")]);
    expect(logged(errors, kid)).toEqual([expect.stringContaining("SIGNING_KEYS")]);
  });
});

describe("ALLOWED_ORIGINS", () => {
  it("takes full origins, with a port or a trailing slash, and allows exactly those", async () => {
    const vars: Vars = { ALLOWED_ORIGINS: "http://localhost:3000/, https://App.Example.com:8443, https://admin.example.com:443" };
    const preflight = (origin: string) =>
      call("/auth/refresh", { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST" } }, vars);
    for (const origin of ["http://localhost:3000", "https://app.example.com:8443", "https://admin.example.com"]) {
      const response = await preflight(origin);
      expect(response.status, origin).toBe(204);
      expect(response.headers.get("Access-Control-Allow-Origin"), origin).toBe(origin);
    }
    for (const origin of ["https://localhost:3000", "http://localhost:3001", "https://app.example.com", "null"]) {
      expect((await preflight(origin)).headers.get("Access-Control-Allow-Origin"), origin).toBeNull();
    }
  });
});

describe("without SIGNING_KEYS", () => {
  const noKeys: Vars = { SIGNING_KEYS: "" };

  async function expectHowToMakeKeys(response: Response) {
    const description = await expectError(response, 503, "server_misconfigured");
    expect(description).toContain("SIGNING_KEYS");
    expect(description).toContain("npm run keys");
  }

  it("refuses to open a session and says how to make keys", async () => {
    await expectHowToMakeKeys(await postJson("/auth/admin/sessions", { sub: uniqueSub("cfg") }, adminHeaders, noKeys));
  });

  it("refuses to refresh, without spending the refresh token", async () => {
    const { refresh_token } = await openSession(uniqueSub("cfg"));
    await expectHowToMakeKeys(await refresh(refresh_token, noKeys));
    expect((await refresh(refresh_token)).status).toBe(200);
  });

  it("publishes no JWKS and lets no Bearer request through to the origin", async () => {
    const origin = recordingOrigin();
    const { access_token } = await openSession(uniqueSub("cfg"));
    await expectHowToMakeKeys(await call("/.well-known/jwks.json", {}, noKeys));
    await expectHowToMakeKeys(await call("/api/orders", { headers: bearer(access_token) }, { ...noKeys, ORIGIN_URL: origin.url }));
    expect(await origin.requests()).toEqual([]);
  });

  it("still serves public paths", async () => {
    const origin = recordingOrigin();
    const response = await call("/public/status", {}, { ...noKeys, ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public" });
    expect(response.status).toBe(200);
    expect((await origin.requests()).map((entry) => entry.path)).toEqual(["/public/status"]);
  });
});

describe("parseConfig", () => {
  it("applies the documented default of every variable when none is set", () => {
    const config = configOf({});
    expect(config).toMatchObject({
      accessTokenTtlSeconds: 300,
      clockSkewSeconds: 30,
      session: {
        refreshIdleTtlSeconds: 1_209_600,
        sessionMaxTtlSeconds: 7_776_000,
        refreshReuseGraceSeconds: 10,
        reuseRevokes: "user",
      },
      originUrl: null,
      publicPathPrefixes: [],
      forwardAuthorization: true,
      allowRegistration: true,
      refreshCookie: false,
      allowedOrigins: [],
      signingKeys: null,
      adminApiToken: null,
    });
    // "Sensible dev values": the issuer is the local dev server, audience and realm name the gateway.
    expect(config.issuer).toBe("http://127.0.0.1:8787");
    expect(config.audience).toBe("edge-auth-gateway");
    expect(config.realm).toBe("edge-auth-gateway");
  });

  it("treats empty strings as unset", () => {
    const empty = Object.fromEntries(
      ["ACCESS_TOKEN_TTL_SECONDS", "REUSE_REVOKES", "ORIGIN_URL", "FORWARD_AUTHORIZATION", "SIGNING_KEYS", "ADMIN_API_TOKEN", "REALM"].map((name) => [name, ""]),
    );
    expect(configOf(empty)).toEqual(configOf({}));
  });

  it("ships wrangler.toml [vars] that match the documented defaults", () => {
    const fromToml = configOf(env as unknown as Partial<Record<keyof Env, string>>);
    const defaults = configOf({});
    expect({ ...fromToml, signingKeys: null, adminApiToken: null, originSigningSecret: null }).toEqual(defaults);
  });

  it("reads every variable it is given", () => {
    const config = configOf({
      ISSUER: "https://auth.example.com",
      AUDIENCE: "orders-api",
      REALM: "orders",
      ACCESS_TOKEN_TTL_SECONDS: "600",
      REFRESH_IDLE_TTL_SECONDS: "3600",
      SESSION_MAX_TTL_SECONDS: "0",
      REFRESH_REUSE_GRACE_SECONDS: "0",
      REUSE_REVOKES: "session",
      CLOCK_SKEW_SECONDS: "0",
      ORIGIN_URL: "https://api.internal.example.com/v2",
      PUBLIC_PATH_PREFIXES: " /public/ , /docs,/health//",
      FORWARD_AUTHORIZATION: "false",
      ALLOW_REGISTRATION: "FALSE",
      REFRESH_COOKIE: "true",
      ALLOWED_ORIGINS: "https://app.example.com, https://admin.example.com/",
      SIGNING_KEYS: "{}",
      ADMIN_API_TOKEN: "secret",
    });
    expect(config).toMatchObject({
      issuer: "https://auth.example.com",
      audience: "orders-api",
      realm: "orders",
      accessTokenTtlSeconds: 600,
      clockSkewSeconds: 0,
      session: { refreshIdleTtlSeconds: 3600, sessionMaxTtlSeconds: 0, refreshReuseGraceSeconds: 0, reuseRevokes: "session" },
      publicPathPrefixes: ["/public", "/docs", "/health"],
      forwardAuthorization: false,
      allowRegistration: false,
      refreshCookie: true,
      allowedOrigins: ["https://app.example.com", "https://admin.example.com"],
      signingKeys: "{}",
      adminApiToken: "secret",
    });
    expect(config.originUrl?.href).toBe("https://api.internal.example.com/v2");
  });

  it.each(BAD_VALUES.filter(([name]) => name !== "SIGNING_KEYS"))("reports %s=%j as a bad value naming the variable", (name, value) => {
    const result = parseConfig({ [name]: value } as unknown as Env);
    expect(result).toMatchObject({ ok: false, variable: name });
    expect(result.ok === false && result.problem).toContain(name);
  });
});

import { afterEach, describe, expect, it, vi } from "vitest";
import { bearer, call, expectError, openSession, recordingOrigin, uniqueSub, type Vars } from "./helpers";

const APP = "https://app.example.com";
const EVIL = "https://evil.example.net";

function preflight(path: string, origin: string, vars: Vars, method = "GET") {
  return call(path, {
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization, content-type, dpop" },
  }, vars);
}

function corsHeadersOf(response: Response): Record<string, string> {
  return Object.fromEntries([...response.headers].filter(([name]) => name.startsWith("access-control-")));
}

describe("CORS on proxied paths", () => {
  it("answers an allowed origin's preflight itself, with no token, and the origin never sees it", async () => {
    const origin = recordingOrigin();
    const vars = { ALLOWED_ORIGINS: APP, ORIGIN_URL: origin.url };
    for (const [path, method] of [["/api/orders", "GET"], ["/api/orders/7", "PATCH"], ["/", "DELETE"]] as const) {
      const response = await preflight(path, APP, vars, method);
      expect(response.status, path).toBe(204);
      expect(response.headers.get("Access-Control-Allow-Origin")).toBe(APP);
      expect(response.headers.get("Access-Control-Allow-Credentials")).toBe("true");
      expect(response.headers.get("Access-Control-Allow-Methods")).toContain(method);
      expect(response.headers.get("Access-Control-Allow-Headers")).toBe("Authorization, Content-Type, DPoP");
      expect(response.headers.get("Access-Control-Max-Age")).toBe("600");
      expect(response.headers.get("Vary")).toContain("Origin");
      expect(await response.text()).toBe("");
    }
    expect(await origin.requests()).toEqual([]);
  });

  it("answers it the same on a public path and under /auth", async () => {
    const vars = { ALLOWED_ORIGINS: APP, PUBLIC_PATH_PREFIXES: "/public" };
    for (const path of ["/public/status", "/auth/sessions", "/auth/login"]) {
      const response = await preflight(path, APP, vars, "POST");
      expect(response.status, path).toBe(204);
      expect(response.headers.get("Access-Control-Allow-Headers"), path).toBe("Authorization, Content-Type, DPoP");
    }
  });

  it("adds Access-Control-Allow-Origin and Vary: Origin to the proxied response, and replaces the origin's own CORS headers", async () => {
    const origin = recordingOrigin();
    const { access_token } = await openSession(uniqueSub("cors"));
    const response = await call(
      "/api/orders",
      {
        headers: {
          ...bearer(access_token),
          Origin: APP,
          "X-Test-Headers": JSON.stringify({ "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PUT", Vary: "Accept-Encoding" }),
        },
      },
      { ALLOWED_ORIGINS: APP, ORIGIN_URL: origin.url },
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("origin saw GET /api/orders");
    expect(corsHeadersOf(response)).toEqual({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "WWW-Authenticate, Retry-After",
    });
    expect(response.headers.get("Vary")).toBe("Accept-Encoding, Origin");
    const [received] = await origin.requests();
    expect(received!.headers.origin).toBe(APP);
  });

  it("lets an allowed origin's script read the 401 that says the token expired", async () => {
    const response = await call("/api/orders", { headers: { ...bearer("not-a-token"), Origin: APP } }, { ALLOWED_ORIGINS: APP });
    expect(response.status).toBe(401);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(response.headers.get("Access-Control-Expose-Headers")).toContain("WWW-Authenticate");
    expect(response.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
  });

  it("gives another origin no CORS header: its preflight meets the ordinary 401 and never reaches the origin", async () => {
    const origin = recordingOrigin();
    const vars = { ALLOWED_ORIGINS: APP, ORIGIN_URL: origin.url };
    for (const other of [EVIL, "null", `${APP}:8443`, "http://app.example.com"]) {
      const response = await preflight("/api/orders", other, vars);
      await expectError(response, 401, "unauthorized");
      expect(corsHeadersOf(response), other).toEqual({});
      expect(response.headers.get("Vary")).toBe("Origin");
    }
    expect(await origin.requests()).toEqual([]);
  });

  it("removes the origin's CORS headers from what another origin, or a request without Origin, gets", async () => {
    const origin = recordingOrigin();
    const { access_token } = await openSession(uniqueSub("cors"));
    const echoing = JSON.stringify({ "Access-Control-Allow-Origin": EVIL, "Access-Control-Allow-Credentials": "true" });
    for (const headers of [{ Origin: EVIL }, {}] as Record<string, string>[]) {
      const response = await call("/api/x", { headers: { ...bearer(access_token), ...headers, "X-Test-Headers": echoing } }, { ALLOWED_ORIGINS: APP, ORIGIN_URL: origin.url });
      expect(response.status).toBe(200);
      expect(corsHeadersOf(response)).toEqual({});
    }
  });

  it("adds no Vary and no CORS header when ALLOWED_ORIGINS is empty", async () => {
    const response = await preflight("/api/orders", APP, {});
    await expectError(response, 401, "unauthorized");
    expect(corsHeadersOf(response)).toEqual({});
    expect(response.headers.get("Vary")).toBeNull();
  });

  it("forwards a plain OPTIONS request (no Access-Control-Request-Method) from an allowed origin like any other request", async () => {
    const origin = recordingOrigin();
    const vars = { ALLOWED_ORIGINS: APP, ORIGIN_URL: origin.url };
    await expectError(await call("/api/x", { method: "OPTIONS", headers: { Origin: APP } }, vars), 401, "unauthorized");
    const { access_token } = await openSession(uniqueSub("cors"));
    const response = await call("/api/x", { method: "OPTIONS", headers: { ...bearer(access_token), Origin: APP } }, vars);
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect((await origin.requests()).map((entry) => entry.method)).toEqual(["OPTIONS"]);
  });
});

describe("the log of a preflight from an origin not in ALLOWED_ORIGINS", () => {
  afterEach(() => vi.restoreAllMocks());

  /** An origin no other test sends, so this isolate has not logged it yet. */
  const freshOrigin = (label = "page") => `https://${label}-${crypto.randomUUID()}.example`;

  /** The `cors_origin_not_allowed` lines the worker wrote to console.warn. */
  function refusals(spy: { mock: { calls: unknown[][] } }): { event: string; origin: string }[] {
    return spy.mock.calls
      .map((args) => String(args[0]))
      .filter((line) => line.includes('"cors_origin_not_allowed"'))
      .map((line) => JSON.parse(line));
  }

  it("names the origin once per isolate, however many preflights it sends, with the list empty or not", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const [listedElsewhere, noList] = [freshOrigin(), freshOrigin()];
    const responses = await Promise.all([
      ...Array.from({ length: 5 }, () => preflight("/api/orders", listedElsewhere, { ALLOWED_ORIGINS: APP })),
      ...Array.from({ length: 5 }, () => preflight("/auth/login", noList, {}, "POST")),
    ]);
    // A proxied path needs a token; /auth/login takes only POST.
    expect(responses.map((response) => response.status)).toEqual([...Array(5).fill(401), ...Array(5).fill(405)]);
    expect(refusals(warnings)).toEqual([
      { event: "cors_origin_not_allowed", origin: listedElsewhere },
      { event: "cors_origin_not_allowed", origin: noList },
    ]);
  });

  it("logs nothing for an allowed origin's preflight, or for a request that is no preflight", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const other = freshOrigin();
    expect((await preflight("/api/orders", APP, { ALLOWED_ORIGINS: APP })).status).toBe(204);
    await expectError(await call("/api/orders", { headers: { Origin: other } }, { ALLOWED_ORIGINS: APP }), 401, "unauthorized");
    await expectError(await call("/api/orders", { method: "OPTIONS", headers: { Origin: other } }, { ALLOWED_ORIGINS: APP }), 401, "unauthorized");
    expect(refusals(warnings)).toEqual([]);
  });

  it("cuts a long origin short in the line, and logs it once", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const long = freshOrigin("x".repeat(4_000));
    for (let round = 0; round < 3; round++) await expectError(await preflight("/api/orders", long, {}), 401, "unauthorized");
    const lines = refusals(warnings);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.origin).toBe(`${long.slice(0, 128)}...`);
  });

  it("remembers a bounded number of origins: after 64 others, the first one is logged again", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const first = freshOrigin("first");
    await preflight("/api/orders", first, {});
    for (let index = 0; index < 64; index++) await preflight("/api/orders", freshOrigin(`other${index}`), {});
    await preflight("/api/orders", first, {});
    const origins = refusals(warnings).map((line) => line.origin);
    expect(origins).toHaveLength(66);
    expect(origins.filter((origin) => origin === first)).toHaveLength(2);
  });
});

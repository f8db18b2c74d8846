// What the origin is told besides the request itself: no header it might route on instead of the
// path or method, no client claim about the client's address, and X-Forwarded-* as the gateway saw
// the request. Checked at the real recording origin (test/origin-server.mjs) and the echo origin.
import { describe, expect, it } from "vitest";
import { bearer, call, openSession, recordingOrigin, uniqueSub, type RecordedRequest } from "./helpers";

/** Every header the contract removes, each with a value an origin would act on. */
const ROUTING_AND_ADDRESS_HEADERS: Record<string, string> = {
  "X-Original-URL": "/admin",
  "X-Rewrite-URL": "/admin",
  "X-Override-URL": "/admin",
  "X-Envoy-Original-Path": "/admin",
  "X-Forwarded-Prefix": "/admin",
  "X-Forwarded-Uri": "/admin",
  "X-HTTP-Method-Override": "DELETE",
  "X-HTTP-Method": "DELETE",
  "X-Method-Override": "DELETE",
  Forwarded: "for=10.0.0.1;host=internal.example;proto=https",
  "X-Real-IP": "10.0.0.1",
  "True-Client-IP": "10.0.0.1",
  "Proxy-Authorization": "Basic YWRtaW46YWRtaW4=",
};

/** The same names with `_` or `.` for `-`, which CGI-style origins read as the real header. */
const LOOKALIKES: Record<string, string> = {
  X_Original_URL: "/admin",
  "X.Override.URL": "/admin",
  X_Envoy_Original_Path: "/admin",
  "X-Forwarded_Prefix": "/admin",
  "X.Forwarded.Uri": "/admin",
  X_HTTP_Method_Override: "DELETE",
  "X.HTTP.Method": "DELETE",
  X_Method_Override: "DELETE",
  X_Real_IP: "10.0.0.1",
  "True.Client.IP": "10.0.0.1",
  Proxy_Authorization: "Basic YWRtaW46YWRtaW4=",
  X_Forwarded_For: "10.0.0.1",
  "X.Forwarded.Host": "internal.example",
  X_Forwarded_Proto: "https",
};

const CLIENT_FORWARDING_CLAIMS = { "X-Forwarded-For": "10.0.0.1, 10.0.0.2", "X-Forwarded-Host": "internal.example", "X-Forwarded-Proto": "https" };

const REMOVED_NAMES = [...Object.keys(ROUTING_AND_ADDRESS_HEADERS), ...Object.keys(LOOKALIKES)].map((name) => name.toLowerCase());

/** Of what reached the origin: any header the contract removes, and X-Forwarded-* as they arrived. */
function routingAndForwarding(received: RecordedRequest) {
  const headers = received.headers;
  return {
    removed: REMOVED_NAMES.filter((name) => name in headers),
    forwarded: Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith("x-forwarded-"))),
  };
}

describe("gateway: routing, method-override and client-address headers", () => {
  it("removes every one of them and their lookalikes, with a token and on a public path", async () => {
    const origin = recordingOrigin();
    const { access_token } = await openSession(uniqueSub("fwd"));
    const vars = { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public" };
    const sent = { ...ROUTING_AND_ADDRESS_HEADERS, ...LOOKALIKES, ...CLIENT_FORWARDING_CLAIMS, "CF-Connecting-IP": "203.0.113.7" };
    expect((await call("/api/items", { method: "POST", headers: { ...bearer(access_token), ...sent }, body: "x" }, vars)).status).toBe(200);
    expect((await call("/public/items", { headers: sent }, vars)).status).toBe(200);

    const received = await origin.requests();
    expect(received.map((entry) => `${entry.method} ${entry.path}`)).toEqual(["POST /api/items", "GET /public/items"]);
    for (const entry of received) {
      expect(routingAndForwarding(entry), entry.path).toEqual({
        removed: [],
        forwarded: { "x-forwarded-for": "203.0.113.7", "x-forwarded-host": "gateway.test", "x-forwarded-proto": "http" },
      });
    }
  });

  it("sets X-Forwarded-For to the one address the gateway saw, dropping the client's list instead of appending to it", async () => {
    const origin = recordingOrigin();
    await call("/public/x", { headers: { "CF-Connecting-IP": "2001:db8::1", "X-Forwarded-For": "198.51.100.1" } }, { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public" });
    const [received] = await origin.requests();
    expect(received!.headers["x-forwarded-for"]).toBe("2001:db8::1");
  });

  it("sends no X-Forwarded-For when the gateway saw no address, whatever the client claimed", async () => {
    const origin = recordingOrigin();
    await call("/public/x", { headers: { "X-Forwarded-For": "198.51.100.1", "X-Real-IP": "198.51.100.1" } }, { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public" });
    const [received] = await origin.requests();
    expect(routingAndForwarding(received!)).toEqual({ removed: [], forwarded: { "x-forwarded-host": "gateway.test", "x-forwarded-proto": "http" } });
  });

  it("names the scheme and host of the request the client made, port included, not the origin's", async () => {
    const origin = recordingOrigin();
    const vars = { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public" };
    await call("https://api.example.com/public/x", { headers: { "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example" } }, vars);
    await call("http://localhost:8787/public/y", {}, vars);
    const received = await origin.requests();
    expect(received.map((entry) => [entry.headers["x-forwarded-proto"], entry.headers["x-forwarded-host"]])).toEqual([
      ["https", "api.example.com"],
      ["http", "localhost:8787"],
    ]);
  });

  it("shows the same headers at the echo origin", async () => {
    const { access_token } = await openSession(uniqueSub("fwd-echo"));
    const response = await call("/api/echo", { headers: { ...bearer(access_token), ...ROUTING_AND_ADDRESS_HEADERS, ...LOOKALIKES, ...CLIENT_FORWARDING_CLAIMS, "CF-Connecting-IP": "203.0.113.9" } });
    expect(response.status).toBe(200);
    const echo = (await response.json()) as { headers: Record<string, string> };
    expect(routingAndForwarding({ headers: echo.headers } as RecordedRequest)).toEqual({
      removed: [],
      forwarded: { "x-forwarded-for": "203.0.113.9", "x-forwarded-host": "gateway.test", "x-forwarded-proto": "http" },
    });
  });
});

describe("gateway: /.well-known", () => {
  it("serves jwks.json and oauth-authorization-server itself, with ORIGIN_URL set and no token", async () => {
    const origin = recordingOrigin();
    const jwks = await call("/.well-known/jwks.json", {}, { ORIGIN_URL: origin.url });
    expect(jwks.status).toBe(200);
    expect(((await jwks.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    const metadata = await call("/.well-known/oauth-authorization-server", {}, { ORIGIN_URL: origin.url });
    expect(metadata.status).toBe(200);
    expect(await metadata.json()).toHaveProperty("token_endpoint");
    expect(await origin.requests()).toEqual([]);
  });

  const ORIGIN_PATHS = ["/.well-known/openid-configuration", "/.well-known/security.txt", "/.well-known/jwks.json/", "/.well-known/JWKS.json", "/.well-known/oauth-authorization-server/tenant", "/.well-known/", "/.well-known"];

  it.each(ORIGIN_PATHS)("treats %s as an ordinary gateway path: 401 without a token, the origin sees nothing", async (path) => {
    const origin = recordingOrigin();
    const response = await call(path, {}, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-auth-gateway"');
    expect(await origin.requests()).toEqual([]);
  });

  it.each(ORIGIN_PATHS)("forwards %s to the origin with a valid token and the caller's identity", async (path) => {
    const origin = recordingOrigin();
    const sub = uniqueSub("well-known");
    const { access_token } = await openSession(sub);
    const response = await call(path, { headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`origin saw GET ${path}`);
    const received = await origin.requests();
    expect(received.map((entry) => [entry.path, entry.headers["x-auth-user"]])).toEqual([[path, sub]]);
  });

  it("forwards a method other than GET on the two documents to the origin like any other request", async () => {
    const origin = recordingOrigin();
    const { access_token } = await openSession(uniqueSub("well-known-post"));
    expect((await call("/.well-known/jwks.json", { method: "POST", body: "{}" }, { ORIGIN_URL: origin.url })).status).toBe(401);
    expect((await call("/.well-known/jwks.json", { method: "POST", headers: bearer(access_token), body: "{}" }, { ORIGIN_URL: origin.url })).status).toBe(200);
    expect((await origin.requests()).map((entry) => `${entry.method} ${entry.path}`)).toEqual(["POST /.well-known/jwks.json"]);
  });
});

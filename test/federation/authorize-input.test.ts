import { describe, expect, it } from "vitest";
import { appRequest, ISSUER, parametersOf, toWorker } from "./flow";
import { LOCAL_CONFIDENTIAL, LOOPBACK, MOBILE, SPA } from "./settings";

// GET /auth/authorize with every parameter missing, repeated, oversized or malformed. Until the
// client and an exactly registered redirect URI are known: 400 JSON invalid_request, never a
// redirect (RFC 6749 section 4.1.2.1). After: 302 to that redirect URI with the error, the app's
// state and the gateway's iss. Never a 500, never a redirect anywhere else, no transaction cookie.

const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const GOOD: Array<[string, string]> = [
  ["response_type", "code"],
  ["client_id", SPA.clientId],
  ["redirect_uri", SPA.redirectUri],
  ["code_challenge", CHALLENGE],
  ["code_challenge_method", "S256"],
  ["state", "app-state"],
  ["provider", LOCAL_CONFIDENTIAL.id],
];

/** GET /auth/authorize with the good request changed: `name` removed, set, or sent twice. */
function authorize(change: { without?: string; set?: Record<string, string>; twice?: string } = {}) {
  const query = new URLSearchParams(GOOD.filter(([name]) => name !== change.without && !(change.set && name in change.set)));
  for (const [name, value] of Object.entries(change.set ?? {})) query.append(name, value);
  if (change.twice) query.append(change.twice, change.set?.[change.twice] ?? GOOD.find(([name]) => name === change.twice)![1]);
  return toWorker(`${ISSUER}/auth/authorize?${query}`, { redirect: "manual" });
}

async function expectJsonRefusal(response: Response) {
  expect(response.status).toBe(400);
  expect(response.headers.get("Location")).toBeNull();
  expect(response.headers.getSetCookie()).toEqual([]);
  expect(await response.json()).toEqual({ error: "invalid_request", error_description: expect.any(String) });
}

function expectRedirectError(response: Response, error: string, state: string | null = "app-state") {
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get("Location")!);
  expect(location.origin + location.pathname).toBe(SPA.redirectUri);
  const parameters = parametersOf(location);
  expect(parameters).toEqual({ error, error_description: expect.any(String), iss: ISSUER, ...(state === null ? {} : { state }) });
  expect(response.headers.getSetCookie()).toEqual([]);
}

describe("GET /auth/authorize before the client and redirect URI are known", () => {
  it("control: the good request goes to the provider, with the transaction cookie", async () => {
    const response = await authorize();
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth\?/);
    expect(response.headers.getSetCookie()[0]).toMatch(/^__Host-oidc_transaction=t1\..+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
  });

  it.each([
    ["client_id missing", { without: "client_id" }],
    ["client_id twice", { twice: "client_id" }],
    ["client_id unknown", { set: { client_id: "not-registered" } }],
    ["client_id oversized", { set: { client_id: "x".repeat(10_000) } }],
    ["client_id empty", { set: { client_id: "" } }],
    ["redirect_uri missing", { without: "redirect_uri" }],
    ["redirect_uri twice", { twice: "redirect_uri" }],
    ["redirect_uri unregistered", { set: { redirect_uri: "https://attacker.example/callback" } }],
    ["redirect_uri of another client", { set: { redirect_uri: MOBILE.redirectUri } }],
    ["redirect_uri with a trailing slash", { set: { redirect_uri: `${SPA.redirectUri}/` } }],
    ["redirect_uri in another case", { set: { redirect_uri: SPA.redirectUri.replace("callback", "Callback") } }],
    ["redirect_uri with the host in another case", { set: { redirect_uri: SPA.redirectUri.replace("app.example.test", "APP.example.test") } }],
    ["redirect_uri with a port", { set: { redirect_uri: SPA.redirectUri.replace("app.example.test", "app.example.test:443") } }],
    ["redirect_uri with a query", { set: { redirect_uri: `${SPA.redirectUri}?next=/admin` } }],
    ["redirect_uri with a fragment", { set: { redirect_uri: `${SPA.redirectUri}#x` } }],
    ["redirect_uri oversized", { set: { redirect_uri: `${SPA.redirectUri}?${"x".repeat(10_000)}` } }],
    ["redirect_uri not a URL", { set: { redirect_uri: "not a url" } }],
  ])("refuses %s with 400 JSON, no redirect", async (_what, change) => {
    await expectJsonRefusal(await authorize(change));
  });

  it("compares a registered redirect URI with a query exactly, port and query included", async () => {
    const app = await appRequest(LOCAL_CONFIDENTIAL.id, { client: LOOPBACK });
    expect((await toWorker(app.url, { redirect: "manual" })).status).toBe(302);
    for (const look of [LOOPBACK.redirectUri.replace("53682", "53683"), LOOPBACK.redirectUri.replace("?from=cli", ""), `${LOOPBACK.redirectUri}&x=1`]) {
      const url = new URL(app.url);
      url.searchParams.set("redirect_uri", look);
      await expectJsonRefusal(await toWorker(url.href, { redirect: "manual" }));
    }
  });
});

describe("GET /auth/authorize once the client and redirect URI are known", () => {
  it.each([
    ["response_type missing", "invalid_request", { without: "response_type" }],
    ["response_type twice", "invalid_request", { twice: "response_type" }],
    ["response_type token", "unsupported_response_type", { set: { response_type: "token" } }],
    ["response_type code id_token", "unsupported_response_type", { set: { response_type: "code id_token" } }],
    ["code_challenge missing", "invalid_request", { without: "code_challenge" }],
    ["code_challenge twice", "invalid_request", { twice: "code_challenge" }],
    ["code_challenge too short", "invalid_request", { set: { code_challenge: CHALLENGE.slice(1) } }],
    ["code_challenge oversized", "invalid_request", { set: { code_challenge: "A".repeat(5_000) } }],
    ["code_challenge not base64url", "invalid_request", { set: { code_challenge: `${CHALLENGE.slice(1)}+` } }],
    ["code_challenge_method missing", "invalid_request", { without: "code_challenge_method" }],
    ["code_challenge_method plain", "invalid_request", { set: { code_challenge_method: "plain" } }],
    ["code_challenge_method twice", "invalid_request", { twice: "code_challenge_method" }],
    ["provider twice", "invalid_request", { twice: "provider" }],
    ["provider unknown", "invalid_request", { set: { provider: "nope" } }],
    ["provider malformed", "invalid_request", { set: { provider: "Local/../x" } }],
    ["provider oversized", "invalid_request", { set: { provider: "p".repeat(5_000) } }],
    ["scope malformed", "invalid_scope", { set: { scope: 'openid "email"' } }],
    ["scope oversized", "invalid_scope", { set: { scope: "s".repeat(5_000) } }],
    ["scope twice", "invalid_request", { set: { scope: "openid" }, twice: "scope" }],
  ] as const)("redirects %s with error=%s and the app's state", async (_what, error, change) => {
    expectRedirectError(await authorize(change as Parameters<typeof authorize>[0]), error);
  });

  it("accepts a well-formed scope and ignores it", async () => {
    expect((await authorize({ set: { scope: "openid profile offline_access" } })).status).toBe(302);
  });

  it("returns no state for a malformed, oversized or repeated one, and says so", async () => {
    expectRedirectError(await authorize({ twice: "state" }), "invalid_request", null);
    expectRedirectError(await authorize({ set: { state: "x".repeat(1025) } }), "invalid_request", null);
    expectRedirectError(await authorize({ set: { state: "line\nbreak" } }), "invalid_request", null);
    expect((await authorize({ set: { state: "x".repeat(1024) } })).status).toBe(302);
  });

  it("keeps a registered redirect URI's own query when it adds the error", async () => {
    const app = await appRequest(LOCAL_CONFIDENTIAL.id, { client: LOOPBACK, extra: { code_challenge_method: "plain" } });
    const response = await toWorker(app.url, { redirect: "manual" });
    const location = new URL(response.headers.get("Location")!);
    expect(location.origin + location.pathname).toBe("http://127.0.0.1:53682/callback");
    expect(location.searchParams.get("from")).toBe("cli");
    expect(location.searchParams.get("error")).toBe("invalid_request");
  });

  it("answers the methods it does not serve with 405", async () => {
    const response = await toWorker(`${ISSUER}/auth/authorize`, { method: "POST" });
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("GET, HEAD");
  });
});

import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../src/http/body";
import { adminHeaders, call, expectError, expectInvalidGrant, openSession, streamed, uniqueSub } from "./helpers";

/** An error answer the contract names: status and `error` code. */
type Answer = readonly [status: number, error: string];

/**
 * The routes that read a body, each with headers it needs, a body with a field of the wrong type,
 * and its answer to a well-formed body without the fields it needs (`{}`, or a username and a
 * password of 16,332 characters): 400 `invalid_request` naming the field, or on logout, which
 * takes a Bearer token instead of a refresh token, 401 `unauthorized` (no token at all).
 */
const ROUTES: Array<{ path: string; headers: Record<string, string>; wrongType: unknown[]; withoutFields: Answer }> = [
  { path: "/auth/register", headers: {}, wrongType: [{ username: 12345, password: "long enough" }, { username: "someone", password: 12345678 }], withoutFields: [400, "invalid_request"] },
  { path: "/auth/login", headers: {}, wrongType: [{ username: ["someone"], password: "x" }, { username: "someone", password: true }], withoutFields: [400, "invalid_request"] },
  { path: "/auth/refresh", headers: {}, wrongType: [{ refresh_token: 5 }, { refresh_token: { token: "x" } }], withoutFields: [400, "invalid_request"] },
  { path: "/auth/logout", headers: {}, wrongType: [{ refresh_token: [] }, { refresh_token: false }], withoutFields: [401, "unauthorized"] },
  { path: "/auth/admin/sessions", headers: adminHeaders, wrongType: [{ sub: 1 }, { sub: "x", claims: "role=admin" }], withoutFields: [400, "invalid_request"] },
];

const routes = ROUTES.map((route) => [route.path, route] as const);

/** A JSON object of exactly `bytes` bytes. */
function jsonOfSize(bytes: number): string {
  const shell = JSON.stringify({ username: "someone", password: "" });
  return JSON.stringify({ username: "someone", password: "p".repeat(bytes - shell.length) });
}

function send(path: string, init: { headers?: Record<string, string>; body?: BodyInit }, extra: Record<string, string> = {}) {
  return call(path, { method: "POST", ...init, headers: { ...init.headers, ...extra } });
}

describe.each(routes)("%s", (path, route) => {
  const json = { ...route.headers, "Content-Type": "application/json" };

  it("answers 413 request_too_large to a body of 16,385 bytes with a Content-Length", async () => {
    const body = jsonOfSize(MAX_BODY_BYTES + 1);
    expect(new TextEncoder().encode(body).byteLength).toBe(16_385);
    await expectError(await send(path, { headers: json, body }), 413, "request_too_large");
  });

  it("answers 413 request_too_large to a streamed body of 16,385 bytes without a Content-Length", async () => {
    const init = { method: "POST", headers: json, body: streamed(jsonOfSize(MAX_BODY_BYTES + 1)) };
    expect(new Request(`http://gateway.test${path}`, { ...init, body: streamed("{}") }).headers.get("Content-Length")).toBeNull();
    await expectError(await call(path, init), 413, "request_too_large");
  });

  it("reads a body of exactly 16,384 bytes (streamed too) instead of refusing it as too large", async () => {
    for (const body of [jsonOfSize(MAX_BODY_BYTES), streamed(jsonOfSize(MAX_BODY_BYTES))]) {
      await expectError(await send(path, { headers: json, body }), ...route.withoutFields);
    }
  });

  it("checks size before media type: 16,385 bytes of text/plain is 413", async () => {
    const body = "x".repeat(MAX_BODY_BYTES + 1);
    await expectError(await send(path, { headers: { ...route.headers, "Content-Type": "text/plain" }, body }), 413, "request_too_large");
  });

  it.each([["text/plain"], ["application/xml"], ["multipart/form-data; boundary=x"], ["application/jsonp"]])(
    "answers 415 unsupported_media_type to %s, even when the body is not valid JSON",
    async (type) => {
      const response = await send(path, { headers: { ...route.headers, "Content-Type": type }, body: "{not json" });
      await expectError(response, 415, "unsupported_media_type");
    },
  );

  it("answers 415 to a body sent without a Content-Type", async () => {
    const response = await send(path, { headers: route.headers, body: new TextEncoder().encode('{"a":1}') });
    await expectError(response, 415, "unsupported_media_type");
  });

  it.each([["{not json"], ['{"refresh_token": "x"'], [""], ["\u0000"], ["{}}"]])(
    "answers 400 invalid_request to malformed JSON %j",
    async (body) => {
      await expectError(await send(path, { headers: json, body }), 400, "invalid_request");
    },
  );

  it.each([["[]"], ['["a","b"]'], ["42"], ["null"], ['"a string"'], ["true"]])("answers 400 invalid_request to the JSON body %s", async (body) => {
    await expectError(await send(path, { headers: json, body }), 400, "invalid_request");
  });

  it("answers 400 invalid_request to fields of the wrong type", async () => {
    for (const body of route.wrongType) {
      await expectError(await send(path, { headers: json, body: JSON.stringify(body) }), 400, "invalid_request");
    }
  });

  it("names the field of the wrong type in the description, in the gateway's words rather than the validator's", async () => {
    for (const body of route.wrongType) {
      const response = await send(path, { headers: json, body: JSON.stringify(body) });
      const { error_description } = (await response.json()) as { error_description: string };
      const fields = Object.keys(body as object);
      expect(fields.some((field) => error_description.startsWith(`${field} must `)), error_description).toBe(true);
      expect(error_description).not.toMatch(/invalid input|expected|received/i);
    }
  });

  it("accepts a JSON Content-Type with parameters and any case", async () => {
    for (const type of ["application/json; charset=utf-8", "Application/JSON"]) {
      const response = await send(path, { headers: { ...route.headers, "Content-Type": type }, body: "[]" });
      await expectError(response, 400, "invalid_request");
    }
  });

  it("never answers 500 to huge header values", async () => {
    const huge = "a".repeat(64 * 1024);
    for (const [name, value] of [
      ["Authorization", `Bearer ${huge}`],
      ["Authorization", huge],
      ["Cookie", `refresh_token=${huge}`],
      ["Cookie", huge],
      ["Origin", `https://${huge}.example`],
      ["User-Agent", huge],
      ["CF-Connecting-IP", huge],
      ["Content-Type", `application/json; ${huge}`],
      ["X-Auth-User", huge],
    ] as const) {
      const response = await send(path, { headers: json, body: "{}" }, { [name]: value });
      expect(response.headers.get("Content-Type") ?? "").not.toContain("text/html");
      // The header changes nothing, but for a Bearer token where logout takes one: it did not issue it.
      const answer = path === "/auth/logout" && value.startsWith("Bearer ") ? ([401, "invalid_token"] as const) : route.withoutFields;
      await expectError(response, ...answer);
    }
  });
});

describe("malformed input elsewhere", () => {
  it("takes a form-encoded body on /auth/refresh only (RFC 6749 section 6)", async () => {
    const form = { "Content-Type": "application/x-www-form-urlencoded" };
    await expectInvalidGrant(await send("/auth/refresh", { headers: form, body: "grant_type=refresh_token&refresh_token=rt1.bad" }));
    const wrongGrant = await send("/auth/refresh", { headers: form, body: "grant_type=password&refresh_token=x" });
    expect(await wrongGrant.json()).toEqual({ error: "invalid_request", error_description: "grant_type must be refresh_token" });
    const twoTokens = await send("/auth/refresh", { headers: form, body: "refresh_token=a&refresh_token=b" });
    expect(await twoTokens.json()).toEqual({ error: "invalid_request", error_description: "refresh_token must be a single string" });
    await expectError(await send("/auth/login", { headers: form, body: "username=someone&password=whatever" }), 415, "unsupported_media_type");
    await expectError(await send("/auth/register", { headers: form, body: "username=someone&password=whatever" }), 415, "unsupported_media_type");
  });

  it("answers 413 on a Bearer-authenticated route as well, before looking at the token", async () => {
    const pair = await openSession(uniqueSub());
    const response = await send("/auth/logout", {
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${pair.access_token}` },
      body: jsonOfSize(MAX_BODY_BYTES + 1),
    });
    await expectError(response, 413, "request_too_large");
  });

  it("never answers 500 to huge headers on the gateway and the public routes", async () => {
    const huge = "a".repeat(64 * 1024);
    const headerSets: Array<Record<string, string>> = [{ Authorization: `Bearer ${huge}` }, { Cookie: huge }, { "X-Auth-User": huge }];
    // Behind a Bearer check: a token it did not issue, or none at all (a cookie and X-Auth-User are not tokens).
    for (const path of ["/api/x", "/auth/sessions"]) {
      const [bearerToken, ...others] = headerSets;
      await expectError(await call(path, { headers: bearerToken }), 401, "invalid_token");
      for (const headers of others) await expectError(await call(path, { headers }), 401, "unauthorized");
    }
    for (const headers of headerSets) {
      expect((await call("/.well-known/jwks.json", { headers })).status).toBe(200);
      await expectError(await call("/auth/nope", { headers }), 404, "not_found");
    }
  });
});

describe("order of checks on the admin routes", () => {
  it("checks the body (415, 400) before the admin token (401), as the contract orders them", async () => {
    await expectError(await send("/auth/admin/sessions", { headers: { "Content-Type": "text/plain" }, body: "sub=x" }), 415, "unsupported_media_type");
    await expectError(await send("/auth/admin/sessions", { headers: { "Content-Type": "application/json" }, body: "{" }), 400, "invalid_request");
    await expectError(await send("/auth/admin/sessions", { headers: { "Content-Type": "application/json" }, body: '{"sub":"x"}' }), 401, "unauthorized");
  });
});

describe("routes that take no fields", () => {
  it("still answer 415 to a body that is not JSON and 400 to malformed JSON, before authentication", async () => {
    const pair = await openSession(uniqueSub());
    const requests: Array<[string, string, Record<string, string>]> = [
      ["POST", "/auth/logout-all", { Authorization: `Bearer ${pair.access_token}` }],
      ["DELETE", `/auth/sessions/${pair.session_id}`, { Authorization: `Bearer ${pair.access_token}` }],
      ["POST", `/auth/admin/users/${uniqueSub()}/revoke`, adminHeaders],
      ["POST", "/auth/logout-all", {}],
    ];
    for (const [method, path, headers] of requests) {
      const notJson = await call(path, { method, headers: { ...headers, "Content-Type": "text/plain" }, body: "hello" });
      await expectError(notJson, 415, "unsupported_media_type");
      const malformed = await call(path, { method, headers: { ...headers, "Content-Type": "application/json" }, body: "{bad" });
      await expectError(malformed, 400, "invalid_request");
    }
    // Nothing above was carried out: the session still refreshes.
    expect((await call("/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: pair.refresh_token }) })).status).toBe(200);
  });

  it("accept an empty body or an empty JSON object", async () => {
    const pair = await openSession(uniqueSub());
    const json = { Authorization: `Bearer ${pair.access_token}`, "Content-Type": "application/json" };
    expect((await call("/auth/logout-all", { method: "POST", headers: json, body: "{}" })).status).toBe(204);
    expect((await call("/auth/logout-all", { method: "POST", headers: { Authorization: `Bearer ${pair.access_token}` } })).status).toBe(204);
  });
});

describe("over-long tokens", () => {
  it("answers a refresh token of 2,000 characters as a token it did not issue: invalid_grant, and 401 on logout", async () => {
    const long = "a".repeat(2000);
    await expectInvalidGrant(await send("/auth/refresh", { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: long }) }));
    await expectError(await send("/auth/logout", { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: long }) }), 401, "invalid_token");
  });
});

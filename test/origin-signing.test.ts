// Signed identity: with ORIGIN_SIGNING_SECRET (bound in every workerd project, see
// vitest.config.ts) every forwarded request carries X-Auth-Timestamp and X-Auth-Signature, the
// HMAC-SHA256 of exactly the contract's string. The recording origin (test/origin-server.mjs)
// checks each one with the origin SDK over the path and query it received; here the string is
// also rebuilt by hand, the SDK runs inside workerd, and examples/verify_gateway.py checks it too.
import { afterEach, describe, expect, it, vi } from "vitest";
import { GatewayVerificationError, verifyGatewayRequest } from "../src/origin/index";
import {
  bearer,
  call,
  callAsSent,
  expectError,
  openSession,
  recordingOrigin,
  TEST_ORIGIN_SIGNING_SECRET as SECRET,
  TEST_ORIGIN_URL,
  uniqueSub,
  type RecordedRequest,
} from "./helpers";

const utf8 = new TextEncoder();

/** HMAC-SHA256 of `message` under `secret`, base64url without padding: written out here, not taken from src/. */
async function hmac(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(message)));
  return btoa(String.fromCharCode(...mac)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The request-target the recording origin received: its scope's base path, then the path and query. */
function targetOf(origin: { url: string }, entry: RecordedRequest): string {
  return `${new URL(origin.url).pathname}${entry.path}${entry.search}`;
}

/** The recorded request as a Fetch `Request` again, with the gateway's two headers, for the SDK. */
function asRequest(entry: RecordedRequest, target: string): Request {
  const headers = new Headers(entry.headers);
  headers.set("X-Auth-Timestamp", entry.signature.timestamp!);
  headers.set("X-Auth-Signature", entry.signature.value!);
  return new Request(`${TEST_ORIGIN_URL}${target}`, { method: entry.method, headers });
}

async function session() {
  const sub = uniqueSub("sig");
  return { sub, ...(await openSession(sub)) };
}

const GOOD = "a-second-secret-for-rotation-tests-000000";

describe("gateway: signed identity (ORIGIN_SIGNING_SECRET)", () => {
  afterEach(() => vi.restoreAllMocks());

  it("signs exactly v1, timestamp, method, path with query as forwarded, user and session, one per line", async () => {
    const origin = recordingOrigin();
    const { sub, access_token, session_id } = await session();
    const before = Math.floor(Date.now() / 1000);
    const response = await call("/api/orders?page=2&sort=-date", { method: "DELETE", headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(200);
    const [entry] = await origin.requests();
    const { timestamp, value } = entry!.signature;
    expect(timestamp).toMatch(/^\d+$/);
    expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
    expect(Number(timestamp)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    const target = `${new URL(origin.url).pathname}/api/orders?page=2&sort=-date`;
    expect(value).toBe(`v1=${await hmac(SECRET, `v1\n${timestamp}\nDELETE\n${target}\n${sub}\n${session_id}`)}`);
    expect(entry!.signature.outcome).toEqual({ user: sub, session: session_id });
  });

  it("signs a public path without a token too, with an empty user and session", async () => {
    const origin = recordingOrigin();
    const response = await call("/public/feed?x=1", { method: "POST", body: "hello" }, { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public" });
    expect(response.status).toBe(200);
    const [entry] = await origin.requests();
    const { timestamp, value, outcome } = entry!.signature;
    expect(value).toBe(`v1=${await hmac(SECRET, `v1\n${timestamp}\nPOST\n${targetOf(origin, entry!)}\n\n`)}`);
    expect(outcome).toEqual({ user: null, session: null });
  });

  // Each is forwarded as the runtime serialises it, and checked by the origin over what arrived.
  const ODD_TARGETS = [
    "/a%20b/caf%C3%A9",
    "/ü/naïve",
    "/a|b/{c}/`d`",
    "/%7Euser/~user",
    "/x?q=a b&q=%zz&empty=&=v",
    "/x?",
    "/x?a=1&a=2&b=%2F%2f",
    "/x?q='\"<>",
    "/x?q=%E2%9C%93&q=✓",
    "/public/..%2F..%2Fadmin",
    "/api/x;jsessionid=1",
  ];

  it.each(ODD_TARGETS)("verifies at the origin over the path and query it received: %s", async (target) => {
    const origin = recordingOrigin();
    const { sub, access_token } = await session();
    const response = await call(target, { headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(200);
    const [entry] = await origin.requests();
    expect(entry!.signature.outcome).toMatchObject({ user: sub });
  });

  it("verifies a path sent as the client wrote it, dot segments and backslashes included", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    for (const raw of ["/api/./x/../y", "/api\\x", "/api//x?y=1#frag"]) {
      const response = await callAsSent(raw, { headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
      expect(response.status, raw).toBe(200);
    }
    expect(await origin.requests()).toHaveLength(3);
  });

  it("verifies with the origin SDK inside workerd, and refuses the same headers on another path, method or user", async () => {
    const origin = recordingOrigin();
    const { sub, access_token, session_id } = await session();
    await call("/api/me?tab=1", { headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
    const [entry] = await origin.requests();
    const target = targetOf(origin, entry!);
    await expect(verifyGatewayRequest(asRequest(entry!, target), { secret: SECRET })).resolves.toEqual({ user: sub, session: session_id, claims: null });

    const refusals = [
      asRequest(entry!, target.replace("tab=1", "tab=2")),
      asRequest(entry!, target.replace("/api/me", "/api/admin")),
      asRequest(entry!, target.replace("/api/me", "/api/%6De")),
      new Request(asRequest(entry!, target), { method: "POST" }),
      (() => {
        const request = asRequest(entry!, target);
        request.headers.set("X-Auth-User", "admin");
        return request;
      })(),
    ];
    for (const request of refusals) {
      await expect(verifyGatewayRequest(request, { secret: SECRET })).rejects.toMatchObject({ code: "bad_signature" });
    }
  });

  it("signs what the echo origin shows, over the path and query it would have forwarded", async () => {
    const { sub, access_token } = await session();
    const response = await call("/api/echo?x=%20y", { headers: bearer(access_token) }, { ORIGIN_URL: "" });
    const echoed = (await response.json()) as { headers: Record<string, string> };
    expect(echoed.headers["x-auth-signature"]).toMatch(/^v1=[A-Za-z0-9_-]{43}$/);
    const request = new Request("http://origin.test/api/echo?x=%20y", { headers: echoed.headers });
    await expect(verifyGatewayRequest(request, { secret: SECRET })).resolves.toMatchObject({ user: sub });
  });

  it("replaces the client's X-Auth-Timestamp and X-Auth-Signature, and their lookalikes, with its own", async () => {
    const origin = recordingOrigin();
    const { access_token } = await session();
    const forged = { "X-Auth-Timestamp": "9999999999", "X-Auth-Signature": "v1=forged", X_Auth_Signature: "v1=forged", "X.Auth.Timestamp": "1" };
    await call("/api/x", { headers: { ...bearer(access_token), ...forged } }, { ORIGIN_URL: origin.url });
    const [entry] = await origin.requests();
    expect(entry!.signature.value).not.toContain("forged");
    expect(entry!.signature.timestamp).not.toBe("9999999999");
    expect(Object.keys(entry!.headers).filter((name) => /^x[-_.]auth[-_.]/.test(name)).sort()).toEqual(["x-auth-session", "x-auth-user"]);
  });

  it("forwards no signature headers at all when ORIGIN_SIGNING_SECRET is unset, the client's removed", async () => {
    const origin = recordingOrigin({ signed: false });
    const { access_token } = await session();
    const forged = { "X-Auth-Timestamp": "1", "X-Auth-Signature": "v1=forged", X_Auth_Signature: "v1=forged" };
    for (const path of ["/api/x", "/public/x"]) {
      const response = await call(path, { headers: { ...bearer(access_token), ...forged } }, { ORIGIN_URL: origin.url, ORIGIN_SIGNING_SECRET: "", PUBLIC_PATH_PREFIXES: "/public" });
      expect(response.status).toBe(200);
    }
    const received = await origin.requests();
    expect(received).toHaveLength(2);
    for (const entry of received) expect(Object.keys(entry.headers).filter((name) => /signature|timestamp/.test(name))).toEqual([]);
  });

  it("signs with the first of two secrets during a rotation; the SDK given both accepts it", async () => {
    const { access_token } = await session();
    const response = await call("/api/echo", { headers: bearer(access_token) }, { ORIGIN_SIGNING_SECRET: ` ${GOOD} , ${SECRET} ` });
    const { headers } = (await response.json()) as { headers: Record<string, string> };
    const request = () => new Request("http://origin.test/api/echo", { headers });
    await expect(verifyGatewayRequest(request(), { secret: GOOD })).resolves.toMatchObject({ session: headers["x-auth-session"] });
    await expect(verifyGatewayRequest(request(), { secret: `${GOOD},${SECRET}` })).resolves.toMatchObject({ session: headers["x-auth-session"] });
    await expect(verifyGatewayRequest(request(), { secret: SECRET })).rejects.toBeInstanceOf(GatewayVerificationError);
  });

  it("imports the HMAC key once per isolate and secret, not per request", async () => {
    const secret = `once-per-isolate-${crypto.randomUUID()}`;
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    for (let index = 0; index < 3; index += 1) {
      const response = await call("/public/x", {}, { ORIGIN_SIGNING_SECRET: secret, PUBLIC_PATH_PREFIXES: "/public" });
      expect(((await response.json()) as { headers: Record<string, string> }).headers["x-auth-signature"]).toMatch(/^v1=/);
    }
    const hmacImports = importKey.mock.calls.filter(([, , algorithm]) => (algorithm as { name?: string }).name === "HMAC");
    expect(hmacImports).toHaveLength(1);
  });

  it("is checked by examples/verify_gateway.py too (skipped without python3)", async (context) => {
    const origin = recordingOrigin();
    const { sub, access_token, session_id } = await session();
    for (const target of ["/api/me?x=1&y=%20", "/ü?q=✓"]) {
      await call(target, { headers: { ...bearer(access_token), "X-Test-Verify-Python": "1" } }, { ORIGIN_URL: origin.url });
    }
    await call("/public/feed", { headers: { "X-Test-Verify-Python": "1" } }, { ORIGIN_URL: origin.url, PUBLIC_PATH_PREFIXES: "/public" });
    const received = await origin.requests();
    if (received[0]!.signature.python === "unavailable") return context.skip("python3 is not installed");
    expect(received.map((entry) => entry.signature.python)).toEqual([
      { user: sub, session: session_id },
      { user: sub, session: session_id },
      { user: null, session: null },
    ]);
  });
});

describe("gateway: a bad ORIGIN_SIGNING_SECRET or ORIGIN", () => {
  const BAD = ["short", "x".repeat(31), `${GOOD},`, `,${GOOD}`, `${GOOD},,${GOOD}`, `${GOOD},${GOOD},${GOOD}`, `${GOOD}, short`];

  it.each(BAD)("answers 503 server_misconfigured naming ORIGIN_SIGNING_SECRET, on public paths too, never quoting it: %j", async (value) => {
    for (const path of ["/api/x", "/public/x", "/auth/refresh"]) {
      const response = await call(path, { method: "POST" }, { ORIGIN_SIGNING_SECRET: value, PUBLIC_PATH_PREFIXES: "/public" });
      const description = await expectError(response, 503, "server_misconfigured");
      expect(description).toContain("ORIGIN_SIGNING_SECRET");
      expect(description).not.toContain(value.split(",").find((part) => part.trim() !== "")?.trim() ?? "\u0000");
    }
  });

  it("answers 503 naming ORIGIN when ORIGIN is a variable rather than a service binding", async () => {
    const description = await expectError(await call("/api/x", {}, { ORIGIN: "http://origin.internal" } as never), 503, "server_misconfigured");
    expect(description).toContain("ORIGIN must be a service binding");
  });
});

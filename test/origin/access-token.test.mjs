// The origin SDK's optional check of the forwarded access token (`accessToken`): custom claims
// reach the origin only inside the JWT, so the SDK verifies it against the gateway's JWKS
// (fetched over HTTP from a real server here, and cached) and hands back its claims. JavaScript:
// the project's TypeScript setup has no Node types, and this file runs a Node HTTP server.
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { signForOrigin } from "../../src/http/origin-signature";
import { clearJwksCache, verifyGatewayRequest } from "../../src/origin/index";

const SECRET = "origin-sdk-test-secret-0123456789abcdef";
const AUDIENCE = "edge-auth-gateway";

let server;
let issuer;
let jwksRequests = 0;
let jwksStatus = 200;
const published = [];
/** @type {Record<string, { privateKey: CryptoKey, alg: "ES256" | "EdDSA" }>} */
const keys = {};

beforeAll(async () => {
  for (const [kid, alg] of [["es256-1", "ES256"], ["eddsa-1", "EdDSA"], ["es256-unpublished", "ES256"]]) {
    const pair = await generateKeyPair(alg, { extractable: true });
    keys[kid] = { privateKey: pair.privateKey, alg };
    if (kid !== "es256-unpublished") published.push({ ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" });
  }
  server = createServer((request, response) => {
    if (request.url !== "/.well-known/jwks.json") return void response.writeHead(404).end();
    jwksRequests += 1;
    response.writeHead(jwksStatus, { "Content-Type": "application/json" }).end(jwksStatus === 200 ? JSON.stringify({ keys: published }) : "{}");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  issuer = `http://127.0.0.1:${address.port}`;
});

afterAll(() => new Promise((resolve) => server.close(() => resolve())));

beforeEach(() => {
  clearJwksCache();
  jwksRequests = 0;
  jwksStatus = 200;
});

/** An access token as the gateway issues them, with `overrides` (undefined removes a claim) and header changes. */
async function accessToken(claims = {}, { kid = "es256-1", header = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const all = { iss: issuer, aud: AUDIENCE, sub: "user-1", sid: "session-1", jti: crypto.randomUUID(), iat: now, exp: now + 300, role: "editor", ...claims };
  const payload = Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
  const key = keys[kid];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid, typ: "at+jwt", ...header }).sign(key.privateKey);
}

/** A token signed with a published ES256 key under any header at all (jose refuses to write some). */
async function signedRaw(header, claims) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode(header)}.${encode(claims)}`;
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys["es256-1"].privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString("base64url")}`;
}

/** A signed request as the gateway forwards it, carrying `authorization`. */
async function forwarded(authorization, { user = "user-1", session = "session-1" } = {}) {
  const headers = new Headers({ "X-Auth-User": user, "X-Auth-Session": session });
  if (authorization !== null) headers.set("Authorization", authorization);
  await signForOrigin(headers, SECRET, { method: "GET", pathAndQuery: "/api/me" }, Date.now() / 1000);
  return new Request("http://origin.internal/api/me", { headers });
}

const options = (extra = {}) => ({
  secret: SECRET,
  accessToken: { issuer, audience: AUDIENCE, ...extra },
});

async function codeOf(request, verifyOptions = options()) {
  return verifyGatewayRequest(request, verifyOptions).then(
    () => "accepted",
    (error) => error.code ?? String(error),
  );
}

describe("origin SDK: the forwarded access token (accessToken option)", () => {
  it("returns the token's claims, custom claims included, for ES256 and EdDSA, Bearer and DPoP", async () => {
    for (const kid of ["es256-1", "eddsa-1"]) {
      for (const scheme of ["Bearer", "DPoP"]) {
        const identity = await verifyGatewayRequest(await forwarded(`${scheme} ${await accessToken({}, { kid })}`), options());
        expect(identity).toMatchObject({ user: "user-1", session: "session-1", claims: { sub: "user-1", sid: "session-1", role: "editor", iss: issuer } });
      }
    }
  });

  it("fetches the JWKS once and serves later requests from its cache, concurrent ones included", async () => {
    const requests = await Promise.all(Array.from({ length: 5 }, async () => forwarded(`Bearer ${await accessToken()}`)));
    await Promise.all(requests.map((request) => verifyGatewayRequest(request, options())));
    await verifyGatewayRequest(await forwarded(`Bearer ${await accessToken()}`), options());
    expect(jwksRequests).toBe(1);
  });

  it("refuses, as invalid_token, a token the gateway did not issue or that does not fit the request", async () => {
    const token = await accessToken();
    const [header, payload, signature] = token.split(".");
    const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const cases = {
      "no Authorization": await forwarded(null),
      "another scheme": await forwarded(`Basic ${token}`),
      "a forged signature": await forwarded(`Bearer ${header}.${payload}.${signature.slice(0, -4)}AAAA`),
      "a payload swapped under the signature": await forwarded(`Bearer ${header}.${encode({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "admin" })}.${signature}`),
      "alg none": await forwarded(`Bearer ${encode({ alg: "none", kid: "es256-1", typ: "at+jwt" })}.${payload}.`),
      "HS256 with the public key": await forwarded(`Bearer ${encode({ alg: "HS256", kid: "es256-1", typ: "at+jwt" })}.${payload}.${signature}`),
      "EdDSA naming an ES256 key": await forwarded(`Bearer ${encode({ alg: "EdDSA", kid: "es256-1", typ: "at+jwt" })}.${payload}.${signature}`),
      "another typ": await forwarded(`Bearer ${await accessToken({}, { header: { typ: "JWT" } })}`),
      "a jku header": await forwarded(`Bearer ${await accessToken({}, { header: { jku: "https://evil.example/jwks" } })}`),
      "a crit header": await forwarded(`Bearer ${await signedRaw({ alg: "ES256", kid: "es256-1", typ: "at+jwt", crit: ["exp"], exp: 1 }, JSON.parse(Buffer.from(payload, "base64url").toString()))}`),
      "an unknown kid": await forwarded(`Bearer ${await accessToken({}, { kid: "es256-unpublished" })}`),
      "another issuer": await forwarded(`Bearer ${await accessToken({ iss: "https://other.example" })}`),
      "another audience": await forwarded(`Bearer ${await accessToken({ aud: "other-api" })}`),
      "an expired token": await forwarded(`Bearer ${await accessToken({ exp: Math.floor(Date.now() / 1000) - 31 })}`),
      "a token issued in the future": await forwarded(`Bearer ${await accessToken({ iat: Math.floor(Date.now() / 1000) + 120 })}`),
      "a token not valid yet": await forwarded(`Bearer ${await accessToken({ nbf: Math.floor(Date.now() / 1000) + 120 })}`),
      "no sid": await forwarded(`Bearer ${await accessToken({ sid: undefined })}`),
      "another user than X-Auth-User": await forwarded(`Bearer ${await accessToken({ sub: "user-2" })}`),
      "another session than X-Auth-Session": await forwarded(`Bearer ${await accessToken({ sid: "session-2" })}`),
      "a padded signature": await forwarded(`Bearer ${token}=`),
      "two tokens": await forwarded(`Bearer ${token}, Bearer ${token}`),
      "an oversized token": await forwarded(`Bearer ${await accessToken({ filler: "x".repeat(9000) })}`),
    };
    for (const [name, request] of Object.entries(cases)) expect(await codeOf(request), name).toBe("invalid_token");
    // The controls: the same token untouched, and one signed the raw way with the gateway's header.
    expect(await codeOf(await forwarded(`Bearer ${token}`))).toBe("accepted");
    expect(await codeOf(await forwarded(`Bearer ${await signedRaw({ alg: "ES256", kid: "es256-1", typ: "at+jwt" }, JSON.parse(Buffer.from(payload, "base64url").toString()))}`))).toBe("accepted");
  });

  it("refetches the JWKS for an unknown kid (a rotated-in key), but at most every 30 seconds", async () => {
    expect(await codeOf(await forwarded(`Bearer ${await accessToken()}`))).toBe("accepted");
    expect(await codeOf(await forwarded(`Bearer ${await accessToken({}, { kid: "es256-unpublished" })}`))).toBe("invalid_token");
    expect(await codeOf(await forwarded(`Bearer ${await accessToken({}, { kid: "es256-unpublished" })}`))).toBe("invalid_token");
    // The first fetch only: the unknown kid came within the 30 s after it.
    expect(jwksRequests).toBe(1);
  });

  it("answers jwks_unavailable (status 503) when the JWKS cannot be fetched and none is cached", async () => {
    jwksStatus = 500;
    const error = await verifyGatewayRequest(await forwarded(`Bearer ${await accessToken()}`), options()).catch((caught) => caught);
    expect(error).toMatchObject({ code: "jwks_unavailable", status: 503 });
    const unreachable = await verifyGatewayRequest(await forwarded(`Bearer ${await accessToken()}`), options({ jwksUrl: "http://127.0.0.1:1/jwks.json" })).catch((caught) => caught);
    expect(unreachable).toMatchObject({ code: "jwks_unavailable" });
  });

  it("checks the signature before the token: a forged request with a genuine token is bad_signature", async () => {
    const request = await forwarded(`Bearer ${await accessToken()}`);
    request.headers.set("X-Auth-User", "user-2");
    expect(await codeOf(request)).toBe("bad_signature");
    expect(jwksRequests).toBe(0);
  });

  it("has no claims to check on a public path the gateway signed without identity", async () => {
    const headers = new Headers();
    await signForOrigin(headers, SECRET, { method: "GET", pathAndQuery: "/public" }, Date.now() / 1000);
    await expect(verifyGatewayRequest(new Request("http://origin.internal/public", { headers }), options())).resolves.toEqual({ user: null, session: null, claims: null });
  });
});

import { env } from "cloudflare:workers";
import { CompactSign, SignJWT, base64url, exportJWK, generateKeyPair, importJWK, type JWTHeaderParameters } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ACCESS_TOKEN_REASONS, DPOP_PROOF_REASONS, type AccessTokenReason, type DpopProofReason } from "../src/errors/refusals";
import { verifyAccessToken, type AccessTokenSettings } from "../src/tokens/access";
import { verifyDpopProof, type DpopExpectations } from "../src/tokens/dpop";
import { loadKeyRing } from "../src/tokens/key-ring";
import { dpopClient } from "./dpop-proofs";
import { accessTokenClaims, bearer, call, postJson, TEST_SIGNING_KEYS } from "./helpers";

// Each verifier says why it refused: one token or proof per reason, each refused for that reason
// and no other. Together they reach every reason the verifier can give.

const SETTINGS: AccessTokenSettings = { issuer: env.ISSUER, audience: env.AUDIENCE, accessTokenTtlSeconds: 300, clockSkewSeconds: 30 };
const NOW = 1_900_000_000;
const ISSUED: JWTHeaderParameters = { alg: "ES256", kid: "test-es256", typ: "at+jwt" };
const es256 = TEST_SIGNING_KEYS.find((key) => key.kid === "test-es256")!;
const eddsa = TEST_SIGNING_KEYS.find((key) => key.kid === "test-eddsa")!;

function claims(overrides: Record<string, unknown> = {}) {
  return accessTokenClaims({ iat: NOW - 10, exp: NOW + 290, ...overrides });
}

async function token(payload: Record<string, unknown> | string = claims(), header: JWTHeaderParameters = ISSUED): Promise<string> {
  const jwk = header.alg === "EdDSA" ? eddsa : es256;
  const bytes = new TextEncoder().encode(typeof payload === "string" ? payload : JSON.stringify(payload));
  return new CompactSign(bytes).setProtectedHeader(header).sign(await importJWK(jwk, jwk.alg));
}

const flipSignature = (jwt: string) => `${jwt.slice(0, -10)}${jwt.at(-10) === "A" ? "B" : "A"}${jwt.slice(-9)}`;

const ACCESS_TOKENS: Array<[AccessTokenReason, () => Promise<string>]> = [
  ["too_large", async () => "a".repeat(8193)],
  ["not_canonical", async () => `${await token()}==`],
  ["malformed", async () => `${base64url.encode("{")}.${base64url.encode("{}")}.${base64url.encode("sig")}`],
  ["alg_not_allowed", async () => `${base64url.encode(JSON.stringify({ alg: "none", kid: "test-es256", typ: "at+jwt" }))}.${base64url.encode(JSON.stringify(claims()))}.`],
  ["unknown_kid", () => token(claims(), { ...ISSUED, kid: "unknown" })],
  ["key_alg_mismatch", () => token(claims(), { alg: "EdDSA", kid: "test-es256", typ: "at+jwt" })],
  ["bad_signature", async () => flipSignature(await token())],
  ["wrong_typ", () => token(claims(), { ...ISSUED, typ: "JWT" })],
  ["missing_claim", () => token(claims({ jti: undefined }))],
  ["bad_claim", () => token(claims({ exp: String(NOW + 100) }))],
  ["wrong_issuer", () => token(claims({ iss: "https://evil.example" }))],
  ["wrong_audience", () => token(claims({ aud: "another-api" }))],
  ["not_yet_valid", () => token(claims({ nbf: NOW + 100 }))],
  ["issued_in_future", () => token(claims({ iat: NOW + 100 }))],
  ["too_old", () => token(claims({ iat: NOW - 400 }))],
  ["expired", () => token(claims({ iat: NOW - 400, exp: NOW - 100 }))],
  ["not_a_session", () => token(claims({ sub: "" }))],
];

describe("verifyAccessToken names why it refused", () => {
  it("reaches every reason, each with its own token", () => {
    expect(ACCESS_TOKENS.map(([reason]) => reason).sort()).toEqual([...ACCESS_TOKEN_REASONS].sort());
  });

  it.each(ACCESS_TOKENS)("%s", async (reason, make) => {
    const result = await verifyAccessToken(await make(), await loadKeyRing(env.SIGNING_KEYS), SETTINGS, NOW);
    expect(result.ok === false && result.reason).toBe(reason);
  });

  it("names a bad signature the same on the fast path and on jose's (a header it does not write)", async () => {
    const ring = await loadKeyRing(env.SIGNING_KEYS);
    const reordered = flipSignature(await token(claims(), { kid: "test-es256", alg: "ES256", typ: "at+jwt" }));
    expect(await verifyAccessToken(reordered, ring, SETTINGS, NOW)).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("keeps the claims of a genuine expired token, for logout", async () => {
    const payload = claims({ iat: NOW - 400, exp: NOW - 100 });
    const result = await verifyAccessToken(await token(payload), await loadKeyRing(env.SIGNING_KEYS), SETTINGS, NOW);
    expect(result).toEqual({ ok: false, reason: "expired", expiredClaims: payload });
  });
});

const REFRESH_URL = "http://gateway.test/auth/refresh";
const expectations = (overrides: Partial<DpopExpectations> = {}): DpopExpectations => ({
  method: "POST",
  url: REFRESH_URL,
  nowSeconds: Date.now() / 1000,
  clockSkewSeconds: 30,
  ...overrides,
});

// What jose checks only on tokens that have them, and a proof never does: `iss`, `aud` and a
// maximum age are not proof checks (RFC 9449 section 4.3 bounds `iat` both ways instead).
const NOT_PROOF_CHECKS: DpopProofReason[] = ["wrong_issuer", "wrong_audience", "issued_in_future", "too_old"];

async function dpopProofs(): Promise<Array<[DpopProofReason, string, Partial<DpopExpectations>?]>> {
  const client = await dpopClient();
  const { privateKey: otherKey } = await generateKeyPair("ES256", { extractable: true });
  const now = Math.floor(Date.now() / 1000);
  const claims = { htm: "POST", htu: REFRESH_URL, jti: crypto.randomUUID(), iat: now };
  const proof = (options: Parameters<typeof client.proof>[2]) => client.proof("POST", "/auth/refresh", options);
  const signedBytes = async (payload: string) =>
    new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: client.jwk }).sign(client.privateKey);
  return [
    ["too_large", "a".repeat(4097)],
    ["not_a_jwt", "not.a.proof"],
    ["no_jwk", await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt" }).sign(client.privateKey)],
    ["private_jwk", await proof({ header: { jwk: await exportJWK(client.privateKey) } })],
    ["malformed", await signedBytes("not json")],
    ["alg_not_allowed", await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: client.jwk }).sign(new Uint8Array(32))],
    ["bad_signature", await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: client.jwk }).sign(otherKey)],
    ["wrong_typ", await proof({ header: { typ: "JWT" } })],
    ["missing_claim", await proof({ claims: { jti: undefined } })],
    ["bad_claim", await proof({ claims: { iat: "now" } })],
    ["not_yet_valid", await proof({ claims: { nbf: now + 3600 } })],
    ["expired", await proof({ claims: { exp: now - 3600 } })],
    ["bad_jti", await proof({ claims: { jti: "" } })],
    ["wrong_htm", await proof({ claims: { htm: "GET" } })],
    ["wrong_htu", await proof({ claims: { htu: "http://gateway.test/auth/login" } })],
    ["iat_out_of_window", await proof({ claims: { iat: now - 3600 } })],
    ["wrong_ath", await proof({ accessToken: "another token" }), { accessToken: "the token" }],
  ];
}

describe("verifyDpopProof names why it refused", () => {
  it("reaches every reason a proof can be refused for, each with its own proof", async () => {
    const reached = (await dpopProofs()).map(([reason]) => reason);
    expect([...reached, ...NOT_PROOF_CHECKS].sort()).toEqual([...DPOP_PROOF_REASONS].sort());
  });

  it("refuses each proof for its reason", async () => {
    for (const [reason, proof, overrides] of await dpopProofs()) {
      const result = await verifyDpopProof(proof, expectations(overrides));
      expect(result.ok === false && result.reason, reason).toBe(reason);
    }
  });
});

describe("a refusal in the log", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** The lines `console.warn` got during `action`. */
  async function warnedDuring(action: () => Promise<Response>): Promise<{ response: Response; lines: string[] }> {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await action();
    const lines = warn.mock.calls.map((args) => args.map(String).join(" "));
    warn.mockRestore();
    return { response, lines };
  }

  it("is one line per refused access token, with its reason and never the token, and the wire as before", async () => {
    const forged = flipSignature(await new SignJWT(accessTokenClaims()).setProtectedHeader(ISSUED).sign(await importJWK(es256, "ES256")));
    const { response, lines } = await warnedDuring(() => call("/api/me", { headers: bearer(forged) }));
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="edge-auth-gateway", error="invalid_token", error_description="The access token is invalid"',
    );
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ event: "access_token_refused", reason: "bad_signature", scheme: "Bearer" });
    for (const part of forged.split(".")) expect(lines[0]).not.toContain(part);
  });

  it("names the session of a genuine expired token, and the client still reads expired", async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 400;
    const payload = accessTokenClaims({ iat: issuedAt, exp: issuedAt + 300 });
    const expired = await new SignJWT(payload).setProtectedHeader(ISSUED).sign(await importJWK(es256, "ES256"));
    const { response, lines } = await warnedDuring(() => call("/api/me", { headers: bearer(expired) }));
    expect(response.headers.get("WWW-Authenticate")).toBe(
      'Bearer realm="edge-auth-gateway", error="invalid_token", error_description="The access token expired"',
    );
    expect(lines.map((line) => JSON.parse(line))).toEqual([{ event: "access_token_refused", reason: "expired", scheme: "Bearer", session_id: payload.sid }]);
    expect(lines[0]).not.toContain(expired.split(".")[2]);
  });

  it("is one line per refused DPoP proof of a session request, never the proof", async () => {
    const client = await dpopClient();
    const proof = await client.proof("POST", "/auth/refresh", { claims: { htu: "http://gateway.test/auth/login" } });
    const { response, lines } = await warnedDuring(() => postJson("/auth/refresh", { refresh_token: "x" }, { DPoP: proof }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "invalid_dpop_proof",
      error_description: "The DPoP proof is not valid: the proof's htu is not the request URL.",
    });
    expect(lines.map((line) => JSON.parse(line))).toEqual([{ event: "dpop_proof_refused", reason: "wrong_htu" }]);
    for (const part of proof.split(".")) expect(lines[0]).not.toContain(part);
  });
});

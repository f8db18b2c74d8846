// Shared pieces of the adversarial suite: the recording origin, raw JWS forging (exact header and
// payload text, any signer), and the assertions every attack ends with.
import { exportJWK, generateKeyPair, importJWK } from "jose";
import { expect, vi } from "vitest";
import { ACCESS_REFUSALS } from "../../src/errors/refusals";
import { accessTokenClaims, base64url, bytesOf, call, recordingOrigin, TEST_ORIGIN_URL, TEST_SIGNING_KEYS, type RecordedRequest, type Vars } from "../helpers";

// The recording origin (test/origin-server.mjs) of test/helpers/origin.ts: "the origin never saw it" is
// a fact, not a guess.
export { recordingOrigin, TEST_ORIGIN_URL as ORIGIN };
export type { RecordedRequest as Recorded };

// Any `X-Auth-*` lookalike; the URL, path and method overrides (`X-Original-URL`, `X-Rewrite-URL`,
// `X-Override-URL`, `X-Envoy-Original-Path`, `X-Forwarded-Prefix`, `X-Forwarded-Uri`,
// `X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override`); the client-address and proxy
// claims (`Forwarded`, `X-Real-IP`, `True-Client-IP`, `Proxy-Authorization`). `X-Forwarded-For`,
// `-Host` and `-Proto` are the gateway's own (see `forwardingHeaders`).
const IDENTITY_OR_OVERRIDE = /^x[-_.]auth[-_.]|original|rewrite|override|^x[-_.]http[-_.]method$|^x[-_.]forwarded[-_.](prefix|uri)$|^forwarded$|real[-_.]ip|true[-_.]client[-_.]ip|proxy[-_.]authorization/i;

/** Client headers an origin might take for identity, routing or the client's address, as they reached it. */
export function identityAndOverrideHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => IDENTITY_OR_OVERRIDE.test(name)));
}

/** The `X-Forwarded-For`, `-Host` and `-Proto` headers (and lookalikes) as they reached the origin. */
export function forwardingHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => /^x[-_.]forwarded[-_.](for|host|proto)$/i.test(name)));
}

// ---------------------------------------------------------------------------------------------
// Keys

export const es256Jwk = TEST_SIGNING_KEYS.find((key) => key.kid === "test-es256")!;
export const eddsaJwk = TEST_SIGNING_KEYS.find((key) => key.kid === "test-eddsa")!;

// ---------------------------------------------------------------------------------------------
// Forging

/** Turns the JWS signing input into signature bytes. */
export type Signer = (input: Uint8Array) => Promise<Uint8Array>;

/** The real signing keys of the gateway: forgeries signed with them differ from a good token in one respect only. */
export const realKey = {
  async es256(): Promise<Signer> {
    const key = (await importJWK(es256Jwk, "ES256")) as CryptoKey;
    return async (input) => new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, input));
  },
  async eddsa(): Promise<Signer> {
    const key = (await importJWK(eddsaJwk, "EdDSA")) as CryptoKey;
    return async (input) => new Uint8Array(await crypto.subtle.sign("Ed25519", key, input));
  },
};

/** A key the attacker made: signs like ours would, and its public JWK can be embedded in a header. */
export async function attackerKey(alg: "ES256" | "EdDSA" | "ES384" | "RS256" | "PS256" = "ES256") {
  const pair = await generateKeyPair(alg, { extractable: true });
  const params: SubtleCryptoSignAlgorithm =
    alg === "ES256"
      ? { name: "ECDSA", hash: "SHA-256" }
      : alg === "ES384"
        ? { name: "ECDSA", hash: "SHA-384" }
        : alg === "PS256"
          ? { name: "RSA-PSS", saltLength: 32 }
          : alg === "RS256"
            ? { name: "RSASSA-PKCS1-v1_5" }
            : { name: "Ed25519" };
  const sign: Signer = async (input) => new Uint8Array(await crypto.subtle.sign(params, pair.privateKey as CryptoKey, input));
  return { sign, publicJwk: { ...(await exportJWK(pair.publicKey)), alg }, publicKey: pair.publicKey as CryptoKey };
}

/** HMAC with `secret` (any bytes, e.g. the public key in some encoding): the algorithm-confusion forger. */
export function hmacSigner(alg: "HS256" | "HS384" | "HS512", secret: Uint8Array): Signer {
  const hash = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" }[alg];
  return async (input) => {
    // HMAC pads a short key with zeros (RFC 2104), so the empty key signs like a single zero byte;
    // WebCrypto refuses to import an empty key.
    const raw = secret.length === 0 ? new Uint8Array(1) : secret;
    const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash }, false, ["sign"]);
    return new Uint8Array(await crypto.subtle.sign("HMAC", key, input));
  };
}

/** No signature at all (`alg: none`), or fixed signature bytes. */
export const fixedSignature = (bytes: Uint8Array = new Uint8Array(0)): Signer => async () => bytes;

/**
 * A compact JWS from the exact JSON text of its header and payload (so duplicate keys, odd
 * spacing or invalid JSON survive) and a signer. Objects are serialized with JSON.stringify.
 */
export async function compactJws(header: object | string, payload: object | string | Uint8Array, signer: Signer): Promise<string> {
  const headerPart = base64url(typeof header === "string" ? header : JSON.stringify(header));
  const payloadPart = base64url(payload instanceof Uint8Array || typeof payload === "string" ? payload : JSON.stringify(payload));
  const input = `${headerPart}.${payloadPart}`;
  return `${input}.${base64url(await signer(bytesOf(input)))}`;
}

export const ES256_HEADER = { alg: "ES256", kid: "test-es256", typ: "at+jwt" } as const;
export const EDDSA_HEADER = { alg: "EdDSA", kid: "test-eddsa", typ: "at+jwt" } as const;

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token the gateway accepts, signed with the real ES256 key. */
export async function genuineToken(overrides: Record<string, unknown> = {}): Promise<string> {
  return compactJws(ES256_HEADER, accessTokenClaims(overrides), await realKey.es256());
}

// ---------------------------------------------------------------------------------------------
// What every refusal looks like

const INVALID_TOKEN_CHALLENGE = /^Bearer realm="edge-auth-gateway", error="invalid_token", error_description="[^"]+"$/;
const BARE_CHALLENGE = 'Bearer realm="edge-auth-gateway"';

/** `invalid_token` for a token that does not verify; `bare` when there is no Bearer token at all (RFC 6750 section 3.1). */
export type Refusal = "invalid_token" | "bare";

/** Asserts the RFC 6750 401 of the contract: the challenge, the JSON body, `no-store`. */
export async function expectUnauthorized(response: Response, refusal: Refusal, label = "") {
  expect(response.status, label).toBe(401);
  const challenge = response.headers.get("WWW-Authenticate");
  if (refusal === "bare") expect(challenge, label).toBe(BARE_CHALLENGE);
  else expect(challenge, label).toMatch(INVALID_TOKEN_CHALLENGE);
  const body = (await response.json()) as { error: string };
  expect(body.error, label).toBe(refusal === "bare" ? "unauthorized" : "invalid_token");
}

/**
 * Presents a request through the gateway (to a recording origin) and to the Bearer route
 * `GET /auth/sessions`, and asserts both refuse it with `refusal` and that nothing reached the
 * origin.
 */
export async function expectRefusedEverywhere(init: RequestInit, refusal: Refusal, { query = "", vars = {} as Vars } = {}) {
  const origin = recordingOrigin();
  await expectUnauthorized(await call(`/api/adversarial${query}`, init, { ...vars, ORIGIN_URL: origin.url }), refusal, "through the gateway");
  expect(await origin.requests(), "the origin received it").toEqual([]);
  const { body: _body, method: _method, ...withoutBody } = init;
  await expectUnauthorized(await call(`/auth/sessions${query}`, withoutBody, vars), refusal, "GET /auth/sessions");
}

/**
 * `expectRefusedEverywhere` for a Bearer token, which also holds the log to one line per refusal
 * (the gateway's and the Bearer route's) that names a reason and holds no part of the token.
 */
export async function expectTokenRefused(token: string, vars: Vars = {}) {
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  let lines: string[];
  try {
    await expectRefusedEverywhere({ headers: { Authorization: `Bearer ${token}` } }, "invalid_token", { vars });
  } finally {
    lines = warn.mock.calls.map((args) => args.map(String).join(" "));
    warn.mockRestore();
  }
  expect(lines, "one log line per refusal").toHaveLength(2);
  // Parts too short to be told from chance (an empty signature, `e30`) are left out.
  const parts = token.split(".").filter((part) => part.length >= 16);
  for (const line of lines) {
    expect(ACCESS_REFUSALS, line).toContain((JSON.parse(line) as { reason: string }).reason);
    for (const part of parts) expect(line.includes(part), `the log line holds the token: ${line}`).toBe(false);
  }
}

/** Asserts the gateway forwards `token` as `sub` (the baseline a forgery departs from). */
export async function expectTokenAccepted(token: string, sub: unknown) {
  const origin = recordingOrigin();
  const response = await call("/api/adversarial", { headers: { Authorization: `Bearer ${token}` } }, { ORIGIN_URL: origin.url });
  expect(response.status).toBe(200);
  const reached = await origin.requests();
  expect(reached).toHaveLength(1);
  expect(reached[0]!.headers["x-auth-user"]).toBe(sub);
  expect((await call("/auth/sessions", { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
}

import { env } from "cloudflare:workers";
import { CompactSign, importJWK, jwtVerify, type JWTHeaderParameters, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import type { AccessTokenReason } from "../src/errors/refusals";
import { signAccessToken, verifyAccessToken, type AccessTokenResult, type AccessTokenSettings } from "../src/tokens/access";
import { jwtRefusalReason } from "../src/tokens/jwt-refusal";
import { loadKeyRing, type KeyRing } from "../src/tokens/key-ring";
import { TEST_SIGNING_KEYS } from "./helpers";

// verifyAccessToken answers most tokens on a fast path of its own; jose's jwtVerify, with the
// contract's options, is the reference it must agree with on every token, down to the reason
// it refuses for (jose's errors read as reasons by the verifier's own jwtRefusalReason).

const SETTINGS: AccessTokenSettings = { issuer: env.ISSUER!, audience: env.AUDIENCE!, accessTokenTtlSeconds: 300, clockSkewSeconds: 30 };
const NOW = 1_900_000_000;
const es256 = TEST_SIGNING_KEYS.find((key) => key.kid === "test-es256")!;
const eddsa = TEST_SIGNING_KEYS.find((key) => key.kid === "test-eddsa")!;
// The header the gateway writes, in the order it writes it.
const ISSUED_ES256: JWTHeaderParameters = { alg: "ES256", kid: "test-es256", typ: "at+jwt" };
const ISSUED_EDDSA: JWTHeaderParameters = { alg: "EdDSA", kid: "test-eddsa", typ: "at+jwt" };

/** What jwtVerify alone decides, mapped to the verifier's result the way the contract maps it. */
async function reference(token: string, ring: KeyRing): Promise<AccessTokenResult> {
  const sessionClaims = (payload: Record<string, unknown>) =>
    typeof payload.sub === "string" && payload.sub !== "" && typeof payload.sid === "string" && payload.sid !== "" && typeof payload.jti === "string" && typeof payload.aud === "string";
  let keyProblem: AccessTokenReason | null = null;
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const entry = typeof header.kid === "string" ? ring.byKid.get(header.kid) : undefined;
        keyProblem = !entry ? "unknown_kid" : entry.alg !== header.alg ? "key_alg_mismatch" : null;
        if (!entry || keyProblem) throw new Error("no key");
        return entry.key;
      },
      {
        algorithms: ring.algorithms,
        issuer: SETTINGS.issuer,
        audience: SETTINGS.audience,
        typ: "at+jwt",
        clockTolerance: SETTINGS.clockSkewSeconds,
        maxTokenAge: SETTINGS.accessTokenTtlSeconds,
        requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
        currentDate: new Date(NOW * 1000),
      },
    );
    return sessionClaims(payload) ? { ok: true, claims: payload as never } : { ok: false, reason: "not_a_session" };
  } catch (error) {
    if (keyProblem) return { ok: false, reason: keyProblem };
    const reason = jwtRefusalReason(error);
    const { payload } = error as { payload?: JWTPayload };
    const expired = reason === "expired" || reason === "too_old";
    return expired && payload && sessionClaims(payload) ? { ok: false, reason, expiredClaims: payload as never } : { ok: false, reason };
  }
}

/**
 * Asserts the verifier agrees with the reference on `token`. A token that is not in its one
 * canonical spelling is refused before jose sees it (`not_canonical`), for a reason jose has no
 * name for: there the two must agree on what the client is told, `invalid` (never accepted, never
 * `expired`).
 */
async function expectAgreement(token: string, ring: KeyRing) {
  const actual = await verifyAccessToken(token, ring, SETTINGS, NOW);
  const expected = await reference(token, ring);
  if (actual.ok || actual.reason !== "not_canonical") return expect(actual, token).toEqual(expected);
  expect(expected.ok === false && expected.reason !== "expired" && expected.reason !== "too_old", token).toBe(true);
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const all: Record<string, unknown> = {
    sid: "s-1",
    iss: SETTINGS.issuer,
    aud: SETTINGS.audience,
    sub: "u-1",
    jti: "j-1",
    iat: NOW - 10,
    exp: NOW + 290,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

const encoder = new TextEncoder();

/** Signs raw payload bytes (or a claims object as JSON) under exactly `header`. */
async function sign(payload: Uint8Array | Record<string, unknown>, header: JWTHeaderParameters = ISSUED_ES256): Promise<string> {
  const jwk = header.alg === "EdDSA" ? eddsa : es256;
  const bytes = payload instanceof Uint8Array ? payload : encoder.encode(JSON.stringify(payload));
  return new CompactSign(bytes).setProtectedHeader(header).sign(await importJWK(jwk, jwk.alg));
}

describe("access-token verification agrees with jose's jwtVerify", () => {
  it("on tokens with the gateway's own header, whatever their claims", async () => {
    const ring = await loadKeyRing(env.SIGNING_KEYS!);
    const payloads: Array<Record<string, unknown> | Uint8Array> = [
      claims(),
      claims({ role: "admin", scopes: ["a", "b"] }),
      claims({ exp: NOW - 10 }),
      claims({ exp: NOW - 30 }),
      claims({ exp: NOW - 31 }),
      claims({ exp: NOW - 600, iat: NOW - 900 }),
      claims({ nbf: NOW + 30 }),
      claims({ nbf: NOW + 31 }),
      claims({ nbf: null }),
      claims({ nbf: "soon" }),
      claims({ iat: NOW + 30 }),
      claims({ iat: NOW + 31 }),
      claims({ iat: NOW - 330 }),
      claims({ iat: NOW - 331 }),
      claims({ iat: 1e999 }),
      claims({ exp: 1e999 }),
      claims({ iat: "now" }),
      claims({ exp: String(NOW + 100) }),
      ...["sub", "sid", "jti", "iat", "exp", "iss", "aud"].map((missing) => claims({ [missing]: undefined })),
      claims({ sub: "" }),
      claims({ sid: "" }),
      claims({ sid: 7 }),
      claims({ jti: 7 }),
      claims({ iss: "https://evil.example" }),
      claims({ aud: "another-api" }),
      claims({ aud: [SETTINGS.audience] }),
      claims({ aud: [SETTINGS.audience], exp: NOW - 100 }),
      claims({ aud: ["another-api"] }),
      claims({ exp: NOW - 100, sub: "" }),
      encoder.encode(`\uFEFF${JSON.stringify(claims())}`),
      encoder.encode(JSON.stringify([claims()])),
      encoder.encode("null"),
      encoder.encode("not json"),
      new Uint8Array([0x7b, 0xff, 0x7d]),
    ];
    for (const header of [ISSUED_ES256, ISSUED_EDDSA]) {
      for (const payload of payloads) {
        const token = await sign(payload, header);
        await expectAgreement(token, ring);
      }
    }
  });

  it("on other headers, bad signatures and keys that do not match", async () => {
    const ring = await loadKeyRing(env.SIGNING_KEYS!);
    const valid = await sign(claims());
    const [header, payload, signature] = valid.split(".") as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
    const tokens = [
      valid,
      `${header}.${payload}.${flipped}`,
      `${header}.${payload}.`,
      `${header}.${payload}.${signature.slice(0, 43)}`,
      await sign(claims(), { kid: "test-es256", alg: "ES256", typ: "at+jwt" }),
      await sign(claims(), { alg: "ES256", kid: "test-es256", typ: "application/at+jwt" }),
      await sign(claims(), { alg: "ES256", kid: "test-es256", typ: "AT+JWT" }),
      await sign(claims(), { alg: "ES256", kid: "test-es256", typ: "JWT" }),
      await sign(claims(), { alg: "ES256", kid: "test-es256" }),
      await sign(claims(), { alg: "ES256", kid: "test-es256", typ: "at+jwt", cty: "JWT" }),
      await sign(claims(), { alg: "ES256", kid: "test-es256", typ: "at+jwt", crit: ["b64"], b64: true }),
      await sign(claims(), { alg: "ES256", kid: "unknown", typ: "at+jwt" }),
      await sign(claims(), { alg: "EdDSA", kid: "test-es256", typ: "at+jwt" }),
      await sign(claims(), { alg: "ES256", kid: "test-eddsa", typ: "at+jwt" }),
    ];
    for (const token of tokens) {
      await expectAgreement(token, ring);
    }
    expect((await verifyAccessToken(valid, ring, SETTINGS, NOW)).ok).toBe(true);
  });

  it("sees the gateway's own tokens with the header its fast path recognises", async () => {
    const ring = await loadKeyRing(env.SIGNING_KEYS!);
    const issued = await signAccessToken(ring, SETTINGS, { sub: "u-1", sid: "s-1", claims: {} }, NOW);
    expect(issued.split(".")[0]).toBe((await sign(claims())).split(".")[0]);
    await expectAgreement(issued, ring);
  });
});

import { env } from "cloudflare:workers";
import { decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT, type JWTHeaderParameters } from "jose";
import { describe, expect, it } from "vitest";
import {
  accessTokenClaims,
  bearer,
  call,
  openSession,
  publicHalf,
  recordingOrigin,
  TEST_SIGNING_KEYS,
  uniqueSub,
  type Vars,
} from "./helpers";

// Forging tokens with the real test signing keys is how the claim checks are proven, and the public
// halves feed the confusion attacks.
const es256Jwk = TEST_SIGNING_KEYS.find((key) => key.kid === "test-es256")!;
const eddsaJwk = TEST_SIGNING_KEYS.find((key) => key.kid === "test-eddsa")!;
const es256Private = () => importJWK(es256Jwk, "ES256") as Promise<CryptoKey>;
const eddsaPrivate = () => importJWK(eddsaJwk, "EdDSA") as Promise<CryptoKey>;

const now = () => Math.floor(Date.now() / 1000);

const claims = accessTokenClaims;

const ES256_HEADER: JWTHeaderParameters = { alg: "ES256", kid: "test-es256", typ: "at+jwt" };

/** Signs `payload` with `key` under exactly `header` (a `typ` of undefined leaves it out). */
function sign(payload: Record<string, unknown>, key: CryptoKey | Uint8Array, header: JWTHeaderParameters = ES256_HEADER) {
  const cleanHeader = Object.fromEntries(Object.entries(header).filter(([, value]) => value !== undefined)) as JWTHeaderParameters;
  return new SignJWT(payload).setProtectedHeader(cleanHeader).sign(key);
}

const encoder = new TextEncoder();
function base64url(data: Uint8Array | string | object): string {
  const bytes = data instanceof Uint8Array ? data : encoder.encode(typeof data === "string" ? data : JSON.stringify(data));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * The same base64url text with the unused low bits of its last character set in every other way:
 * each decodes to the same bytes, but only `part` itself is the canonical spelling.
 */
function otherSpellingsOfLastCharacter(part: string): string[] {
  const unusedBits = { 0: 0, 2: 4, 3: 2 }[part.length % 4 as 0 | 2 | 3];
  const last = BASE64URL_ALPHABET.indexOf(part.at(-1)!);
  const spellings: string[] = [];
  for (let low = 1; low < 2 ** unusedBits; low++) spellings.push(`${part.slice(0, -1)}${BASE64URL_ALPHABET[last ^ low]}`);
  return spellings;
}

/** Sends `token` through the gateway to a fresh recording origin. */
async function present(token: string, vars: Vars = {}) {
  const origin = recordingOrigin();
  const response = await call("/api/resource", { headers: { Authorization: `Bearer ${token}` } }, { ORIGIN_URL: origin.url, ...vars });
  return { response, reached: await origin.requests() };
}

/** Asserts the RFC 6750 invalid_token 401 and that nothing reached the origin; returns the description. */
async function expectRefused(token: string, vars: Vars = {}): Promise<string> {
  const { response, reached } = await present(token, vars);
  expect(response.status).toBe(401);
  const challenge = response.headers.get("WWW-Authenticate") ?? "";
  expect(challenge).toMatch(/^Bearer realm="[^"]*", error="invalid_token", error_description="[^"]+"$/);
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe("invalid_token");
  expect(reached).toEqual([]);
  return body.error_description;
}

/** Asserts the gateway forwarded the request as `sub`. */
async function expectAccepted(token: string, sub: unknown, vars: Vars = {}) {
  const { response, reached } = await present(token, vars);
  expect(response.status).toBe(200);
  expect(reached).toHaveLength(1);
  expect(reached[0]!.headers["x-auth-user"]).toBe(sub);
}

describe("access tokens the gateway accepts", () => {
  it("accepts a token issued by the gateway itself", async () => {
    const sub = uniqueSub("at");
    const { access_token } = await openSession(sub);
    await expectAccepted(access_token, sub);
  });

  it("accepts a well-formed token signed with the signing key (the baseline every forgery below departs from)", async () => {
    const payload = claims();
    await expectAccepted(await sign(payload, await es256Private()), payload.sub);
  });

  it("accepts a token signed with the second key of SIGNING_KEYS (key rotation)", async () => {
    const payload = claims();
    const token = await sign(payload, await eddsaPrivate(), { alg: "EdDSA", kid: "test-eddsa", typ: "at+jwt" });
    await expectAccepted(token, payload.sub);
  });

  it("accepts tokens of a retired key that SIGNING_KEYS keeps only as its public half", async () => {
    const fresh = await generateKeyPair("ES256", { extractable: true });
    const rotated = JSON.stringify({ keys: [{ ...(await exportJWK(fresh.privateKey)), kid: "next" }, publicHalf(es256Jwk)] });
    const payload = claims();
    await expectAccepted(await sign(payload, await es256Private()), payload.sub, { SIGNING_KEYS: rotated });
    // The EdDSA key was dropped from this set: its tokens no longer verify.
    const dropped = await sign(claims(), await eddsaPrivate(), { alg: "EdDSA", kid: "test-eddsa", typ: "at+jwt" });
    await expectRefused(dropped, { SIGNING_KEYS: rotated });
  });

  it("accepts a token expired by less than CLOCK_SKEW_SECONDS", async () => {
    const payload = claims({ iat: now() - 310, exp: now() - 10 });
    await expectAccepted(await sign(payload, await es256Private()), payload.sub);
  });

  it("accepts nbf and iat up to CLOCK_SKEW_SECONDS in the future", async () => {
    const payload = claims({ nbf: now() + 10, iat: now() + 10, exp: now() + 310 });
    await expectAccepted(await sign(payload, await es256Private()), payload.sub);
  });
});

describe("access tokens the gateway refuses without reaching the origin", () => {
  it("refuses alg none, whatever its spelling, even with a valid kid and claims", async () => {
    for (const alg of ["none", "None", "NONE"]) {
      const header = base64url({ alg, kid: "test-es256", typ: "at+jwt" });
      const payload = base64url(claims());
      await expectRefused(`${header}.${payload}.`);
      await expectRefused(`${header}.${payload}.${base64url("signature")}`);
    }
  });

  it("refuses HS256 tokens keyed with the public signing key (algorithm confusion)", async () => {
    const publicJwk = publicHalf(es256Jwk);
    const publicKey = (await importJWK({ ...publicJwk, alg: "ES256" }, "ES256")) as CryptoKey;
    const secrets = [
      encoder.encode(JSON.stringify(publicJwk)),
      new Uint8Array((await crypto.subtle.exportKey("raw", publicKey)) as ArrayBuffer),
      new Uint8Array((await crypto.subtle.exportKey("spki", publicKey)) as ArrayBuffer),
      encoder.encode(publicJwk.x!),
    ];
    for (const secret of secrets) {
      for (const kid of ["test-es256", undefined]) {
        await expectRefused(await sign(claims(), secret, { alg: "HS256", kid, typ: "at+jwt" }));
      }
    }
  });

  it("refuses a token whose kid is unknown", async () => {
    await expectRefused(await sign(claims(), await es256Private(), { ...ES256_HEADER, kid: "retired-key" }));
  });

  it("refuses a token without a kid, even when it is signed with the real key", async () => {
    await expectRefused(await sign(claims(), await es256Private(), { alg: "ES256", typ: "at+jwt" }));
  });

  it("refuses a token signed by a foreign ES256 key that reuses the kid test-es256", async () => {
    const foreign = await generateKeyPair("ES256");
    await expectRefused(await sign(claims(), foreign.privateKey));
  });

  it("calls a foreign-signed token invalid even when its exp is past, so claims of unverified tokens are never judged", async () => {
    const foreign = await generateKeyPair("ES256");
    const description = await expectRefused(await sign(claims({ iat: now() - 900, exp: now() - 600 }), foreign.privateKey));
    expect(description).not.toContain("expired");
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const { access_token } = await openSession(uniqueSub("at"));
    const [header, payload, signature] = access_token.split(".") as [string, string, string];
    const tampered = base64url({ ...decodeJwt<Record<string, unknown>>(access_token), sub: "someone-else" });
    await expectRefused(`${header}.${tampered}.${signature}`);
    // Changing the header (here: dropping typ) breaks the signature just the same.
    const otherHeader = base64url({ alg: "ES256", kid: "test-es256", typ: "JWT" });
    await expectRefused(`${otherHeader}.${payload}.${signature}`);
  });

  it("refuses the wrong issuer and the wrong audience", async () => {
    const key = await es256Private();
    await expectRefused(await sign(claims({ iss: "https://evil.example" }), key));
    await expectRefused(await sign(claims({ aud: "another-api" }), key));
    await expectRefused(await sign(claims({ iss: undefined }), key));
    await expectRefused(await sign(claims({ aud: undefined }), key));
  });

  it("refuses the wrong ISSUER and AUDIENCE when they are configured", async () => {
    const payload = claims();
    const token = await sign(payload, await es256Private());
    await expectRefused(token, { ISSUER: "https://auth.example.com" });
    await expectRefused(token, { AUDIENCE: "orders-api" });
    await expectAccepted(await sign({ ...payload, iss: "https://auth.example.com" }, await es256Private()), payload.sub, { ISSUER: "https://auth.example.com" });
  });

  it("refuses a typ other than at+jwt, and a missing typ", async () => {
    const key = await es256Private();
    await expectRefused(await sign(claims(), key, { ...ES256_HEADER, typ: "JWT" }));
    await expectRefused(await sign(claims(), key, { ...ES256_HEADER, typ: undefined }));
    await expectRefused(await sign(claims(), key, { ...ES256_HEADER, typ: "refresh+jwt" }));
  });

  it("refuses a token without the session claims", async () => {
    const key = await es256Private();
    for (const missing of ["sub", "sid", "jti", "iat", "exp"]) {
      await expectRefused(await sign(claims({ [missing]: undefined }), key));
    }
    await expectRefused(await sign(claims({ sub: "" }), key));
    await expectRefused(await sign(claims({ sid: 42 }), key));
  });

  it("refuses a token expired by more than CLOCK_SKEW_SECONDS and says it expired", async () => {
    const token = await sign(claims({ iat: now() - 345, exp: now() - 45 }), await es256Private());
    expect(await expectRefused(token)).toContain("expired");
  });

  it("honours CLOCK_SKEW_SECONDS: no tolerance at 0, more at 120", async () => {
    const payload = claims({ iat: now() - 60, exp: now() - 5 });
    const token = await sign(payload, await es256Private());
    expect(await expectRefused(token, { CLOCK_SKEW_SECONDS: "0" })).toContain("expired");
    const older = claims({ iat: now() - 360, exp: now() - 60 });
    await expectAccepted(await sign(older, await es256Private()), older.sub, { CLOCK_SKEW_SECONDS: "120" });
  });

  it("refuses a token older than ACCESS_TOKEN_TTL_SECONDS even if its own exp is later", async () => {
    const token = await sign(claims({ iat: now() - 120, exp: now() + 3600 }), await es256Private());
    expect(await expectRefused(token, { ACCESS_TOKEN_TTL_SECONDS: "60" })).toContain("expired");
  });

  it("refuses a token that is not valid yet (nbf beyond the skew)", async () => {
    const token = await sign(claims({ nbf: now() + 120 }), await es256Private());
    expect(await expectRefused(token)).not.toContain("expired");
  });

  it("refuses a token issued in the future (iat beyond the skew)", async () => {
    const token = await sign(claims({ iat: now() + 120, exp: now() + 420 }), await es256Private());
    await expectRefused(token);
  });

  it("refuses truncated tokens", async () => {
    const { access_token } = await openSession(uniqueSub("at"));
    const [header, payload] = access_token.split(".") as [string, string, string];
    for (const truncated of [access_token.slice(0, -4), `${header}.${payload}`, `${header}.${payload}.`, header, access_token.slice(0, access_token.length / 2)]) {
      await expectRefused(truncated);
    }
  });

  it("refuses garbage of every shape", async () => {
    const garbage = [
      "abc",
      "a.b.c",
      "..",
      "...",
      "null",
      "eyJhbGciOiJFUzI1NiJ9",
      `${base64url("[]")}.${base64url("{}")}.${base64url("x")}`,
      `${base64url("not json")}.${base64url("not json")}.${base64url("x")}`,
      `${base64url(ES256_HEADER)}.${base64url("\"a string\"")}.${base64url("x")}`,
      `${base64url(ES256_HEADER)}.${base64url(claims())}.!!!`,
      '{"payload":"x","signatures":[]}',
      base64url(crypto.getRandomValues(new Uint8Array(200))),
    ];
    for (const token of garbage) await expectRefused(token);
  });

  it("refuses a token with base64url padding", async () => {
    const { access_token } = await openSession(uniqueSub("at"));
    const [header, payload, signature] = access_token.split(".") as [string, string, string];
    for (const padded of [`${access_token}==`, `${access_token}=`, `${header}==.${payload}.${signature}`, `${header}.${payload}=.${signature}`]) {
      await expectRefused(padded);
    }
  });

  it("refuses every other spelling of the last character of the header, the payload and the signature", async () => {
    // A payload whose length leaves unused bits in its last base64url character, like the header
    // (49 bytes) and an ES256 signature (64 bytes) do.
    let payload = claims();
    for (let pad = ""; encoder.encode(JSON.stringify(payload)).length % 3 === 0; pad += "x") payload = claims({ pad });
    const token = await sign(payload, await es256Private());
    await expectAccepted(token, payload.sub);

    const parts = token.split(".");
    for (const [index, part] of parts.entries()) {
      const spellings = otherSpellingsOfLastCharacter(part);
      expect(spellings.length, `part ${index}`).toBeGreaterThan(0);
      for (const spelling of spellings) {
        const variant = parts.map((original, position) => (position === index ? spelling : original)).join(".");
        await expectRefused(variant);
      }
    }
  });

  it("refuses a 20 KB token, signed or not", async () => {
    const signed = await sign(claims({ padding: "x".repeat(20_000) }), await es256Private());
    expect(signed.length).toBeGreaterThan(20_000);
    await expectRefused(signed);
    await expectRefused("a".repeat(20_000));
    await expectRefused(`${"a".repeat(10_000)}.${"b".repeat(10_000)}.c`);
  });

  it("never trusts a key named by jku, x5u or an embedded jwk header", async () => {
    const attacker = await generateKeyPair("ES256", { extractable: true });
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: "attacker", alg: "ES256", use: "sig" };
    // The URLs point at the recording origin: fetching them would show up in its log.
    const origin = recordingOrigin();
    const headers: JWTHeaderParameters[] = [
      { alg: "ES256", typ: "at+jwt", kid: "attacker", jwk: attackerJwk },
      { alg: "ES256", typ: "at+jwt", kid: "test-es256", jwk: attackerJwk },
      { alg: "ES256", typ: "at+jwt", jwk: attackerJwk },
      { alg: "ES256", typ: "at+jwt", kid: "attacker", jku: `${origin.url}/jwks.json` },
      { alg: "ES256", typ: "at+jwt", kid: "test-es256", jku: `${origin.url}/jwks.json` },
      { alg: "ES256", typ: "at+jwt", kid: "attacker", x5u: `${origin.url}/cert.pem` },
    ];
    for (const header of headers) await expectRefused(await sign(claims(), attacker.privateKey, header));
    expect(await origin.requests()).toEqual([]);
  });

  it("binds each kid to its own algorithm: EdDSA on the ES256 kid and ES256 on the EdDSA kid are refused", async () => {
    // Signed with the real keys, so only the kid/alg pairing is wrong.
    await expectRefused(await sign(claims(), await eddsaPrivate(), { alg: "EdDSA", kid: "test-es256", typ: "at+jwt" }));
    await expectRefused(await sign(claims(), await es256Private(), { alg: "ES256", kid: "test-eddsa", typ: "at+jwt" }));
    const foreign = await generateKeyPair("EdDSA");
    await expectRefused(await sign(claims(), foreign.privateKey, { alg: "EdDSA", kid: "test-es256", typ: "at+jwt" }));
  });

  it("refuses algorithms that were not configured, even on a known kid", async () => {
    const rsa = await generateKeyPair("RS256");
    await expectRefused(await sign(claims(), rsa.privateKey, { alg: "RS256", kid: "test-es256", typ: "at+jwt" }));
    const p384 = await generateKeyPair("ES384");
    await expectRefused(await sign(claims(), p384.privateKey, { alg: "ES384", kid: "test-es256", typ: "at+jwt" }));
  });

  it("applies the same verification on the gateway's own Bearer routes", async () => {
    const foreign = await generateKeyPair("ES256");
    const forged = [
      `${base64url({ alg: "none", kid: "test-es256", typ: "at+jwt" })}.${base64url(claims())}.`,
      await sign(claims(), foreign.privateKey),
      await sign(claims({ iat: now() - 400, exp: now() - 100 }), await es256Private()),
    ];
    for (const token of forged) {
      const response = await call("/auth/sessions", { headers: bearer(token) });
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
    }
  });
});

// The JWT attack catalogue: every known way to get an access token past a verifier, each presented
// through the gateway (to a recording origin that must never see it) and to the Bearer route
// GET /auth/sessions. Forgeries signed with the real keys differ from a good token in one respect
// only, so each row proves that one check.
import { env } from "cloudflare:workers";
import { CompactEncrypt, FlattenedSign, importJWK, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { base64, base64url, bytesOf, call, concatBytes, fromBase64url, publicHalf } from "../helpers";
import {
  accessClaims,
  attackerKey,
  compactJws,
  EDDSA_HEADER,
  eddsaJwk,
  ES256_HEADER,
  es256Jwk,
  expectRefusedEverywhere,
  expectTokenAccepted,
  expectTokenRefused,
  fixedSignature,
  genuineToken,
  hmacSigner,
  nowSeconds,
  realKey,
  recordingOrigin,
} from "./attacks";

interface Forgery {
  name: string;
  token: () => Promise<string>;
}

/** The claims as JSON text with `raw` values spliced in verbatim (numbers JSON.stringify cannot write, like 1e400). */
function claimsText(overrides: Record<string, unknown>, raw: Record<string, string> = {}): string {
  let text = JSON.stringify(accessClaims({ ...overrides, ...Object.fromEntries(Object.keys(raw).map((name) => [name, `@@${name}@@`])) }));
  for (const [name, value] of Object.entries(raw)) text = text.replace(`"@@${name}@@"`, value);
  return text;
}

const es256 = () => realKey.es256();
const signedWithRealKey = async (header: object | string, payload: object | string) => compactJws(header, payload, await es256());

// ---------------------------------------------------------------------------------------------
// alg: none

const NONE_SPELLINGS = ["none", "None", "NONE", "nOnE"];

const algNone: Forgery[] = NONE_SPELLINGS.flatMap((alg) => [
  { name: `alg "${alg}" with an empty signature`, token: () => compactJws({ ...ES256_HEADER, alg }, accessClaims(), fixedSignature()) },
  {
    name: `alg "${alg}" keeping the signature of a genuine token`,
    token: async () => {
      const [, payload, signature] = (await genuineToken()).split(".");
      return `${base64url(JSON.stringify({ ...ES256_HEADER, alg }))}.${payload}.${signature}`;
    },
  },
  { name: `alg "${alg}" with random signature bytes`, token: () => compactJws({ ...ES256_HEADER, alg }, accessClaims(), fixedSignature(crypto.getRandomValues(new Uint8Array(64)))) },
  { name: `alg "${alg}" without a kid`, token: () => compactJws({ alg, typ: "at+jwt" }, accessClaims(), fixedSignature()) },
]);

// ---------------------------------------------------------------------------------------------
// HMAC keyed with our public key (algorithm confusion), in every encoding an attacker might guess

function pem(der: Uint8Array, newline: boolean): string {
  const body = base64(der).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----${newline ? "\n" : ""}`;
}

async function publicKeyEncodings(jwk: JWK, alg: "ES256" | "EdDSA"): Promise<Array<[string, Uint8Array]>> {
  const key = (await importJWK({ ...publicHalf(jwk), alg }, alg)) as CryptoKey;
  const der = new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
  const raw = new Uint8Array((await crypto.subtle.exportKey("raw", key)) as ArrayBuffer);
  const published = (await (await call("/.well-known/jwks.json")).json()) as { keys: JWK[] };
  const publishedKey = published.keys.find((entry) => entry.kid === jwk.kid)!;
  const encodings: Array<[string, Uint8Array | string]> = [
    ["the JWK JSON as /.well-known/jwks.json publishes it", JSON.stringify(publishedKey)],
    ["the whole JWKS document", JSON.stringify(published)],
    ["the minimal JWK JSON (RFC 7638 member order)", JSON.stringify(alg === "ES256" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x })],
    ["the PEM SPKI with a final newline", pem(der, true)],
    ["the PEM SPKI without a final newline", pem(der, false)],
    ["the DER SPKI", der],
    ["base64 of the DER SPKI", base64(der)],
    ["base64url of the DER SPKI", base64url(der)],
    ["the raw public key bytes", raw],
    ["base64url of the raw public key", base64url(raw)],
    ["the x coordinate bytes", fromBase64url(jwk.x!)],
    ["the x coordinate as base64url text", jwk.x!],
  ];
  if (alg === "ES256") {
    const x = fromBase64url(jwk.x!);
    const y = fromBase64url(jwk.y!);
    encodings.push(
      ["x and y concatenated", concatBytes(x, y)],
      ["base64url of x and y", base64url(concatBytes(x, y))],
      ["the compressed point", concatBytes(new Uint8Array([2 + (y.at(-1)! & 1)]), x)],
      ["the y coordinate bytes", y],
      ["the y coordinate as base64url text", jwk.y!],
    );
  }
  return encodings.map(([name, value]) => [name, bytesOf(value)]);
}

const HMAC_ALGS = ["HS256", "HS384", "HS512"] as const;
const ES256_ENCODING_NAMES = [
  "the JWK JSON as /.well-known/jwks.json publishes it",
  "the whole JWKS document",
  "the minimal JWK JSON (RFC 7638 member order)",
  "the PEM SPKI with a final newline",
  "the PEM SPKI without a final newline",
  "the DER SPKI",
  "base64 of the DER SPKI",
  "base64url of the DER SPKI",
  "the raw public key bytes",
  "base64url of the raw public key",
  "the x coordinate bytes",
  "the x coordinate as base64url text",
  "x and y concatenated",
  "base64url of x and y",
  "the compressed point",
  "the y coordinate bytes",
  "the y coordinate as base64url text",
];
const EDDSA_ENCODING_NAMES = ES256_ENCODING_NAMES.slice(0, 12);

async function hmacForgery(alg: (typeof HMAC_ALGS)[number], jwk: JWK, keyAlg: "ES256" | "EdDSA", encodingName: string) {
  const encoding = (await publicKeyEncodings(jwk, keyAlg)).find(([name]) => name === encodingName)!;
  return compactJws({ alg, kid: jwk.kid, typ: "at+jwt" }, accessClaims(), hmacSigner(alg, encoding[1]));
}

const hmacConfusion: Forgery[] = [
  ...HMAC_ALGS.flatMap((alg) =>
    ES256_ENCODING_NAMES.map((encoding) => ({
      name: `${alg} on kid test-es256 keyed with ${encoding}`,
      token: () => hmacForgery(alg, es256Jwk, "ES256", encoding),
    })),
  ),
  ...EDDSA_ENCODING_NAMES.map((encoding) => ({
    name: `HS256 on kid test-eddsa keyed with ${encoding}`,
    token: () => hmacForgery("HS256", eddsaJwk, "EdDSA", encoding),
  })),
];

// ---------------------------------------------------------------------------------------------
// Foreign keys, and headers that point at them

const jkuOrigin = recordingOrigin();

const foreignKeys: Forgery[] = [
  { name: "a foreign ES256 key signing with kid test-es256", token: async () => compactJws(ES256_HEADER, accessClaims(), (await attackerKey("ES256")).sign) },
  { name: "a foreign Ed25519 key signing with kid test-eddsa", token: async () => compactJws(EDDSA_HEADER, accessClaims(), (await attackerKey("EdDSA")).sign) },
  { name: "a foreign ES256 key signing with kid test-eddsa", token: async () => compactJws({ ...ES256_HEADER, kid: "test-eddsa" }, accessClaims(), (await attackerKey("ES256")).sign) },
  { name: "a foreign ES384 key signing with kid test-es256", token: async () => compactJws({ ...ES256_HEADER, alg: "ES384" }, accessClaims(), (await attackerKey("ES384")).sign) },
  { name: "a foreign RS256 key signing with kid test-es256", token: async () => compactJws({ ...ES256_HEADER, alg: "RS256" }, accessClaims(), (await attackerKey("RS256")).sign) },
  { name: "a foreign PS256 key signing with kid test-es256", token: async () => compactJws({ ...ES256_HEADER, alg: "PS256" }, accessClaims(), (await attackerKey("PS256")).sign) },
];

const embeddedKeys: Forgery[] = [
  {
    name: "an embedded jwk header holding the attacker's key, with kid test-es256",
    token: async () => {
      const attacker = await attackerKey("ES256");
      return compactJws({ ...ES256_HEADER, jwk: attacker.publicJwk }, accessClaims(), attacker.sign);
    },
  },
  {
    name: "an embedded jwk header holding the attacker's key, without a kid",
    token: async () => {
      const attacker = await attackerKey("ES256");
      return compactJws({ alg: "ES256", typ: "at+jwt", jwk: attacker.publicJwk }, accessClaims(), attacker.sign);
    },
  },
  {
    name: "an embedded jwk header whose kid is test-es256 and whose key is the attacker's",
    token: async () => {
      const attacker = await attackerKey("ES256");
      return compactJws({ ...ES256_HEADER, jwk: { ...attacker.publicJwk, kid: "test-es256" } }, accessClaims(), attacker.sign);
    },
  },
  {
    name: "a jku header pointing at the attacker's JWKS, with kid test-es256",
    token: async () => compactJws({ ...ES256_HEADER, jku: `${jkuOrigin.url}/jwks.json` }, accessClaims(), (await attackerKey("ES256")).sign),
  },
  {
    name: "an x5u header pointing at the attacker's certificate, with kid test-es256",
    token: async () => compactJws({ ...ES256_HEADER, x5u: `${jkuOrigin.url}/cert.pem` }, accessClaims(), (await attackerKey("ES256")).sign),
  },
  {
    name: "an x5c header carrying the attacker's key, with kid test-es256",
    token: async () => {
      const attacker = await attackerKey("ES256");
      const spki = new Uint8Array((await crypto.subtle.exportKey("spki", attacker.publicKey)) as ArrayBuffer);
      return compactJws({ ...ES256_HEADER, x5c: [base64(spki)] }, accessClaims(), attacker.sign);
    },
  },
  {
    name: "a kid that is a URL of the attacker's JWKS",
    token: async () => compactJws({ ...ES256_HEADER, kid: `${jkuOrigin.url}/jwks.json` }, accessClaims(), (await attackerKey("ES256")).sign),
  },
  {
    name: "a kid naming /dev/null, HMAC-signed with the empty key",
    token: () => compactJws({ alg: "HS256", kid: "../../../../../../dev/null", typ: "at+jwt" }, accessClaims(), hmacSigner("HS256", new Uint8Array(0))),
  },
  {
    name: "a kid with SQL injection, HMAC-signed with the value it would select",
    token: () => compactJws({ alg: "HS256", kid: "x' UNION SELECT 'secret' --", typ: "at+jwt" }, accessClaims(), hmacSigner("HS256", bytesOf("secret"))),
  },
  ...["__proto__", "constructor", "toString", "test-es256 ", "TEST-ES256", ""].map((kid) => ({
    name: `the real key under kid ${JSON.stringify(kid)}`,
    token: () => signedWithRealKey({ ...ES256_HEADER, kid }, accessClaims()),
  })),
  ...[null, 0, ["test-es256"], { kid: "test-es256" }].map((kid) => ({
    name: `the real key under a kid of type ${Array.isArray(kid) ? "array" : kid === null ? "null" : typeof kid}`,
    token: () => signedWithRealKey({ ...ES256_HEADER, kid }, accessClaims()),
  })),
  ...["es256", "ES256 ", "ECDSA", "Ed25519", "ES256K", ""].map((alg) => ({
    name: `the real key under alg ${JSON.stringify(alg)}`,
    token: () => signedWithRealKey({ ...ES256_HEADER, alg }, accessClaims()),
  })),
  {
    name: "the real Ed25519 key under the fully-specified alg Ed25519 (not the configured EdDSA)",
    token: async () => compactJws({ ...EDDSA_HEADER, alg: "Ed25519" }, accessClaims(), await realKey.eddsa()),
  },
];

// ---------------------------------------------------------------------------------------------
// crit, b64 and other serializations

const critAndSerializations: Forgery[] = [
  { name: "crit naming an unknown extension", token: () => signedWithRealKey({ ...ES256_HEADER, crit: ["urn:example:unknown"], "urn:example:unknown": true }, accessClaims()) },
  { name: "crit naming a claim", token: () => signedWithRealKey({ ...ES256_HEADER, crit: ["exp"], exp: nowSeconds() + 300 }, accessClaims()) },
  { name: "crit naming a registered header parameter", token: () => signedWithRealKey({ ...ES256_HEADER, crit: ["kid"] }, accessClaims()) },
  { name: "an empty crit", token: () => signedWithRealKey({ ...ES256_HEADER, crit: [] }, accessClaims()) },
  { name: "crit as a string", token: () => signedWithRealKey({ ...ES256_HEADER, crit: "b64", b64: false }, accessClaims()) },
  { name: "crit naming an extension the header lacks", token: () => signedWithRealKey({ ...ES256_HEADER, crit: ["urn:example:missing"] }, accessClaims()) },
  { name: "b64: false in crit over a base64url payload", token: () => signedWithRealKey({ ...ES256_HEADER, b64: false, crit: ["b64"] }, accessClaims()) },
  {
    name: "b64: false in crit with the payload unencoded (RFC 7797), signed with the real key",
    token: async () => {
      const jws = await new FlattenedSign(bytesOf(JSON.stringify(accessClaims())))
        .setProtectedHeader({ ...ES256_HEADER, b64: false, crit: ["b64"] })
        .sign((await importJWK(es256Jwk, "ES256")) as CryptoKey);
      return `${jws.protected}.${jws.payload}.${jws.signature}`;
    },
  },
  {
    name: "b64: false in crit with a detached payload",
    token: async () => {
      const jws = await new FlattenedSign(bytesOf(JSON.stringify(accessClaims())))
        .setProtectedHeader({ ...ES256_HEADER, b64: false, crit: ["b64"] })
        .sign((await importJWK(es256Jwk, "ES256")) as CryptoKey);
      return `${jws.protected}..${jws.signature}`;
    },
  },
  {
    name: "a JWE (five parts) encrypted to our public key with ECDH-ES",
    token: async () => {
      const key = await importJWK({ ...publicHalf(es256Jwk), alg: "ECDH-ES" }, "ECDH-ES");
      return new CompactEncrypt(bytesOf(JSON.stringify(accessClaims())))
        .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM", kid: "test-es256", typ: "at+jwt" })
        .encrypt(key);
    },
  },
  {
    name: "a JWE (five parts) with alg dir keyed with our public x coordinate",
    token: async () =>
      new CompactEncrypt(bytesOf(JSON.stringify(accessClaims())))
        .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: "test-es256", typ: "at+jwt" })
        .encrypt(fromBase64url(es256Jwk.x!)),
  },
  {
    name: "the JWS JSON serialization of a genuine token",
    token: async () => {
      const [header, payload, signature] = (await genuineToken()).split(".");
      return JSON.stringify({ protected: header, payload, signature });
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Duplicate JSON members in forged tokens

const duplicateMembers: Forgery[] = [
  { name: 'a header saying alg ES256 then alg none, unsigned', token: () => compactJws('{"alg":"ES256","kid":"test-es256","typ":"at+jwt","alg":"none"}', accessClaims(), fixedSignature()) },
  { name: 'a header saying alg none then alg ES256, unsigned', token: () => compactJws('{"alg":"none","kid":"test-es256","typ":"at+jwt","alg":"ES256"}', accessClaims(), fixedSignature()) },
  { name: "a header saying alg ES256 then alg HS256, keyed with our public JWK", token: () => compactJws('{"alg":"ES256","kid":"test-es256","typ":"at+jwt","alg":"HS256"}', accessClaims(), hmacSigner("HS256", bytesOf(JSON.stringify(publicHalf(es256Jwk))))) },
  { name: "a header with two kids, signed by the attacker", token: async () => compactJws('{"alg":"ES256","kid":"attacker","typ":"at+jwt","kid":"test-es256"}', accessClaims(), (await attackerKey("ES256")).sign) },
  {
    name: "a payload with two subs, signed by the attacker",
    token: async () => compactJws(ES256_HEADER, claimsText({ sub: "victim" }).replace(/}$/, ',"sub":"admin"}'), (await attackerKey("ES256")).sign),
  },
  {
    name: "a payload with two subs after a genuine one's signature",
    token: async () => {
      const claims = accessClaims();
      const [header, , signature] = (await compactJws(ES256_HEADER, claims, await es256())).split(".");
      return `${header}.${base64url(JSON.stringify(claims).replace(/}$/, ',"sub":"admin"}'))}.${signature}`;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Non-canonical spellings of a genuine token

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The same bytes with the unused low bits of the last character set: decoders forgive it. */
function otherLastCharacter(part: string): string | null {
  const unusedBits = { 0: 0, 1: 0, 2: 4, 3: 2 }[(part.length % 4) as 0 | 1 | 2 | 3];
  if (unusedBits === 0) return null;
  const last = BASE64URL_ALPHABET.indexOf(part.at(-1)!);
  return `${part.slice(0, -1)}${BASE64URL_ALPHABET[last ^ 1]}`;
}

/** A genuine token whose every part has unused bits in its last character and whose signature holds `-` or `_`. */
async function genuineTokenWithSlack(): Promise<string> {
  for (let pad = ""; ; pad += "x") {
    const token = await genuineToken({ pad });
    const parts = token.split(".");
    if (parts.every((part) => otherLastCharacter(part) !== null) && /[-_]/.test(token)) return token;
  }
}

const nonCanonical: Forgery[] = [
  { name: "a genuine token with = padding at the end", token: async () => `${await genuineToken()}=` },
  { name: "a genuine token with == padding on its header", token: async () => (await genuineToken()).replace(".", "==.") },
  ...[0, 1, 2].map((index) => ({
    name: `a genuine token with another spelling of the last character of part ${index + 1}`,
    token: async () => {
      const parts = (await genuineTokenWithSlack()).split(".");
      parts[index] = otherLastCharacter(parts[index]!)!;
      return parts.join(".");
    },
  })),
  { name: "a genuine token in the standard base64 alphabet (+ and /)", token: async () => (await genuineTokenWithSlack()).replace(/-/g, "+").replace(/_/g, "/") },
  { name: "a genuine token with a leading dot", token: async () => `.${await genuineToken()}` },
  { name: "a genuine token with a trailing dot", token: async () => `${await genuineToken()}.` },
  { name: "a genuine token with a fourth part", token: async () => `${await genuineToken()}.${base64url("extra")}` },
  { name: "a genuine token with its dots percent-encoded", token: async () => (await genuineToken()).replace(/\./g, "%2E") },
  { name: "a genuine token with a space inside", token: async () => (await genuineToken()).replace(".", ". ") },
  { name: "a genuine header and payload with an all-zero ES256 signature (CVE-2022-21449)", token: async () => compactJws(ES256_HEADER, accessClaims(), fixedSignature(new Uint8Array(64))) },
  {
    name: "a genuine header and payload with r = s = n (the group order)",
    token: async () => {
      const n = Uint8Array.from(atob("/////wAAAAD//////////7zm+q2nF56E87nKwvxjJVE="), (char) => char.charCodeAt(0));
      return compactJws(ES256_HEADER, accessClaims(), fixedSignature(concatBytes(n, n)));
    },
  },
  {
    name: "a genuine ES256 signature re-encoded as ASN.1 DER",
    token: async () => {
      const [header, payload, signature] = (await genuineToken()).split(".");
      const raw = fromBase64url(signature!);
      const integer = (bytes: Uint8Array) => {
        const trimmed = bytes.slice(bytes.findIndex((byte) => byte !== 0));
        const value = trimmed[0]! & 0x80 ? concatBytes(new Uint8Array([0]), trimmed) : trimmed;
        return concatBytes(new Uint8Array([0x02, value.length]), value);
      };
      const body = concatBytes(integer(raw.slice(0, 32)), integer(raw.slice(32)));
      return `${header}.${payload}.${base64url(concatBytes(new Uint8Array([0x30, body.length]), body))}`;
    },
  },
  {
    name: "a genuine Ed25519 signature with S + L (a non-canonical S)",
    token: async () => {
      const [header, payload, signature] = (await compactJws(EDDSA_HEADER, accessClaims(), await realKey.eddsa())).split(".");
      const raw = fromBase64url(signature!);
      const L = (1n << 252n) + 27742317777372353535851937790883648493n;
      let s = 0n;
      for (let index = 63; index >= 32; index--) s = (s << 8n) + BigInt(raw[index]!);
      let sum = s + L;
      for (let index = 32; index < 64; index++) {
        raw[index] = Number(sum & 0xffn);
        sum >>= 8n;
      }
      return `${header}.${payload}.${base64url(raw)}`;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Claims: everything signed with the real key, only the named claim is off

const later = () => nowSeconds() + 300;

const claimEdgeCases: Forgery[] = [
  ...(
    [
      ["exp as a numeric string", { exp: String(later()) }],
      ["exp as a far-future string", { exp: "9999999999" }],
      ["exp null", { exp: null }],
      ["exp true", { exp: true }],
      ["exp as an array", { exp: [later()] }],
      ["exp as an object", { exp: { value: later() } }],
      ["exp negative", { exp: -1 }],
      ["exp zero", { exp: 0 }],
      ["exp as a float in the past", { exp: nowSeconds() - 45.5 }],
      ["exp far future with iat long past (life capped at the TTL)", { exp: 4_102_444_800, iat: nowSeconds() - 3600 }],
      ["nbf as a string", { nbf: "0" }],
      ["nbf null", { nbf: null }],
      ["nbf as a float beyond the skew", { nbf: nowSeconds() + 120.5 }],
      ["iat as a string", { iat: String(nowSeconds()) }],
      ["iat null", { iat: null }],
      ["iat negative", { iat: -1 }],
      ["iat zero", { iat: 0 }],
      ["iat as a float beyond the skew", { iat: nowSeconds() + 60.5 }],
      ["iat huge", { iat: 1e20 }],
      ["no iat", { iat: undefined }],
      ["no exp", { exp: undefined }],
      ["no sub", { sub: undefined }],
      ["sub empty", { sub: "" }],
      ["sub a number", { sub: 42 }],
      ["sub an array", { sub: ["admin"] }],
      ["sub an object", { sub: { id: "admin" } }],
      ["sub null", { sub: null }],
      ["sub true", { sub: true }],
      ["no sid", { sid: undefined }],
      ["sid empty", { sid: "" }],
      ["sid a number", { sid: 7 }],
      ["sid null", { sid: null }],
      ["no jti", { jti: undefined }],
      ["jti a number", { jti: 1 }],
      ["jti null", { jti: null }],
      ["aud an array without ours", { aud: ["another-api"] }],
      ["aud an empty array", { aud: [] }],
      ["aud an array holding ours (only the string form is ours)", { aud: [env.AUDIENCE, "another-api"] }],
      ["aud empty", { aud: "" }],
      ["aud with a trailing space", { aud: `${env.AUDIENCE} ` }],
      ["aud in upper case", { aud: env.AUDIENCE!.toUpperCase() }],
      ["aud null", { aud: null }],
      ["no aud", { aud: undefined }],
      ["iss an array holding ours", { iss: [env.ISSUER] }],
      ["iss with a trailing slash", { iss: `${env.ISSUER}/` }],
      ["iss null", { iss: null }],
      ["no iss", { iss: undefined }],
    ] as Array<[string, Record<string, unknown>]>
  ).map(([name, overrides]) => ({ name, token: () => signedWithRealKey(ES256_HEADER, accessClaims(overrides)) })),
  ...(
    [
      ["exp 1e400 (Infinity) with iat long past", { iat: nowSeconds() - 3600 }, { exp: "1e400" }],
      ["iat 1e400 (Infinity)", {}, { iat: "1e400" }],
      ["iat -1e400 (-Infinity)", {}, { iat: "-1e400" }],
      ["nbf 1e400 (Infinity)", {}, { nbf: "1e400" }],
      ["exp -1e400 (-Infinity)", {}, { exp: "-1e400" }],
    ] as Array<[string, Record<string, unknown>, Record<string, string>]>
  ).map(([name, overrides, raw]) => ({ name, token: () => signedWithRealKey(ES256_HEADER, claimsText(overrides, raw)) })),
  ...["JWT", "jwt", "application/jwt", "at+jwt ", " at+jwt", "", "at+jwt; charset=utf-8", "application/at+jwt+x", "refresh+jwt", "secevent+jwt", "dpop+jwt", "at+jwe", "application/at-jwt"].map((typ) => ({
    name: `typ ${JSON.stringify(typ)}`,
    token: () => signedWithRealKey({ ...ES256_HEADER, typ }, accessClaims()),
  })),
  ...[["no typ", undefined], ["typ as an array", ["at+jwt"]], ["typ a number", 1], ["typ null", null]].map(([name, typ]) => ({
    name: String(name),
    token: () => signedWithRealKey({ alg: "ES256", kid: "test-es256", ...(typ === undefined ? {} : { typ }) }, accessClaims()),
  })),
  ...[["an array", "[]"], ["a string", '"claims"'], ["null", "null"], ["a number", "1"], ["not JSON", "{sub: admin}"]].map(([name, text]) => ({
    name: `a payload that is ${name}`,
    token: () => signedWithRealKey(ES256_HEADER, text!),
  })),
  {
    name: "a payload that is not UTF-8",
    token: async () => compactJws(ES256_HEADER, concatBytes(bytesOf(JSON.stringify(accessClaims()).slice(0, -1)), bytesOf(',"x":"'), new Uint8Array([0xc3, 0x28]), bytesOf('"}')), await es256()),
  },
  { name: "a header that is not JSON", token: () => signedWithRealKey("{alg: ES256}", accessClaims()) },
  { name: "a header that is an array", token: () => signedWithRealKey(JSON.stringify([ES256_HEADER]), accessClaims()) },
];

// ---------------------------------------------------------------------------------------------

describe("the baseline every forgery departs from", () => {
  it("accepts a token forged with the real ES256 key and the real claims, so each row below differs only in its attack", async () => {
    const claims = accessClaims();
    await expectTokenAccepted(await compactJws(ES256_HEADER, claims, await es256()), claims.sub);
  });

  it("accepts the same with the real EdDSA key", async () => {
    const claims = accessClaims();
    await expectTokenAccepted(await compactJws(EDDSA_HEADER, claims, await realKey.eddsa()), claims.sub);
  });
});

describe.each([
  ["alg none", algNone],
  ["HMAC keyed with our public key", hmacConfusion],
  ["foreign keys", foreignKeys],
  ["keys named or embedded in the header", embeddedKeys],
  ["crit, b64 and other serializations", critAndSerializations],
  ["duplicate JSON members", duplicateMembers],
  ["non-canonical spellings and broken signatures", nonCanonical],
  ["claim and header edge cases", claimEdgeCases],
] as Array<[string, Forgery[]]>)("JWT attacks: %s", (_class, forgeries) => {
  it.each(forgeries)("refuses $name with 401 invalid_token, and the origin never sees it", async ({ token }) => {
    await expectTokenRefused(await token());
  });
});

describe("JWT attacks: what the verifier never does", () => {
  it("never fetches a key from a jku, x5u or kid URL", async () => {
    for (const forgery of embeddedKeys.filter(({ name }) => /jku|x5u|URL/.test(name))) await expectTokenRefused(await forgery.token());
    expect(await jkuOrigin.requests()).toEqual([]);
  });
});

describe("JWT attacks: the Authorization header", () => {
  const vary = async (build: (token: string) => RequestInit) => build(await genuineToken());

  it.each([
    ["a token of 8,193 characters", () => ({ headers: { Authorization: `Bearer ${"A".repeat(8193)}` } })],
    ["a header of 64 KiB", () => ({ headers: { Authorization: `Bearer ${"A".repeat(64 * 1024)}` } })],
    ["a genuinely signed token over 8,192 characters", async () => ({ headers: { Authorization: `Bearer ${await genuineToken({ pad: "x".repeat(8192) })}` } })],
    ["a genuinely signed token of 64 KiB", async () => ({ headers: { Authorization: `Bearer ${await genuineToken({ pad: "x".repeat(48 * 1024) })}` } })],
    ["a genuine token followed by 9 KiB of padding", async () => vary((token) => ({ headers: { Authorization: `Bearer ${token}${"=".repeat(9 * 1024)}` } }))],
    ["two Authorization headers, genuine then garbage", async () => vary((token) => ({ headers: new Headers([["Authorization", `Bearer ${token}`], ["Authorization", "Bearer garbage"]]) }))],
    ["two Authorization headers, garbage then genuine", async () => vary((token) => ({ headers: new Headers([["Authorization", "Bearer garbage"], ["Authorization", `Bearer ${token}`]]) }))],
    ["two Authorization headers, both genuine", async () => vary((token) => ({ headers: new Headers([["Authorization", `Bearer ${token}`], ["Authorization", `Bearer ${token}`]]) }))],
    ["two Bearer credentials in one header", async () => vary((token) => ({ headers: { Authorization: `Bearer ${token}, Bearer ${token}` } }))],
    ["a genuine token and a second word", async () => vary((token) => ({ headers: { Authorization: `Bearer ${token} extra` } }))],
    ["a tab between Bearer and a genuine token", async () => vary((token) => ({ headers: { Authorization: `Bearer\t${token}` } }))],
    ["Bearer with no token", () => ({ headers: { Authorization: "Bearer" } })],
  ] as Array<[string, () => RequestInit | Promise<RequestInit>]>)("refuses %s with 401 invalid_token, never 5xx", async (_name, init) => {
    await expectRefusedEverywhere(await init(), "invalid_token");
  });

  it.each([
    ["Basic credentials holding a genuine token", (token: string) => ({ headers: { Authorization: `Basic ${base64(`${token}:`)}` } })],
    ["the Token scheme", (token: string) => ({ headers: { Authorization: `Token ${token}` } })],
    ["the JWT scheme", (token: string) => ({ headers: { Authorization: `JWT ${token}` } })],
    ["Bearer glued to the token", (token: string) => ({ headers: { Authorization: `Bearer${token}` } })],
    ["a Bearer-Token scheme", (token: string) => ({ headers: { Authorization: `Bearer-Token ${token}` } })],
    ["the bare token without a scheme", (token: string) => ({ headers: { Authorization: token } })],
    ["an empty Authorization header", () => ({ headers: { Authorization: "" } })],
  ] as Array<[string, (token: string) => RequestInit]>)("answers %s with the bare Bearer challenge, as for no token", async (_name, build) => {
    await expectRefusedEverywhere(build(await genuineToken()), "bare");
  });
});

describe("JWT attacks: a genuine token anywhere but the Authorization header", () => {
  it.each([
    ["the access_token query parameter (RFC 6750 section 2.3)", (token: string) => ({ query: `?access_token=${token}`, init: {} })],
    ["a token query parameter", (token: string) => ({ query: `?token=${token}&jwt=${token}`, init: {} })],
    ["an access_token cookie", (token: string) => ({ init: { headers: { Cookie: `access_token=${token}; token=${token}; jwt=${token}` } } })],
    ["an Authorization cookie", (token: string) => ({ init: { headers: { Cookie: `Authorization=Bearer%20${token}` } } })],
    [
      "a form body (RFC 6750 section 2.2)",
      (token: string) => ({ init: { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: `access_token=${token}` } }),
    ],
    ["a JSON body", (token: string) => ({ init: { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ access_token: token }) } })],
    ["Proxy-Authorization", (token: string) => ({ init: { headers: { "Proxy-Authorization": `Bearer ${token}` } } })],
    ["X-Access-Token and X-Forwarded-Authorization", (token: string) => ({ init: { headers: { "X-Access-Token": token, "X-Forwarded-Authorization": `Bearer ${token}` } } })],
    ["X-Auth-Token", (token: string) => ({ init: { headers: { "X-Auth-Token": token } } })],
  ] as Array<[string, (token: string) => { query?: string; init: RequestInit }]>)("does not take a token from %s", async (_name, build) => {
    const { query, init } = build(await genuineToken());
    await expectRefusedEverywhere(init, "bare", { query });
  });

  it("does not take a token from the body of a Bearer route either: logout-all with {access_token} is 401", async () => {
    const response = await call("/auth/logout-all", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ access_token: await genuineToken() }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-auth-gateway"');
  });
});

describe("JWT attacks: tokens signed with the real key, read safely", () => {
  it("reads a duplicated header or claim as its last value, as RFC 7515 and RFC 7519 section 4 allow, so the signer decides", async () => {
    // Only the signing key can make such a token; what matters is that the gateway and the claims it
    // forwards agree on one reading.
    const claims = accessClaims({ sub: "first" });
    const lastSub = await signedWithRealKey(ES256_HEADER, JSON.stringify(claims).replace(/}$/, ',"sub":"last"}'));
    await expectTokenAccepted(lastSub, "last");
    const lastAlgNone = await signedWithRealKey('{"alg":"ES256","kid":"test-es256","typ":"at+jwt","alg":"none"}', accessClaims());
    await expectTokenRefused(lastAlgNone);
  });

  it("takes typ case-insensitively and with the application/ prefix (RFC 7515 section 4.1.9, RFC 9068 section 4); other types are refused above", async () => {
    for (const typ of ["at+jwt", "AT+JWT", "at+JWT", "application/at+jwt", "Application/AT+JWT"]) {
      const claims = accessClaims();
      await expectTokenAccepted(await signedWithRealKey({ ...ES256_HEADER, typ }, claims), claims.sub);
    }
  });

  it("ignores b64 outside crit (an unknown header parameter) and still reads the payload as base64url", async () => {
    const claims = accessClaims();
    await expectTokenAccepted(await signedWithRealKey({ ...ES256_HEADER, b64: false }, claims), claims.sub);
  });

  it("reads a byte order mark before the payload JSON as nothing, as TextDecoder does (only the signer can add one)", async () => {
    const claims = accessClaims();
    await expectTokenAccepted(await signedWithRealKey(ES256_HEADER, `\uFEFF${JSON.stringify(claims)}`), claims.sub);
  });

  it("accepts exp as a float within its lifetime (NumericDate, RFC 7519 section 2)", async () => {
    const claims = accessClaims({ iat: nowSeconds() - 0.5, exp: nowSeconds() + 299.5 });
    await expectTokenAccepted(await signedWithRealKey(ES256_HEADER, claims), claims.sub);
  });

  // ECDSA signatures are malleable: (r, s) and (r, n - s) both verify under WebCrypto, and
  // WebCrypto signs either. Refusing the high-s form would refuse half of the tokens any other
  // signer of the same key makes, so it is accepted: the twin can only be made from a genuine
  // token, and names the same jti, which is what identifies a token (docs/api.md).
  it("accepts the high-s twin of a genuine ES256 signature as the same token (ECDSA malleability)", async () => {
    const claims = accessClaims();
    const token = await compactJws(ES256_HEADER, claims, await es256());
    const [header, payload, signature] = token.split(".");
    const raw = fromBase64url(signature!);
    const n = BigInt("0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    const s = BigInt(`0x${[...raw.slice(32)].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`);
    const twinS = (n - s).toString(16).padStart(64, "0");
    const twin = concatBytes(raw.slice(0, 32), Uint8Array.from(twinS.match(/../g)!, (hex) => parseInt(hex, 16)));
    await expectTokenAccepted(`${header}.${payload}.${base64url(twin)}`, claims.sub);
  });

  // A correctly signed token whose sub or sid holds a character a header value cannot carry is
  // refused by the verifier, instead of making the gateway throw while setting X-Auth-User.
  it("refuses a correctly signed token whose sub or sid holds CR, LF or NUL with 401, not 500", async () => {
    for (const overrides of [{ sub: "alice\r\nX-Auth-Admin: 1" }, { sub: "alice\u0000" }, { sid: "s\r\nX-Auth-User: admin" }]) {
      await expectTokenRefused(await signedWithRealKey(ES256_HEADER, accessClaims(overrides)));
    }
  });
});

// Forged signatures: alg none in every spelling, and HMAC keyed with our public key (algorithm
// confusion) in every encoding an attacker might guess.
import { importJWK, type JWK } from "jose";
import { accessTokenClaims, base64, base64url, bytesOf, call, concatBytes, fromBase64url, publicHalf } from "../../helpers";
import { compactJws, eddsaJwk, ES256_HEADER, es256Jwk, fixedSignature, genuineToken, hmacSigner } from "../attacks";
import type { Forgery } from "./forgery";

// alg: none

const NONE_SPELLINGS = ["none", "None", "NONE", "nOnE"];

export const algNone: Forgery[] = NONE_SPELLINGS.flatMap((alg) => [
  { name: `alg "${alg}" with an empty signature`, token: () => compactJws({ ...ES256_HEADER, alg }, accessTokenClaims(), fixedSignature()) },
  {
    name: `alg "${alg}" keeping the signature of a genuine token`,
    token: async () => {
      const [, payload, signature] = (await genuineToken()).split(".");
      return `${base64url(JSON.stringify({ ...ES256_HEADER, alg }))}.${payload}.${signature}`;
    },
  },
  { name: `alg "${alg}" with random signature bytes`, token: () => compactJws({ ...ES256_HEADER, alg }, accessTokenClaims(), fixedSignature(crypto.getRandomValues(new Uint8Array(64)))) },
  { name: `alg "${alg}" without a kid`, token: () => compactJws({ alg, typ: "at+jwt" }, accessTokenClaims(), fixedSignature()) },
]);

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
  return compactJws({ alg, kid: jwk.kid, typ: "at+jwt" }, accessTokenClaims(), hmacSigner(alg, encoding[1]));
}

export const hmacConfusion: Forgery[] = [
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

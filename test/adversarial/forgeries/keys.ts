// Keys that are not ours: foreign keys under our kid, and headers that name or embed a key.
import { accessTokenClaims, base64, bytesOf } from "../../helpers";
import { attackerKey, compactJws, EDDSA_HEADER, ES256_HEADER, hmacSigner, realKey, recordingOrigin } from "../attacks";
import { type Forgery, signedWithRealKey } from "./forgery";

// Foreign keys, and headers that point at them

export const jkuOrigin = recordingOrigin();

export const foreignKeys: Forgery[] = [
  { name: "a foreign ES256 key signing with kid test-es256", token: async () => compactJws(ES256_HEADER, accessTokenClaims(), (await attackerKey("ES256")).sign) },
  { name: "a foreign Ed25519 key signing with kid test-eddsa", token: async () => compactJws(EDDSA_HEADER, accessTokenClaims(), (await attackerKey("EdDSA")).sign) },
  { name: "a foreign ES256 key signing with kid test-eddsa", token: async () => compactJws({ ...ES256_HEADER, kid: "test-eddsa" }, accessTokenClaims(), (await attackerKey("ES256")).sign) },
  { name: "a foreign ES384 key signing with kid test-es256", token: async () => compactJws({ ...ES256_HEADER, alg: "ES384" }, accessTokenClaims(), (await attackerKey("ES384")).sign) },
  { name: "a foreign RS256 key signing with kid test-es256", token: async () => compactJws({ ...ES256_HEADER, alg: "RS256" }, accessTokenClaims(), (await attackerKey("RS256")).sign) },
  { name: "a foreign PS256 key signing with kid test-es256", token: async () => compactJws({ ...ES256_HEADER, alg: "PS256" }, accessTokenClaims(), (await attackerKey("PS256")).sign) },
];

export const embeddedKeys: Forgery[] = [
  {
    name: "an embedded jwk header holding the attacker's key, with kid test-es256",
    token: async () => {
      const attacker = await attackerKey("ES256");
      return compactJws({ ...ES256_HEADER, jwk: attacker.publicJwk }, accessTokenClaims(), attacker.sign);
    },
  },
  {
    name: "an embedded jwk header holding the attacker's key, without a kid",
    token: async () => {
      const attacker = await attackerKey("ES256");
      return compactJws({ alg: "ES256", typ: "at+jwt", jwk: attacker.publicJwk }, accessTokenClaims(), attacker.sign);
    },
  },
  {
    name: "an embedded jwk header whose kid is test-es256 and whose key is the attacker's",
    token: async () => {
      const attacker = await attackerKey("ES256");
      return compactJws({ ...ES256_HEADER, jwk: { ...attacker.publicJwk, kid: "test-es256" } }, accessTokenClaims(), attacker.sign);
    },
  },
  {
    name: "a jku header pointing at the attacker's JWKS, with kid test-es256",
    token: async () => compactJws({ ...ES256_HEADER, jku: `${jkuOrigin.url}/jwks.json` }, accessTokenClaims(), (await attackerKey("ES256")).sign),
  },
  {
    name: "an x5u header pointing at the attacker's certificate, with kid test-es256",
    token: async () => compactJws({ ...ES256_HEADER, x5u: `${jkuOrigin.url}/cert.pem` }, accessTokenClaims(), (await attackerKey("ES256")).sign),
  },
  {
    name: "an x5c header carrying the attacker's key, with kid test-es256",
    token: async () => {
      const attacker = await attackerKey("ES256");
      const spki = new Uint8Array((await crypto.subtle.exportKey("spki", attacker.publicKey)) as ArrayBuffer);
      return compactJws({ ...ES256_HEADER, x5c: [base64(spki)] }, accessTokenClaims(), attacker.sign);
    },
  },
  {
    name: "a kid that is a URL of the attacker's JWKS",
    token: async () => compactJws({ ...ES256_HEADER, kid: `${jkuOrigin.url}/jwks.json` }, accessTokenClaims(), (await attackerKey("ES256")).sign),
  },
  {
    name: "a kid naming /dev/null, HMAC-signed with the empty key",
    token: () => compactJws({ alg: "HS256", kid: "../../../../../../dev/null", typ: "at+jwt" }, accessTokenClaims(), hmacSigner("HS256", new Uint8Array(0))),
  },
  {
    name: "a kid with SQL injection, HMAC-signed with the value it would select",
    token: () => compactJws({ alg: "HS256", kid: "x' UNION SELECT 'secret' --", typ: "at+jwt" }, accessTokenClaims(), hmacSigner("HS256", bytesOf("secret"))),
  },
  ...["__proto__", "constructor", "toString", "test-es256 ", "TEST-ES256", ""].map((kid) => ({
    name: `the real key under kid ${JSON.stringify(kid)}`,
    token: () => signedWithRealKey({ ...ES256_HEADER, kid }, accessTokenClaims()),
  })),
  ...[null, 0, ["test-es256"], { kid: "test-es256" }].map((kid) => ({
    name: `the real key under a kid of type ${Array.isArray(kid) ? "array" : kid === null ? "null" : typeof kid}`,
    token: () => signedWithRealKey({ ...ES256_HEADER, kid }, accessTokenClaims()),
  })),
  ...["es256", "ES256 ", "ECDSA", "Ed25519", "ES256K", ""].map((alg) => ({
    name: `the real key under alg ${JSON.stringify(alg)}`,
    token: () => signedWithRealKey({ ...ES256_HEADER, alg }, accessTokenClaims()),
  })),
  {
    name: "the real Ed25519 key under the fully-specified alg Ed25519 (not the configured EdDSA)",
    token: async () => compactJws({ ...EDDSA_HEADER, alg: "Ed25519" }, accessTokenClaims(), await realKey.eddsa()),
  },
];

// Other serializations of a JWS: crit and b64, duplicate JSON members, non-canonical spellings of
// a genuine token and broken signatures.
import { CompactEncrypt, FlattenedSign, importJWK } from "jose";
import { accessTokenClaims, base64url, bytesOf, concatBytes, fromBase64url, publicHalf } from "../../helpers";
import { attackerKey, compactJws, EDDSA_HEADER, ES256_HEADER, es256Jwk, fixedSignature, genuineToken, hmacSigner, nowSeconds, realKey } from "../attacks";
import { type Forgery, claimsText, es256, signedWithRealKey } from "./forgery";

// crit, b64 and other serializations

export const critAndSerializations: Forgery[] = [
  { name: "crit naming an unknown extension", token: () => signedWithRealKey({ ...ES256_HEADER, crit: ["urn:example:unknown"], "urn:example:unknown": true }, accessTokenClaims()) },
  { name: "crit naming a claim", token: () => signedWithRealKey({ ...ES256_HEADER, crit: ["exp"], exp: nowSeconds() + 300 }, accessTokenClaims()) },
  { name: "crit naming a registered header parameter", token: () => signedWithRealKey({ ...ES256_HEADER, crit: ["kid"] }, accessTokenClaims()) },
  { name: "an empty crit", token: () => signedWithRealKey({ ...ES256_HEADER, crit: [] }, accessTokenClaims()) },
  { name: "crit as a string", token: () => signedWithRealKey({ ...ES256_HEADER, crit: "b64", b64: false }, accessTokenClaims()) },
  { name: "crit naming an extension the header lacks", token: () => signedWithRealKey({ ...ES256_HEADER, crit: ["urn:example:missing"] }, accessTokenClaims()) },
  { name: "b64: false in crit over a base64url payload", token: () => signedWithRealKey({ ...ES256_HEADER, b64: false, crit: ["b64"] }, accessTokenClaims()) },
  {
    name: "b64: false in crit with the payload unencoded (RFC 7797), signed with the real key",
    token: async () => {
      const jws = await new FlattenedSign(bytesOf(JSON.stringify(accessTokenClaims())))
        .setProtectedHeader({ ...ES256_HEADER, b64: false, crit: ["b64"] })
        .sign((await importJWK(es256Jwk, "ES256")) as CryptoKey);
      return `${jws.protected}.${jws.payload}.${jws.signature}`;
    },
  },
  {
    name: "b64: false in crit with a detached payload",
    token: async () => {
      const jws = await new FlattenedSign(bytesOf(JSON.stringify(accessTokenClaims())))
        .setProtectedHeader({ ...ES256_HEADER, b64: false, crit: ["b64"] })
        .sign((await importJWK(es256Jwk, "ES256")) as CryptoKey);
      return `${jws.protected}..${jws.signature}`;
    },
  },
  {
    name: "a JWE (five parts) encrypted to our public key with ECDH-ES",
    token: async () => {
      const key = await importJWK({ ...publicHalf(es256Jwk), alg: "ECDH-ES" }, "ECDH-ES");
      return new CompactEncrypt(bytesOf(JSON.stringify(accessTokenClaims())))
        .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM", kid: "test-es256", typ: "at+jwt" })
        .encrypt(key);
    },
  },
  {
    name: "a JWE (five parts) with alg dir keyed with our public x coordinate",
    token: async () =>
      new CompactEncrypt(bytesOf(JSON.stringify(accessTokenClaims())))
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

// Duplicate JSON members in forged tokens

export const duplicateMembers: Forgery[] = [
  { name: 'a header saying alg ES256 then alg none, unsigned', token: () => compactJws('{"alg":"ES256","kid":"test-es256","typ":"at+jwt","alg":"none"}', accessTokenClaims(), fixedSignature()) },
  { name: 'a header saying alg none then alg ES256, unsigned', token: () => compactJws('{"alg":"none","kid":"test-es256","typ":"at+jwt","alg":"ES256"}', accessTokenClaims(), fixedSignature()) },
  { name: "a header saying alg ES256 then alg HS256, keyed with our public JWK", token: () => compactJws('{"alg":"ES256","kid":"test-es256","typ":"at+jwt","alg":"HS256"}', accessTokenClaims(), hmacSigner("HS256", bytesOf(JSON.stringify(publicHalf(es256Jwk))))) },
  { name: "a header with two kids, signed by the attacker", token: async () => compactJws('{"alg":"ES256","kid":"attacker","typ":"at+jwt","kid":"test-es256"}', accessTokenClaims(), (await attackerKey("ES256")).sign) },
  {
    name: "a payload with two subs, signed by the attacker",
    token: async () => compactJws(ES256_HEADER, claimsText({ sub: "victim" }).replace(/}$/, ',"sub":"admin"}'), (await attackerKey("ES256")).sign),
  },
  {
    name: "a payload with two subs after a genuine one's signature",
    token: async () => {
      const claims = accessTokenClaims();
      const [header, , signature] = (await compactJws(ES256_HEADER, claims, await es256())).split(".");
      return `${header}.${base64url(JSON.stringify(claims).replace(/}$/, ',"sub":"admin"}'))}.${signature}`;
    },
  },
];

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

export const nonCanonical: Forgery[] = [
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
  { name: "a genuine header and payload with an all-zero ES256 signature (CVE-2022-21449)", token: async () => compactJws(ES256_HEADER, accessTokenClaims(), fixedSignature(new Uint8Array(64))) },
  {
    name: "a genuine header and payload with r = s = n (the group order)",
    token: async () => {
      const n = Uint8Array.from(atob("/////wAAAAD//////////7zm+q2nF56E87nKwvxjJVE="), (char) => char.charCodeAt(0));
      return compactJws(ES256_HEADER, accessTokenClaims(), fixedSignature(concatBytes(n, n)));
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
      const [header, payload, signature] = (await compactJws(EDDSA_HEADER, accessTokenClaims(), await realKey.eddsa())).split(".");
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

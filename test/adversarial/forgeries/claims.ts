// Claims and header edge cases: everything signed with the real key, only the named claim is off.
import { env } from "cloudflare:workers";
import { accessTokenClaims, bytesOf, concatBytes } from "../../helpers";
import { compactJws, ES256_HEADER, nowSeconds } from "../attacks";
import { type Forgery, claimsText, es256, signedWithRealKey } from "./forgery";

// Claims: everything signed with the real key, only the named claim is off

const later = () => nowSeconds() + 300;

export const claimEdgeCases: Forgery[] = [
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
  ).map(([name, overrides]) => ({ name, token: () => signedWithRealKey(ES256_HEADER, accessTokenClaims(overrides)) })),
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
    token: () => signedWithRealKey({ ...ES256_HEADER, typ }, accessTokenClaims()),
  })),
  ...[["no typ", undefined], ["typ as an array", ["at+jwt"]], ["typ a number", 1], ["typ null", null]].map(([name, typ]) => ({
    name: String(name),
    token: () => signedWithRealKey({ alg: "ES256", kid: "test-es256", ...(typ === undefined ? {} : { typ }) }, accessTokenClaims()),
  })),
  ...[["an array", "[]"], ["a string", '"claims"'], ["null", "null"], ["a number", "1"], ["not JSON", "{sub: admin}"]].map(([name, text]) => ({
    name: `a payload that is ${name}`,
    token: () => signedWithRealKey(ES256_HEADER, text!),
  })),
  {
    name: "a payload that is not UTF-8",
    token: async () => compactJws(ES256_HEADER, concatBytes(bytesOf(JSON.stringify(accessTokenClaims()).slice(0, -1)), bytesOf(',"x":"'), new Uint8Array([0xc3, 0x28]), bytesOf('"}')), await es256()),
  },
  { name: "a header that is not JSON", token: () => signedWithRealKey("{alg: ES256}", accessTokenClaims()) },
  { name: "a header that is an array", token: () => signedWithRealKey(JSON.stringify([ES256_HEADER]), accessTokenClaims()) },
];

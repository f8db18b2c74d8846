// The JWT attack catalogue, continued: what a token signed with the real key may say and still be
// read as the signer meant it (duplicates, typ spellings, b64, a BOM, float exp, ECDSA high-s), or
// be refused without a 500.
import { describe, it } from "vitest";
import { accessTokenClaims, base64url, concatBytes, fromBase64url } from "../helpers";
import { compactJws, ES256_HEADER, expectTokenAccepted, expectTokenRefused, nowSeconds } from "./attacks";
import { es256, signedWithRealKey } from "./forgeries/forgery";

describe("JWT attacks: tokens signed with the real key, read safely", () => {
  it("reads a duplicated header or claim as its last value, as RFC 7515 and RFC 7519 section 4 allow, so the signer decides", async () => {
    // Only the signing key can make such a token; what matters is that the gateway and the claims it
    // forwards agree on one reading.
    const claims = accessTokenClaims({ sub: "first" });
    const lastSub = await signedWithRealKey(ES256_HEADER, JSON.stringify(claims).replace(/}$/, ',"sub":"last"}'));
    await expectTokenAccepted(lastSub, "last");
    const lastAlgNone = await signedWithRealKey('{"alg":"ES256","kid":"test-es256","typ":"at+jwt","alg":"none"}', accessTokenClaims());
    await expectTokenRefused(lastAlgNone);
  });

  it("takes typ case-insensitively and with the application/ prefix (RFC 7515 section 4.1.9, RFC 9068 section 4); other types are refused above", async () => {
    for (const typ of ["at+jwt", "AT+JWT", "at+JWT", "application/at+jwt", "Application/AT+JWT"]) {
      const claims = accessTokenClaims();
      await expectTokenAccepted(await signedWithRealKey({ ...ES256_HEADER, typ }, claims), claims.sub);
    }
  });

  it("ignores b64 outside crit (an unknown header parameter) and still reads the payload as base64url", async () => {
    const claims = accessTokenClaims();
    await expectTokenAccepted(await signedWithRealKey({ ...ES256_HEADER, b64: false }, claims), claims.sub);
  });

  it("reads a byte order mark before the payload JSON as nothing, as TextDecoder does (only the signer can add one)", async () => {
    const claims = accessTokenClaims();
    await expectTokenAccepted(await signedWithRealKey(ES256_HEADER, `\uFEFF${JSON.stringify(claims)}`), claims.sub);
  });

  it("accepts exp as a float within its lifetime (NumericDate, RFC 7519 section 2)", async () => {
    const claims = accessTokenClaims({ iat: nowSeconds() - 0.5, exp: nowSeconds() + 299.5 });
    await expectTokenAccepted(await signedWithRealKey(ES256_HEADER, claims), claims.sub);
  });

  // ECDSA signatures are malleable: (r, s) and (r, n - s) both verify under WebCrypto, and
  // WebCrypto signs either. Refusing the high-s form would refuse half of the tokens any other
  // signer of the same key makes, so it is accepted: the twin can only be made from a genuine
  // token, and names the same jti, which is what identifies a token (docs/api.md).
  it("accepts the high-s twin of a genuine ES256 signature as the same token (ECDSA malleability)", async () => {
    const claims = accessTokenClaims();
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
      await expectTokenRefused(await signedWithRealKey(ES256_HEADER, accessTokenClaims(overrides)));
    }
  });
});

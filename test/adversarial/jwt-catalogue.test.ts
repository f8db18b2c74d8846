// The JWT attack catalogue: every known way to get an access token past a verifier, each presented
// through the gateway (to a recording origin that must never see it) and to the Bearer route
// GET /auth/sessions. Forgeries signed with the real keys differ from a good token in one respect
// only, so each row proves that one check.
//
// The tables of forgeries are in test/adversarial/forgeries/; where a genuine token is read from in
// jwt-placement.test.ts, and what a token signed with the real key may say in jwt-read-safely.test.ts.
import { describe, expect, it } from "vitest";
import { accessTokenClaims } from "../helpers";
import { compactJws, EDDSA_HEADER, ES256_HEADER, expectTokenAccepted, expectTokenRefused, realKey } from "./attacks";
import { type Forgery, es256 } from "./forgeries/forgery";
import { claimEdgeCases } from "./forgeries/claims";
import { embeddedKeys, foreignKeys, jkuOrigin } from "./forgeries/keys";
import { critAndSerializations, duplicateMembers, nonCanonical } from "./forgeries/serializations";
import { algNone, hmacConfusion } from "./forgeries/signatures";

describe("the baseline every forgery departs from", () => {
  it("accepts a token forged with the real ES256 key and the real claims, so each row below differs only in its attack", async () => {
    const claims = accessTokenClaims();
    await expectTokenAccepted(await compactJws(ES256_HEADER, claims, await es256()), claims.sub);
  });

  it("accepts the same with the real EdDSA key", async () => {
    const claims = accessTokenClaims();
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

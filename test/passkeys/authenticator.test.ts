import { generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse } from "@simplewebauthn/server";
import { describe, expect, it } from "vitest";
import { SoftwarePasskey } from "../helpers/authenticator";

// @simplewebauthn/server runs in workerd (this file runs there), and the tests' software
// authenticator makes responses that its own verification accepts: the other passkey tests can
// trust both.

const ORIGIN = "http://gateway.test";

describe("the software authenticator, checked by @simplewebauthn/server in workerd", () => {
  it.each(["none", "packed"] as const)("registers with %s attestation and then signs in, its counter rising", async (attestation) => {
    const passkey = await SoftwarePasskey.make();
    const creation = await generateRegistrationOptions({
      rpName: "edge-auth-gateway",
      rpID: "localhost",
      userName: "dana",
      userID: new Uint8Array(new TextEncoder().encode("user-1")),
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
    });
    const registration = await verifyRegistrationResponse({
      response: (await passkey.create(creation, { attestation })) as never,
      expectedChallenge: creation.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: "localhost",
    });
    expect(registration.verified).toBe(true);
    expect(registration.registrationInfo!.fmt).toBe(attestation);
    expect(registration.registrationInfo!.credential.id).toBe(passkey.credentialId);

    const request = await generateAuthenticationOptions({ rpID: "localhost", userVerification: "required" });
    const assertion = await passkey.get(request);
    expect(assertion.response.userHandle).toBe(creation.user.id);
    const authentication = await verifyAuthenticationResponse({
      response: assertion as never,
      expectedChallenge: request.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: "localhost",
      credential: registration.registrationInfo!.credential,
    });
    expect(authentication.verified).toBe(true);
    expect(authentication.authenticationInfo.newCounter).toBe(1);
  });

  it("makes assertions that fail verification when they are tampered with", async () => {
    const passkey = await SoftwarePasskey.make();
    const creation = await generateRegistrationOptions({ rpName: "x", rpID: "localhost", userName: "dana" });
    const { registrationInfo } = await verifyRegistrationResponse({
      response: (await passkey.create(creation)) as never,
      expectedChallenge: creation.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: "localhost",
    });
    const request = await generateAuthenticationOptions({ rpID: "localhost" });
    const assertion = await passkey.get(request);
    const other = await passkey.get(await generateAuthenticationOptions({ rpID: "localhost" }));
    const forged = { ...assertion, response: { ...assertion.response, signature: other.response.signature } };
    const result = await verifyAuthenticationResponse({
      response: forged as never,
      expectedChallenge: request.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: "localhost",
      credential: registrationInfo!.credential,
    });
    expect(result.verified).toBe(false);
  });
});

import { describe, it } from "vitest";
import { dpopClient } from "../dpop-proofs";
import { authenticationCeremony, call, expectError, postJson, SoftwarePasskey } from "../helpers";

// DPOP=required (vitest.config.ts, "dpop-required"): a passkey login opens a session like any
// other login, so it needs a DPoP header before anything else is looked at.

describe("a passkey login with DPOP=required", () => {
  it("is refused without a DPoP header, before the body, and goes on to the passkey checks with a proof", async () => {
    const passkey = await SoftwarePasskey.make();
    passkey.userHandle = "dXNlcg";
    const { ceremony, options } = await authenticationCeremony();
    const credential = await passkey.get(options);
    await expectError(await postJson("/auth/passkeys/login", { ceremony, credential }), 400, "invalid_dpop_proof");
    await expectError(await call("/auth/passkeys/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{not json" }), 400, "invalid_dpop_proof");
    // With a proof, the passkey is judged: this one is nobody's.
    const client = await dpopClient();
    await expectError(await postJson("/auth/passkeys/login", { ceremony, credential }, { DPoP: await client.proof("POST", "/auth/passkeys/login") }), 401, "invalid_credentials");
  });
});

import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { addPasskey, bearer, SoftwarePasskey } from "../helpers";
import { exchangeLanded, ISSUER, signInAt, toWorker, uniqueAccount } from "./flow";
import { LOCAL_CONFIDENTIAL } from "./settings";

// A passkey is a way in: a federated user who added one may unlink their only identity.

describe("DELETE /auth/identities/:provider with a passkey", () => {
  it("refuses to unlink the only identity of a user without a passkey, and unlinks it once they have one", async () => {
    const unlink = (token: string) => toWorker(`${ISSUER}/auth/identities/${LOCAL_CONFIDENTIAL.id}`, { method: "DELETE", headers: bearer(token) });
    const first = await exchangeLanded(await signInAt(LOCAL_CONFIDENTIAL.id, { login: uniqueAccount() }));
    expect(decodeJwt(first.access_token).amr).toEqual(["fed"]);
    expect((await unlink(first.access_token)).status).toBe(409);

    const passkey = await SoftwarePasskey.make();
    expect((await addPasskey(first.access_token, passkey)).status).toBe(201);
    const removed = await toWorker(`${ISSUER}/auth/passkeys/${passkey.credentialId}`, { method: "DELETE", headers: bearer(first.access_token) });
    expect(removed.status).toBe(204);
    expect((await unlink(first.access_token)).status).toBe(409);

    expect((await addPasskey(first.access_token, await SoftwarePasskey.make())).status).toBe(201);
    expect((await unlink(first.access_token)).status).toBe(204);
  });
});

import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { adminHeaders, base64url, bearer, call, postJson, uniqueSub } from "../helpers";

// The passkey login's floor in the bench worker (bench/passkey-floor.ts): one ECDSA P-256
// verification, then one session opening, behind the admin token like every bench route.

async function signed(data: Uint8Array) {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const key = await crypto.subtle.exportKey("jwk", keys.publicKey);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, data));
  return { key, signature: base64url(signature), data: base64url(data) };
}

describe("the passkey login floor", () => {
  it("opens a session once the signature verifies, with a passkey's amr, and refuses one that does not", async () => {
    const user = uniqueSub("pk-floor");
    const proof = await signed(crypto.getRandomValues(new Uint8Array(69)));
    const response = await postJson("/bench/passkey-floor/login", { user, ...proof }, adminHeaders);
    expect(response.status).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    expect(decodeJwt(access_token)).toMatchObject({ sub: user, amr: ["hwk", "user"] });
    expect((await call("/api/ping", { headers: bearer(access_token) })).status).toBe(200);

    const other = await signed(crypto.getRandomValues(new Uint8Array(69)));
    const forged = await postJson("/bench/passkey-floor/login", { user, ...proof, signature: other.signature }, adminHeaders);
    expect(forged.status).toBe(400);
    for (const body of [{}, { user, key: "x", data: proof.data, signature: proof.signature }, { user, key: {}, data: proof.data, signature: proof.signature }, { ...proof, user, data: "!" }]) {
      expect((await postJson("/bench/passkey-floor/login", body, adminHeaders)).status).toBe(400);
    }
    expect((await postJson("/bench/passkey-floor/login", { user, ...proof })).status).toBe(401);
  });
});

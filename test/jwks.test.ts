import { env } from "cloudflare:workers";
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { call, openSession, TEST_SIGNING_KEYS as testKeys, uniqueSub } from "./helpers";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

async function jwks(vars?: Record<string, string>) {
  const response = await call("/.well-known/jwks.json", {}, vars);
  expect(response.status).toBe(200);
  return { response, body: (await response.json()) as { keys: JWK[] } };
}

describe("GET /.well-known/jwks.json", () => {
  it("lists every key of SIGNING_KEYS by kid, with its algorithm and use sig", async () => {
    const { response, body } = await jwks();
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(body.keys.map((key) => [key.kid, key.alg, key.use])).toEqual([
      ["test-es256", "ES256", "sig"],
      ["test-eddsa", "EdDSA", "sig"],
    ]);
  });

  it("publishes only public halves: no private member, and exactly the public coordinates of each key", async () => {
    const { body } = await jwks();
    for (const key of body.keys) {
      for (const member of PRIVATE_MEMBERS) expect(key, `${key.kid}.${member}`).not.toHaveProperty(member);
      const source = testKeys.find((candidate) => candidate.kid === key.kid)!;
      expect(key).toMatchObject({ kty: source.kty, crv: source.crv, x: source.x, ...(source.y ? { y: source.y } : {}) });
    }
  });

  it("is cacheable by anyone for a while", async () => {
    const { response } = await jwks();
    const cacheControl = response.headers.get("Cache-Control") ?? "";
    expect(cacheControl).toMatch(/\bpublic\b/);
    expect(cacheControl).not.toMatch(/no-store|no-cache|private/);
    const maxAge = Number(/max-age=(\d+)/.exec(cacheControl)?.[1]);
    expect(maxAge).toBeGreaterThan(0);
  });

  it("needs no Authorization, and ignores a bad one", async () => {
    const response = await call("/.well-known/jwks.json", { headers: { Authorization: "Bearer garbage" } });
    expect(response.status).toBe(200);
  });

  it("verifies, as an origin would, an access token the gateway issued", async () => {
    const sub = uniqueSub("jwks");
    const pair = await openSession(sub, { plan: "pro" });
    const { body } = await jwks();
    const { payload, protectedHeader } = await jwtVerify(pair.access_token, createLocalJWKSet(body), {
      issuer: env.ISSUER,
      audience: env.AUDIENCE,
      typ: "at+jwt",
    });
    expect(protectedHeader).toMatchObject({ alg: "ES256", kid: "test-es256", typ: "at+jwt" });
    expect(payload).toMatchObject({ sub, sid: pair.session_id, plan: "pro" });
  });

  it("verifies a token of the older EdDSA key too, and no token of a key it does not list", async () => {
    const { body } = await jwks();
    const keySet = createLocalJWKSet(body);
    const eddsa = (await importJWK(testKeys.find((key) => key.kid === "test-eddsa")!, "EdDSA")) as CryptoKey;
    const older = await new SignJWT({ sub: "u" }).setProtectedHeader({ alg: "EdDSA", kid: "test-eddsa" }).sign(eddsa);
    await expect(jwtVerify(older, keySet)).resolves.toMatchObject({ payload: { sub: "u" }, protectedHeader: { alg: "EdDSA", kid: "test-eddsa" } });

    const foreign = await generateKeyPair("ES256");
    const forged = await new SignJWT({ sub: "u" }).setProtectedHeader({ alg: "ES256", kid: "test-es256" }).sign(foreign.privateKey);
    await expect(jwtVerify(forged, keySet)).rejects.toMatchObject({ code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
  });

  it("signs new tokens with the first key of SIGNING_KEYS", async () => {
    const fresh = await generateKeyPair("EdDSA", { extractable: true });
    const rotated = JSON.stringify({ keys: [{ ...(await exportJWK(fresh.privateKey)), kid: "next-eddsa" }, ...testKeys] });
    const pair = await openSession(uniqueSub("jwks"), undefined, { SIGNING_KEYS: rotated });
    const { body } = await jwks({ SIGNING_KEYS: rotated });
    const { protectedHeader } = await jwtVerify(pair.access_token, createLocalJWKSet(body), { issuer: env.ISSUER, audience: env.AUDIENCE });
    expect(protectedHeader).toMatchObject({ alg: "EdDSA", kid: "next-eddsa" });
    // Before the rotation, the published set could not have verified it.
    await expect(jwtVerify(pair.access_token, createLocalJWKSet((await jwks()).body))).rejects.toThrow();
  });

  it("follows SIGNING_KEYS: a rotated key set is what gets published", async () => {
    const fresh = await generateKeyPair("ES256", { extractable: true });
    const rotated = JSON.stringify({ keys: [{ ...(await exportJWK(fresh.privateKey)), kid: "next" }, testKeys[0]] });
    const { body } = await jwks({ SIGNING_KEYS: rotated });
    expect(body.keys.map((key) => key.kid)).toEqual(["next", "test-es256"]);
    expect(body.keys[0]).not.toHaveProperty("d");
    expect(body.keys[0]).toMatchObject({ alg: "ES256", use: "sig" });
  });

  it("takes a set carrying the rotation members npm run keys writes beside its keys, signs with its first key, and publishes only the keys", async () => {
    const withRotation = JSON.stringify({
      keys: testKeys,
      signer_since: "2026-12-01T10:00:00.000Z",
      pending: { kid: "test-eddsa", published_at: "2026-12-01T10:05:00.000Z" },
    });
    const pair = await openSession(uniqueSub("jwks"), undefined, { SIGNING_KEYS: withRotation });
    const { body } = await jwks({ SIGNING_KEYS: withRotation });
    expect(Object.keys(body)).toEqual(["keys"]);
    expect(body.keys.map((key) => key.kid)).toEqual(["test-es256", "test-eddsa"]);
    const { protectedHeader } = await jwtVerify(pair.access_token, createLocalJWKSet(body), { issuer: env.ISSUER, audience: env.AUDIENCE });
    expect(protectedHeader.kid).toBe("test-es256");
  });
});

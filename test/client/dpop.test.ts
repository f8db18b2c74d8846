import { EmbeddedJWK, SignJWT, base64url as joseBase64url, calculateJwkThumbprint, exportJWK, generateKeyPair, jwtVerify } from "jose";
import { describe, expect, it, vi } from "vitest";
import { base64url, createDpopProof, generateDpopKey } from "../../src/client/dpop";
import { clientFor, GATEWAY, loggedIn, origin, settle } from "./clients";
import { FakeGateway, type CheckedProof } from "./fake-gateway";

const sha256 = async (text: string) => joseBase64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));

/** The checked proofs the client sent to `path`, in order (the fake gateway verified each). */
function proofsTo(gateway: FakeGateway, path: string): CheckedProof[] {
  return gateway.calls(path).map((entry) => {
    if (entry.proof === null || entry.proof === "invalid") throw new Error(`${path}: the request had ${entry.proof === null ? "no" : "an invalid"} proof`);
    return entry.proof;
  });
}

/** The refresh token as script on the page reads it from localStorage (the client's own record). */
function refreshTokenIn(storage: ReturnType<typeof origin>["localStorage"], key = "edge-auth"): string {
  return JSON.parse(storage.getItem(key)!).refreshToken;
}

describe("base64url", () => {
  it("matches Node's base64url for every length and every byte value", () => {
    for (let length = 0; length <= 70; length += 1) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(base64url(bytes)).toBe(Buffer.from(bytes).toString("base64url"));
    }
    const everyByte = Uint8Array.from({ length: 256 }, (_, index) => index);
    expect(base64url(everyByte)).toBe(Buffer.from(everyByte).toString("base64url"));
  });
});

describe("DPoP proofs", () => {
  it("are real proofs: jose verifies one with the key in its header", async () => {
    const key = await generateDpopKey();
    const now = Date.now();
    const proof = await createDpopProof(key, { method: "POST", url: `${GATEWAY}/auth/refresh`, accessToken: null }, now);
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256"] });
    expect(protectedHeader).toEqual({ typ: "dpop+jwt", alg: "ES256", jwk: { kty: "EC", crv: "P-256", x: expect.any(String), y: expect.any(String) } });
    expect(payload).toEqual({ htm: "POST", htu: `${GATEWAY}/auth/refresh`, iat: Math.floor(now / 1000), jti: expect.any(String) });
  });

  it("name the URL without query and fragment, and carry the access token's hash as ath", async () => {
    const key = await generateDpopKey();
    const proof = await createDpopProof(key, { method: "GET", url: `${GATEWAY}/api/orders?limit=2#top`, accessToken: "at.token" }, Date.now());
    const { payload } = await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt" });
    expect(payload).toMatchObject({ htm: "GET", htu: `${GATEWAY}/api/orders`, ath: await sha256("at.token") });
  });

  it("are signed by a private key that cannot be exported", async () => {
    const key = await generateDpopKey();
    expect(key.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("jwk", key.privateKey)).rejects.toThrow();
    expect(Object.keys(key.jwk).sort()).toEqual(["crv", "kty", "x", "y"]);
  });
});

describe("AuthClient with dpop: true", () => {
  it("sends a proof for its own URL with every login, refresh and logout, with a fresh jti each time, and none with register", async () => {
    const gateway = new FakeGateway();
    const client = clientFor(gateway, { dpop: true });
    await client.register("bob", "right");
    expect(gateway.calls("/auth/register")[0]!.proof).toBeNull();
    await client.login("bob", "right");
    await client.refresh();
    await client.refresh();
    await client.logout();
    const proofs = [...proofsTo(gateway, "/auth/login"), ...proofsTo(gateway, "/auth/refresh"), ...proofsTo(gateway, "/auth/logout")];
    expect(proofs.map((proof) => [proof.payload.htm, proof.payload.htu])).toEqual([
      ["POST", `${GATEWAY}/auth/login`],
      ["POST", `${GATEWAY}/auth/refresh`],
      ["POST", `${GATEWAY}/auth/refresh`],
      ["POST", `${GATEWAY}/auth/logout`],
    ]);
    expect(new Set(proofs.map((proof) => proof.payload.jti)).size).toBe(4);
    expect(new Set(proofs.map((proof) => proof.jkt)).size).toBe(1);
    expect(proofs.every((proof) => proof.payload.iat === Math.floor(gateway.now / 1000) && proof.payload.ath === undefined)).toBe(true);
  });

  it("binds the session: API calls go as Authorization: DPoP with a proof of the request carrying the token's ath", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway, { dpop: true });
    const [session] = gateway.sessions.values();
    const key = await client.dpopKey();
    expect(session!.jkt).toBe(await calculateJwkThumbprint(key!.jwk));
    expect(client.session!.tokenType).toBe("DPoP");

    const response = await client.fetch("/api/orders?limit=2", { method: "POST", body: "{}" });
    expect(response.status).toBe(200);
    const [call] = gateway.calls("/api/orders");
    const token = /^DPoP (.+)$/.exec(call!.authorization!)![1]!;
    expect(call!.proof).toMatchObject({ jkt: session!.jkt, payload: { htm: "POST", htu: `${GATEWAY}/api/orders`, ath: await sha256(token) } });
    // The account routes are API calls too.
    expect(await client.sessions()).toHaveLength(1);
  });

  it("refreshes with a proof when the token is due, and when a DPoP 401 says it expired", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway, { dpop: true, refreshBeforeExpirySeconds: 5 });
    gateway.now += 58_000;
    expect((await client.fetch("/api/x")).status).toBe(200);
    gateway.earlyExpiryMs = 30_000;
    gateway.now += 31_000;
    expect((await client.fetch("/api/y")).status).toBe(200);
    expect(gateway.calls("/api/y")).toHaveLength(2);
    expect(gateway.calls("/api/y")[0]!.authorization).toMatch(/^DPoP /);
    expect(proofsTo(gateway, "/auth/refresh")).toHaveLength(2);
    expect(gateway.dpopProofFailures).toBe(0);
  });

  it("makes a copied refresh token useless elsewhere, without a proof or with another key's, while the page stays logged in", async () => {
    const gateway = new FakeGateway();
    const tab = origin();
    const onLoggedOut = vi.fn();
    const client = await loggedIn(gateway, { dpop: true, storage: "localStorage", onLoggedOut }, tab);
    const copied = refreshTokenIn(tab.localStorage);
    const thief = (headers: Record<string, string>) =>
      gateway.fetch(new Request(`${GATEWAY}/auth/refresh`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify({ refresh_token: copied }) }));

    expect(await (await thief({})).json()).toMatchObject({ error: "invalid_grant" });
    const other = await generateKeyPair("ES256");
    const otherProof = await new SignJWT({ htm: "POST", htu: `${GATEWAY}/auth/refresh`, iat: Math.floor(gateway.now / 1000), jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await exportJWK(other.publicKey) })
      .sign(other.privateKey);
    const withOtherKey = await thief({ DPoP: otherProof });
    expect(withOtherKey.status).toBe(400);
    expect(await withOtherKey.json()).toMatchObject({ error: "invalid_grant" });
    expect(gateway.dpopProofFailures).toBe(2);

    // Nothing was rotated: the page refreshes the same token and calls on.
    await client.refresh();
    expect(JSON.parse(gateway.calls("/auth/refresh").at(-1)!.body).refresh_token).toBe(copied);
    expect((await client.fetch("/api/x")).status).toBe(200);
    expect(onLoggedOut).not.toHaveBeenCalled();
  });

  it("keeps the key in IndexedDB: a reloaded page signs with it and refreshes the bound session", async () => {
    const gateway = new FakeGateway();
    const tab = origin();
    const before = await loggedIn(gateway, { dpop: true, storage: "localStorage" }, tab);
    const jwk = (await before.dpopKey())!.jwk;
    const reloaded = clientFor(gateway, { dpop: true, storage: "localStorage" }, tab);
    await reloaded.refresh();
    expect((await reloaded.fetch("/api/x")).status).toBe(200);
    expect((await reloaded.dpopKey())!.jwk).toEqual(jwk);
    expect((await reloaded.dpopKey())!.privateKey.extractable).toBe(false);
    expect(gateway.dpopProofFailures).toBe(0);
  });

  it("makes one key when two tabs start at once", async () => {
    const shared = origin();
    const gateway = new FakeGateway();
    const tabs = Array.from({ length: 3 }, () => clientFor(gateway, { dpop: true, storage: "localStorage" }, shared));
    const keys = await Promise.all(tabs.map((tab) => tab.dpopKey()));
    expect(new Set(keys.map((key) => JSON.stringify(key!.jwk))).size).toBe(1);
    // The tabs share the session, so they had better share the key: all of them call on after one login.
    await tabs[0]!.login("bob", "right");
    expect((await Promise.all(tabs.map((tab) => tab.fetch("/api/x")))).map((response) => response.status)).toEqual([200, 200, 200]);
  });

  it("deletes the key when the session ends here, and binds the next session to a new one", async () => {
    const gateway = new FakeGateway();
    const tab = origin();
    const client = await loggedIn(gateway, { dpop: true, storage: "localStorage" }, tab);
    const first = (await client.dpopKey())!.jwk;
    await client.logout();
    await settle();
    await client.login("bob", "right");
    const second = (await client.dpopKey())!.jwk;
    expect(second).not.toEqual(first);
    const [oldSession, newSession] = gateway.sessions.values();
    expect(newSession!.jkt).toBe(await calculateJwkThumbprint(second));
    expect(newSession!.jkt).not.toBe(oldSession!.jkt);

    // A refused refresh ends the session too.
    gateway.revokeAll();
    await expect(client.refresh()).rejects.toMatchObject({ code: "logged_out" });
    await settle();
    expect((await client.dpopKey())!.jwk).not.toEqual(second);
  });

  it("keeps a key per page in memory mode, with no IndexedDB", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway, { dpop: true });
    gateway.now += 61_000;
    expect((await client.fetch("/api/x")).status).toBe(200);
    const other = await loggedIn(gateway, { dpop: true });
    expect((await other.dpopKey())!.jwk).not.toEqual((await client.dpopKey())!.jwk);
  });

  it("refuses dpop in localStorage mode without IndexedDB, where a reload would lose the key", () => {
    const gateway = new FakeGateway();
    const { indexedDB: _, ...withoutIndexedDb } = origin();
    expect(() => clientFor(gateway, { dpop: true, storage: "localStorage" }, withoutIndexedDb)).toThrow(TypeError);
  });

  it("signs the cookie's refreshes too, in cookie mode", async () => {
    const gateway = new FakeGateway();
    gateway.cookieMode = true;
    const tab = origin();
    await loggedIn(gateway, { dpop: true, storage: "cookie" }, tab);
    const reloaded = clientFor(gateway, { dpop: true, storage: "cookie" }, tab);
    expect(await reloaded.restore()).toMatchObject({ tokenType: "DPoP" });
    expect((await reloaded.fetch("/api/x")).status).toBe(200);
    expect(gateway.calls("/auth/refresh")[0]!.body).toBe("");
    expect(proofsTo(gateway, "/auth/refresh")).toHaveLength(1);
  });

  it("sends no proof and the Bearer scheme when dpop is off", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    await client.fetch("/api/x");
    expect(gateway.sent.every((entry) => entry.proof === null)).toBe(true);
    expect(gateway.calls("/api/x")[0]!.authorization).toMatch(/^Bearer /);
    expect(await client.dpopKey()).toBeNull();
  });
});

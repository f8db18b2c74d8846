import { exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { openTransaction, sealTransaction, type Transaction } from "../../src/federation/transaction";
import { loadKeyRing } from "../../src/tokens/key-ring";

// The sign-in in progress, sealed in the browser's cookie (AES-256-GCM under a key derived from
// the signing key): nobody can read or forge it, it expires, and it survives a key rotation while
// the old key is in the ring with its private half.

const NOW = Date.UTC(2026, 11, 1, 12);
const TRANSACTION: Transaction = {
  provider: "google",
  state: "upstream-state",
  nonce: "upstream-nonce",
  verifier: "v".repeat(43),
  expiresAt: NOW + 600_000,
  purpose: { kind: "sign_in", client_id: "web", redirect_uri: "https://app.example.com/cb", code_challenge: "c".repeat(43), state: "app" },
};

async function privateKey(kid: string) {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "ES256" };
}

const ring = (...keys: object[]) => loadKeyRing(JSON.stringify({ keys }));

describe("the transaction cookie", () => {
  it("opens what it sealed, and hides the verifier and nonce", async () => {
    const keys = await ring(await privateKey("a"));
    const sealed = await sealTransaction(keys, TRANSACTION);
    expect(sealed).not.toContain("upstream");
    expect(atob(sealed.split(".")[2]!.replace(/-/g, "+").replace(/_/g, "/"))).not.toContain("vvvv");
    expect(await openTransaction(keys, sealed, NOW)).toEqual(TRANSACTION);
  });

  it("refuses one past its expiry, one of another key, and one moved under another kid", async () => {
    const a = await privateKey("a");
    const b = await privateKey("b");
    const sealed = await sealTransaction(await ring(a), TRANSACTION);
    expect(await openTransaction(await ring(a), sealed, TRANSACTION.expiresAt)).toBeNull();
    expect(await openTransaction(await ring(b), sealed, NOW)).toBeNull();
    // Same bytes, named as sealed under "b": the kid is authenticated with them.
    const [prefix, , body] = sealed.split(".");
    const renamed = `${prefix}.${btoa("b").replace(/=+$/, "")}.${body}`;
    expect(await openTransaction(await ring(b, a), renamed, NOW)).toBeNull();
  });

  it("still opens after a rotation while the old key keeps its private half in the ring", async () => {
    const a = await privateKey("a");
    const b = await privateKey("b");
    const sealed = await sealTransaction(await ring(a), TRANSACTION);
    expect(await openTransaction(await ring(b, a), sealed, NOW)).toEqual(TRANSACTION);
    const { d: _d, ...publicA } = a as { d?: string };
    expect(await openTransaction(await ring(b, publicA), sealed, NOW)).toBeNull();
  });
});

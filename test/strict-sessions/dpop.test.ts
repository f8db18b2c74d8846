import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { dpopClient } from "../dpop-proofs";
import { expectInvalidGrant, onlyEvent, openSession, pairOf, postJson, storedSession, uniqueSub } from "../helpers";

// Without a grace window (vitest.config.ts, "strict-sessions": REFRESH_REUSE_GRACE_SECONDS=0,
// REUSE_REVOKES=session). The grace-on case is in test/dpop.test.ts.

async function refreshWithProof(refreshToken: string, proof: string | null) {
  return postJson("/auth/refresh", { refresh_token: refreshToken }, proof ? { DPoP: proof } : {});
}

describe("a thief with a key of its own and a copied refresh token of an unbound session, without grace", () => {
  it("cannot take the session by refreshing first with its proof: it gets Bearer, and the real client's next refresh is reuse", async () => {
    const thief = await dpopClient();
    const sub = uniqueSub();
    const victim = await openSession(sub);
    const thiefPair = await pairOf(await refreshWithProof(victim.refresh_token, await thief.proof("POST", "/auth/refresh")));
    expect(thiefPair.token_type).toBe("Bearer");
    expect(decodeJwt(thiefPair.access_token).cnf).toBeUndefined();
    expect((await storedSession(sub, victim.session_id)).jkt).toBeNull();

    const from = Date.now();
    await expectInvalidGrant(await refreshWithProof(victim.refresh_token, null));
    const reuse = await onlyEvent(sub, "refresh_token_reuse", { from });
    expect(reuse.detail).toMatchObject({ generations_behind: 1, revoked_session_ids: [victim.session_id] });
    await expectInvalidGrant(await refreshWithProof(thiefPair.refresh_token, await thief.proof("POST", "/auth/refresh")));
    expect((await storedSession(sub, victim.session_id)).revoked_reason).toBe("reuse");
  });

  it("the other way round, the thief's replay with its proof after the client refreshed is reuse at once, not a binding", async () => {
    const thief = await dpopClient();
    const sub = uniqueSub();
    const victim = await openSession(sub);
    const next = await pairOf(await refreshWithProof(victim.refresh_token, null));
    await expectInvalidGrant(await refreshWithProof(victim.refresh_token, await thief.proof("POST", "/auth/refresh")));
    expect(await storedSession(sub, victim.session_id)).toMatchObject({ jkt: null, revoked_reason: "reuse" });
    await expectInvalidGrant(await refreshWithProof(next.refresh_token, null));
  });
});

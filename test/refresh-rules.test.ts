import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import {
  adminHeaders,
  ageSession,
  bearer,
  call,
  eventsOf,
  expectInvalidGrant,
  openSession,
  pairOf,
  postJson,
  refresh,
  refreshTransports,
  storedSession,
  type TokenResponse,
  uniqueSub,
} from "./helpers";

// The refresh rules of docs/api.md, one describe per rule, through POST /auth/refresh with both
// body encodings the contract allows, under the wrangler.toml settings (10 s grace window,
// REUSE_REVOKES=user). Other settings: test/strict-sessions/ and test/unlimited-sessions/; the
// exact edges of each rule: test/refresh-decision.test.ts.

/** Whether the gateway lets an access token through to the origin. */
async function accessWorks(accessToken: string) {
  return (await call("/api/whoami", { headers: bearer(accessToken) })).status === 200;
}

/** Rotates a session `times` times and returns every token pair of the chain, generation 0 first. */
async function chain(first: TokenResponse, times: number): Promise<TokenResponse[]> {
  const pairs = [first];
  for (let index = 0; index < times; index += 1) pairs.push(await pairOf(await refresh(pairs.at(-1)!.refresh_token)));
  return pairs;
}

const SECOND = 1000;

describe("rule 1: an unknown, malformed or forged token", () => {
  describe.each(refreshTransports)("with a $name body", ({ name, send }) => {
    it("answers 400 invalid_grant and revokes nothing: the real token still works after", async () => {
      const sub = uniqueSub();
      const pair = await openSession(sub);
      const other = await openSession(sub);
      const [prefix, objectId, sessionId, generation, mac] = pair.refresh_token.split(".") as [string, string, string, string, string];
      const forgedMac = `${mac.slice(0, 5)}${mac[5] === "x" ? "y" : "x"}${mac.slice(6)}`;
      const attempts = [
        "not-a-refresh-token",
        `${prefix}.${objectId}.${sessionId}.${generation}.${forgedMac}`,
        // A later generation, as if guessing the next token.
        `${prefix}.${objectId}.${sessionId}.${Number(generation) + 1}.${mac}`,
        `${prefix}.${objectId}.${crypto.randomUUID()}.${generation}.${mac}`,
        `${prefix}.${"ab".repeat(32)}.${sessionId}.${generation}.${mac}`,
      ];
      for (const token of attempts) await expectInvalidGrant(await send(token));

      expect((await eventsOf(sub, "refresh_token_reuse"))).toHaveLength(0);
      expect((await storedSession(sub, pair.session_id)).revoked_at).toBeNull();
      await pairOf(await send(pair.refresh_token));
      await pairOf(await send(other.refresh_token));
    });

    it("answers 400 invalid_request, not invalid_grant, when no token is sent", async () => {
      const response =
        name === "JSON"
          ? await postJson("/auth/refresh", {})
          : await call("/auth/refresh", {
              method: "POST",
              headers: { "Content-Type": "application/x-www-form-urlencoded" },
              body: "grant_type=refresh_token",
            });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_request" });
    });
  });
});

describe("rule 2: a revoked session", () => {
  describe.each(refreshTransports)("with a $name body", ({ send }) => {
    it("refuses the current token of a session that logged out", async () => {
      const pair = await openSession(uniqueSub());
      expect((await postJson("/auth/logout", { refresh_token: pair.refresh_token })).status).toBe(204);
      await expectInvalidGrant(await send(pair.refresh_token));
    });

    it("refuses the tokens of a user an admin revoked", async () => {
      const sub = uniqueSub();
      const first = await openSession(sub);
      const second = await openSession(sub);
      expect((await call(`/auth/admin/users/${encodeURIComponent(sub)}/revoke`, { method: "POST", headers: adminHeaders })).status).toBe(204);
      await expectInvalidGrant(await send(first.refresh_token));
      await expectInvalidGrant(await send(second.refresh_token));
    });

    it("refuses the token of a session deleted through DELETE /auth/sessions/:id", async () => {
      const sub = uniqueSub();
      const keep = await openSession(sub);
      const drop = await openSession(sub);
      expect((await call(`/auth/sessions/${drop.session_id}`, { method: "DELETE", headers: bearer(keep.access_token) })).status).toBe(204);
      await expectInvalidGrant(await send(drop.refresh_token));
      await pairOf(await send(keep.refresh_token));
    });

    it("refuses a used token of a revoked session without reuse handling: the user's other session survives", async () => {
      const sub = uniqueSub();
      const [first, second] = await chain(await openSession(sub), 1);
      const other = await openSession(sub);
      expect((await postJson("/auth/logout", { refresh_token: second!.refresh_token })).status).toBe(204);
      // The previous token, within the grace window: rule 2 comes first, so neither replay nor reuse.
      await expectInvalidGrant(await send(first!.refresh_token));
      expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(0);
      await pairOf(await send(other.refresh_token));
    });
  });
});

describe("rule 3: the session's current token", () => {
  describe.each(refreshTransports)("with a $name body", ({ send }) => {
    it("rotates: a new pair for the same session, marked no-store, with a different refresh token", async () => {
      const sub = uniqueSub();
      const pair = await openSession(sub);
      const response = await send(pair.refresh_token);
      expect(response.status).toBe(200);
      expect(response.headers.get("Cache-Control")).toContain("no-store");
      const next = (await response.json()) as TokenResponse;
      expect(next).toMatchObject({ token_type: "Bearer", expires_in: 300, session_id: pair.session_id });
      expect(next.refresh_token).not.toBe(pair.refresh_token);
      expect(next.access_token).not.toBe(pair.access_token);
      expect(decodeJwt(next.access_token)).toMatchObject({ sub, sid: pair.session_id });
      expect(await accessWorks(next.access_token)).toBe(true);
      expect((await storedSession(sub, pair.session_id)).generation).toBe(1);
      const [event] = await eventsOf(sub, "refresh");
      expect(event).toMatchObject({ session_id: pair.session_id, detail: { generation: 1 } });
    });

    it("leaves the previous access token valid until it expires", async () => {
      const pair = await openSession(uniqueSub());
      await pairOf(await send(pair.refresh_token));
      expect(await accessWorks(pair.access_token)).toBe(true);
    });

    it("keeps the session's custom claims in every access token, refreshes included", async () => {
      const claims = { role: "admin", tenant: 42, beta: true, scopes: ["read", "write"] };
      const sub = uniqueSub();
      let pair = await openSession(sub, claims);
      expect(decodeJwt(pair.access_token)).toMatchObject(claims);
      for (let index = 0; index < 3; index += 1) {
        pair = await pairOf(await send(pair.refresh_token));
        expect(decodeJwt(pair.access_token)).toMatchObject({ ...claims, sub, sid: pair.session_id });
        expect(await accessWorks(pair.access_token)).toBe(true);
      }
    });

    it("keeps rotating: each new token works once", async () => {
      const sub = uniqueSub();
      const pairs = await chain(await openSession(sub), 5);
      expect(new Set(pairs.map((pair) => pair.refresh_token)).size).toBe(6);
      const last = await pairOf(await send(pairs.at(-1)!.refresh_token));
      expect((await storedSession(sub, last.session_id)).generation).toBe(6);
    });
  });
});

describe("rule 4: the token rotated just before, replayed within the grace window", () => {
  describe.each(refreshTransports)("with a $name body", ({ send }) => {
    it("returns the same refresh token as the rotation and a fresh access token, without rotating again", async () => {
      const sub = uniqueSub();
      const pair = await openSession(sub);
      const rotated = await pairOf(await send(pair.refresh_token));
      const replayed = await send(pair.refresh_token);
      expect(replayed.headers.get("Cache-Control")).toContain("no-store");
      const again = await pairOf(replayed);
      expect(again.refresh_token).toBe(rotated.refresh_token);
      expect(again.session_id).toBe(pair.session_id);
      expect(again.access_token).not.toBe(rotated.access_token);
      expect(decodeJwt(again.access_token).jti).not.toBe(decodeJwt(rotated.access_token).jti);
      expect(await accessWorks(again.access_token)).toBe(true);
      expect((await storedSession(sub, pair.session_id)).generation).toBe(1);
      expect(await eventsOf(sub, "refresh_grace_replay")).toHaveLength(1);
      expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(0);
      // The shared successor is still the current token.
      await pairOf(await send(rotated.refresh_token));
    });

    it("treats the replay as reuse once the window has passed, recording how far behind it was and when it was rotated", async () => {
      const sub = uniqueSub();
      const pair = await openSession(sub);
      const rotated = await pairOf(await send(pair.refresh_token));
      // The rotation happened 11 s ago; the window is 10 s.
      await ageSession(sub, pair.session_id, 11 * SECOND);
      const { issue_times } = await storedSession(sub, pair.session_id);
      await expectInvalidGrant(await send(pair.refresh_token));

      const [event, ...more] = await eventsOf(sub, "refresh_token_reuse");
      expect(more).toEqual([]);
      expect(event!.detail).toEqual({
        generations_behind: 1,
        successor_issued_at: new Date((JSON.parse(issue_times) as number[])[1]!).toISOString(),
        revoked_session_ids: [pair.session_id],
      });
      await expectInvalidGrant(await send(rotated.refresh_token));
    });

    it("treats the replay as reuse once its successor has been used, even within the window", async () => {
      const sub = uniqueSub();
      const [first, , third] = await chain(await openSession(sub), 2);
      await expectInvalidGrant(await send(first!.refresh_token));
      await expectInvalidGrant(await send(third!.refresh_token));
      expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(1);
    });
  });
});

describe("rule 5: any other used token is reuse", () => {
  /** Two sessions of one user; the first rotated twice, so its first token is two generations old. */
  async function twoSessions() {
    const sub = uniqueSub();
    const victim = await chain(await openSession(sub), 2);
    const other = await openSession(sub);
    return { sub, victim, other };
  }

  describe.each(refreshTransports)("with a $name body", ({ send }) => {
    it("revokes every session of the user when a used refresh token comes back (REUSE_REVOKES=user)", async () => {
      const { sub, victim, other } = await twoSessions();
      await expectInvalidGrant(await send(victim[0]!.refresh_token));
      await expectInvalidGrant(await send(victim[2]!.refresh_token));
      await expectInvalidGrant(await send(other.refresh_token));
      expect((await storedSession(sub, victim[0]!.session_id)).revoked_reason).toBe("reuse");
      expect((await storedSession(sub, other.session_id)).revoked_reason).toBe("reuse");

      const [event] = await eventsOf(sub, "refresh_token_reuse");
      expect(event!.session_id).toBe(victim[0]!.session_id);
      expect([...(event!.detail!.revoked_session_ids as string[])].sort()).toEqual([victim[0]!.session_id, other.session_id].sort());
    });
  });

  it("counts generations_behind for a token three generations old and dates its own rotation, not the latest", async () => {
    const sub = uniqueSub();
    const pairs = await chain(await openSession(sub), 1);
    // Generation 0 was rotated a minute ago; generations 2 and 3 are issued now.
    await ageSession(sub, pairs[0]!.session_id, 60 * SECOND);
    const { issue_times } = await storedSession(sub, pairs[0]!.session_id);
    const minuteAgo = (JSON.parse(issue_times) as number[])[1]!;
    await chain(pairs[1]!, 2);
    await expectInvalidGrant(await refresh(pairs[0]!.refresh_token));

    const [event] = await eventsOf(sub, "refresh_token_reuse");
    expect(event!.detail).toEqual({
      generations_behind: 3,
      successor_issued_at: new Date(minuteAgo).toISOString(),
      revoked_session_ids: [pairs[0]!.session_id],
    });
  });

  it("revokes the sessions in the D1 record too, so GET /auth/sessions no longer lists them", async () => {
    const { victim, other } = await twoSessions();
    const before = await call("/auth/sessions", { headers: bearer(other.access_token) });
    expect(((await before.json()) as { sessions: unknown[] }).sessions).toHaveLength(2);
    await expectInvalidGrant(await refresh(victim[0]!.refresh_token));
    // The access token is stateless and still valid; the session list reflects the revocation.
    const after = await call("/auth/sessions", { headers: bearer(other.access_token) });
    expect(((await after.json()) as { sessions: unknown[] }).sessions).toHaveLength(0);
  });
});

import { describe, expect, it } from "vitest";
import {
  ageSession,
  eventsOf,
  expectInvalidGrant,
  openSession,
  pairOf,
  refresh,
  refreshTransports,
  sessionRecord,
  storedSession,
  uniqueSub,
} from "../helpers";

// The refresh rules of docs/api.md through the real Durable Object under this project's settings
// (vitest.config.ts, "strict-sessions"): no grace window, REUSE_REVOKES=session, a 60 s idle limit
// and a 300 s absolute one. The exact edges of each rule are unit-tested in
// test/refresh-decision.test.ts; here time passes with `ageSession`.

const SECOND = 1000;
/** REFRESH_IDLE_TTL_SECONDS of this project. */
const IDLE_LIMIT = 60 * SECOND;

/** The session ended for `reason` during `window`: in its D1 record, and with one session_expired event. */
async function expectExpired(sub: string, sessionId: string, reason: "idle_timeout" | "max_lifetime", window: { from: number; to: number }) {
  const record = await sessionRecord(sub, sessionId);
  expect(record?.revoked_reason).toBe(reason);
  expect(record?.revoked_at).toBeGreaterThanOrEqual(window.from - 1000);
  expect(record?.revoked_at).toBeLessThanOrEqual(window.to + 1000);
  const events = await eventsOf(sub, "session_expired");
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ type: "session_expired", sub, session_id: sessionId, detail: { reason } });
}

describe("rule 2: an expired session", () => {
  describe.each(refreshTransports)("with a $name body", ({ send }) => {
    it("refuses a session idle for longer than REFRESH_IDLE_TTL_SECONDS and records session_expired", async () => {
      const sub = uniqueSub();
      const pair = await openSession(sub);
      await ageSession(sub, pair.session_id, IDLE_LIMIT + SECOND);

      const from = Date.now();
      await expectInvalidGrant(await send(pair.refresh_token));
      await expectExpired(sub, pair.session_id, "idle_timeout", { from, to: Date.now() });
      // Expired stays expired: still refused, and no second event.
      await expectInvalidGrant(await send(pair.refresh_token));
      expect(await eventsOf(sub, "session_expired")).toHaveLength(1);
    });

    it("keeps refreshing a session used within REFRESH_IDLE_TTL_SECONDS: each refresh restarts the idle clock", async () => {
      const sub = uniqueSub();
      let pair = await openSession(sub);
      // 59 s idle, three times over.
      for (let round = 0; round < 3; round += 1) {
        await ageSession(sub, pair.session_id, IDLE_LIMIT - SECOND);
        const from = Date.now();
        pair = await pairOf(await send(pair.refresh_token));
        expect((await storedSession(sub, pair.session_id)).last_used_at).toBeGreaterThanOrEqual(from);
      }
      expect(await eventsOf(sub, "session_expired")).toEqual([]);

      await ageSession(sub, pair.session_id, IDLE_LIMIT + SECOND);
      const from = Date.now();
      await expectInvalidGrant(await send(pair.refresh_token));
      await expectExpired(sub, pair.session_id, "idle_timeout", { from, to: Date.now() });
    });

    it("refuses a session older than SESSION_MAX_TTL_SECONDS even while it is in use", async () => {
      const sub = uniqueSub();
      let pair = await openSession(sub);
      // Refreshed every 55 s, well within the idle limit, until it is 301 s old and was used 26 s ago.
      for (let round = 0; round < 5; round += 1) {
        await ageSession(sub, pair.session_id, 55 * SECOND);
        pair = await pairOf(await send(pair.refresh_token));
      }
      await ageSession(sub, pair.session_id, 26 * SECOND);

      const from = Date.now();
      await expectInvalidGrant(await send(pair.refresh_token));
      await expectExpired(sub, pair.session_id, "max_lifetime", { from, to: Date.now() });
    });
  });
});

describe("rule 4 with REFRESH_REUSE_GRACE_SECONDS=0", () => {
  describe.each(refreshTransports)("with a $name body", ({ send }) => {
    it("treats an immediate replay of the previous token as reuse", async () => {
      const sub = uniqueSub();
      const pair = await openSession(sub);
      const rotated = await pairOf(await send(pair.refresh_token));
      await expectInvalidGrant(await send(pair.refresh_token));
      await expectInvalidGrant(await send(rotated.refresh_token));
      expect(await eventsOf(sub, "refresh_grace_replay")).toEqual([]);
      expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(1);
      expect((await sessionRecord(sub, pair.session_id))?.revoked_reason).toBe("reuse");
    });
  });
});

describe("rule 5 with REUSE_REVOKES=session", () => {
  describe.each(refreshTransports)("with a $name body", ({ send }) => {
    it("revokes only the session of the reused token; the user's other session keeps working", async () => {
      const sub = uniqueSub();
      const first = await openSession(sub);
      const second = await pairOf(await send(first.refresh_token));
      const current = await pairOf(await send(second.refresh_token));
      const other = await openSession(sub);

      await expectInvalidGrant(await send(first.refresh_token));
      await expectInvalidGrant(await send(current.refresh_token));
      await pairOf(await send(other.refresh_token));
      const [event] = await eventsOf(sub, "refresh_token_reuse");
      expect(event!.detail!.revoked_session_ids).toEqual([first.session_id]);
      expect((await sessionRecord(sub, other.session_id))?.revoked_at).toBeNull();
    });
  });
});

import { describe, expect, it } from "vitest";
import {
  ageSession,
  eventsOf,
  openSession,
  pairOf,
  refresh,
  refreshForm,
  refreshTransports,
  sessionRecord,
  uniqueSub,
} from "../helpers";

// The refresh rules of docs/api.md through the real Durable Object under this project's settings
// (vitest.config.ts, "unlimited-sessions"): REFRESH_IDLE_TTL_SECONDS and SESSION_MAX_TTL_SECONDS
// are 0 (no limit) and the grace window is 60 s. Time passes with `ageSession`.

const SECOND = 1000;
const DAY = 86_400 * SECOND;

describe("rule 2: 0 means no limit", () => {
  it("refreshes a session created and last used ten years ago when both limits are 0", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    await ageSession(sub, pair.session_id, 3650 * DAY);
    const next = await pairOf(await refresh(pair.refresh_token));
    await ageSession(sub, pair.session_id, 3650 * DAY);
    await pairOf(await refreshForm(next.refresh_token));

    expect(await eventsOf(sub, "session_expired")).toEqual([]);
    expect(await sessionRecord(sub, pair.session_id)).toMatchObject({ rotation_count: 2, revoked_at: null, expires_at: null });
  });
});

describe("rule 4 with REFRESH_REUSE_GRACE_SECONDS=60", () => {
  describe.each(refreshTransports)("with a $name body", ({ send }) => {
    it("hands out the same successor for the previous token 59 s after the rotation", async () => {
      const sub = uniqueSub();
      const pair = await openSession(sub);
      const rotated = await pairOf(await send(pair.refresh_token));
      await ageSession(sub, pair.session_id, 59 * SECOND);
      expect((await pairOf(await send(pair.refresh_token))).refresh_token).toBe(rotated.refresh_token);
      expect(await eventsOf(sub, "refresh_grace_replay")).toHaveLength(1);
      expect(await eventsOf(sub, "refresh_token_reuse")).toEqual([]);
    });
  });
});

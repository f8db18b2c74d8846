import { describe, expect, it } from "vitest";
import {
  ageSession,
  eventsOf,
  expectInvalidGrant,
  openSession,
  refresh,
  runUserAlarm,
  sessionRecord,
  uniqueSub,
} from "./helpers";

// Expiry under the wrangler.toml settings (14 days idle, 90 days absolute). Refreshing an expired
// session, and expired sessions in the session list, DELETE and logout: test/strict-sessions/.
// Sessions without limits: test/unlimited-sessions/. The exact edges: test/refresh-decision.test.ts.

const DAY_MS = 86_400_000;


describe("expired sessions elsewhere", () => {
  it("marks a session that ran past its limit from the alarm, without any request", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    const kept = await openSession(sub);
    await ageSession(sub, pair.session_id, 15 * DAY_MS);

    const from = Date.now();
    expect(await runUserAlarm(sub)).toBe(true);
    const record = await sessionRecord(sub, pair.session_id);
    expect(record?.revoked_reason).toBe("idle_timeout");
    expect(record?.revoked_at).toBeGreaterThanOrEqual(from - 1000);
    expect(record?.revoked_at).toBeLessThanOrEqual(Date.now() + 1000);
    const events = await eventsOf(sub, "session_expired");
    expect(events).toHaveLength(1);
    // No request, so no client address.
    expect(events[0]).toMatchObject({ type: "session_expired", sub, session_id: pair.session_id, ip: null, detail: { reason: "idle_timeout" } });
    await expectInvalidGrant(await refresh(pair.refresh_token));
    expect((await sessionRecord(sub, kept.session_id))?.revoked_at).toBeNull();
    expect((await refresh(kept.refresh_token)).status).toBe(200);
  });
});

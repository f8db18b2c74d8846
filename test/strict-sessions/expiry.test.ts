import { describe, expect, it } from "vitest";
import { ageSession, bearer, call, eventsOf, openSession, postJson, sessionRecord, storedSession, uniqueSub } from "../helpers";

// Expired sessions outside POST /auth/refresh, under this project's 60 s idle limit
// (vitest.config.ts, "strict-sessions"). Refreshing an expired session: refresh-rules.test.ts.

const SECOND = 1000;
/** Just past REFRESH_IDLE_TTL_SECONDS of this project. */
const PAST_IDLE_LIMIT = 61 * SECOND;

async function listedSessions(accessToken: string) {
  const response = await call("/auth/sessions", { headers: bearer(accessToken) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { sessions: Array<{ id: string }> }).sessions;
}

describe("expired sessions elsewhere", () => {
  it("no longer lists an expired session even before anything marked it", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    expect(await listedSessions(pair.access_token)).toHaveLength(1);
    await ageSession(sub, pair.session_id, PAST_IDLE_LIMIT);
    expect(await listedSessions(pair.access_token)).toEqual([]);
    // Nothing marked it: the list goes by the session's limits.
    expect((await storedSession(sub, pair.session_id)).revoked_at).toBeNull();
  });

  it("answers 404 to DELETE of an expired session and records the expiry instead", async () => {
    const sub = uniqueSub();
    const me = await openSession(sub);
    const stale = await openSession(sub);
    await ageSession(sub, stale.session_id, PAST_IDLE_LIMIT);

    const response = await call(`/auth/sessions/${stale.session_id}`, { method: "DELETE", headers: bearer(me.access_token) });
    expect(response.status).toBe(404);
    expect((await sessionRecord(sub, stale.session_id))?.revoked_reason).toBe("idle_timeout");
    expect(await eventsOf(sub, "session_revoked")).toEqual([]);
    expect(await eventsOf(sub, "session_expired")).toHaveLength(1);
  });

  it("logs out an expired session quietly: 204, recorded as expired", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    await ageSession(sub, pair.session_id, PAST_IDLE_LIMIT);
    const response = await postJson("/auth/logout", { refresh_token: pair.refresh_token });
    expect(response.status).toBe(204);
    expect((await sessionRecord(sub, pair.session_id))?.revoked_reason).toBe("idle_timeout");
    expect(await eventsOf(sub, "logout")).toEqual([]);
  });
});

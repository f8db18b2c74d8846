import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  bearer,
  call,
  eventsOf,
  openSession,
  postJson,
  refresh,
  runUserAlarm,
  uniqueSub,
  userAuthStub,
  type TokenResponse,
  type Vars,
} from "./helpers";

const DAY_MS = 86_400_000;

/** Moves a session's times in the user's Durable Object into the past, as if that much time had gone by. */
function backdate(sub: string, sessionId: string, by: { createdMs?: number; lastUsedMs?: number }) {
  return runInDurableObject(userAuthStub(sub), (_instance, state) => {
    state.storage.sql.exec(
      "UPDATE sessions SET created_at = created_at - ?, last_used_at = last_used_at - ? WHERE id = ?",
      by.createdMs ?? 0,
      by.lastUsedMs ?? 0,
      sessionId,
    );
  });
}

function sessionRecord(id: string) {
  return env.DB.prepare("SELECT revoked_at, revoked_reason, expires_at FROM sessions WHERE id = ?1")
    .bind(id)
    .first<{ revoked_at: number | null; revoked_reason: string | null; expires_at: number | null }>();
}

async function expectInvalidGrant(refreshToken: string, vars?: Vars) {
  const response = await refresh(refreshToken, vars);
  expect(response.status).toBe(400);
  expect(await response.json()).toMatchObject({ error: "invalid_grant" });
}

async function expectExpiredRecord(sub: string, sessionId: string, reason: "idle_timeout" | "max_lifetime", window: { from: number; to: number }) {
  const record = await sessionRecord(sessionId);
  expect(record?.revoked_reason).toBe(reason);
  expect(record?.revoked_at).toBeGreaterThanOrEqual(window.from - 1000);
  expect(record?.revoked_at).toBeLessThanOrEqual(window.to + 1000);
  const events = await eventsOf(sub, "session_expired");
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ type: "session_expired", sub, session_id: sessionId, detail: { reason } });
}

describe("idle expiry (REFRESH_IDLE_TTL_SECONDS)", () => {
  it("refuses a refresh token left unused for longer than the idle limit, for real", async () => {
    const sub = uniqueSub();
    const vars: Vars = { REFRESH_IDLE_TTL_SECONDS: "1" };
    const pair = await openSession(sub, undefined, vars);
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const from = Date.now();
    await expectInvalidGrant(pair.refresh_token, vars);
    await expectExpiredRecord(sub, pair.session_id, "idle_timeout", { from, to: Date.now() });
    // Expired stays expired: no second event, still refused.
    await expectInvalidGrant(pair.refresh_token, vars);
    expect(await eventsOf(sub, "session_expired")).toHaveLength(1);
  });

  it("keeps a session alive while it is refreshed within the idle limit", async () => {
    const sub = uniqueSub();
    const vars: Vars = { REFRESH_IDLE_TTL_SECONDS: "3600" };
    let pair = await openSession(sub, undefined, vars);
    // 59 minutes idle, three times over: each refresh resets the idle clock.
    for (let i = 0; i < 3; i += 1) {
      await backdate(sub, pair.session_id, { lastUsedMs: 59 * 60_000 });
      const response = await refresh(pair.refresh_token, vars);
      expect(response.status).toBe(200);
      pair = await response.json();
    }
    await backdate(sub, pair.session_id, { lastUsedMs: 61 * 60_000 });
    const from = Date.now();
    await expectInvalidGrant(pair.refresh_token, vars);
    await expectExpiredRecord(sub, pair.session_id, "idle_timeout", { from, to: Date.now() });
  });

  it("never expires an idle session when REFRESH_IDLE_TTL_SECONDS is 0", async () => {
    const sub = uniqueSub();
    const vars: Vars = { REFRESH_IDLE_TTL_SECONDS: "0", SESSION_MAX_TTL_SECONDS: "0" };
    const pair = await openSession(sub, undefined, vars);
    await backdate(sub, pair.session_id, { createdMs: 3650 * DAY_MS, lastUsedMs: 3650 * DAY_MS });
    const response = await refresh(pair.refresh_token, vars);
    expect(response.status).toBe(200);
    expect(await eventsOf(sub, "session_expired")).toEqual([]);
    expect((await sessionRecord(pair.session_id))?.expires_at).toBeNull();
  });
});

describe("absolute expiry (SESSION_MAX_TTL_SECONDS)", () => {
  it("refuses a session older than the absolute limit even though it was just used", async () => {
    const sub = uniqueSub();
    const vars: Vars = { SESSION_MAX_TTL_SECONDS: "60", REFRESH_IDLE_TTL_SECONDS: "0" };
    const pair = await openSession(sub, undefined, vars);
    const rotated = (await (await refresh(pair.refresh_token, vars)).json()) as TokenResponse;
    // Created 61 s ago, last used just now.
    await backdate(sub, pair.session_id, { createdMs: 61_000 });

    const from = Date.now();
    await expectInvalidGrant(rotated.refresh_token, vars);
    await expectExpiredRecord(sub, pair.session_id, "max_lifetime", { from, to: Date.now() });
  });

  it("refuses a session past the absolute limit for real, and says max_lifetime", async () => {
    const sub = uniqueSub();
    const vars: Vars = { SESSION_MAX_TTL_SECONDS: "1" };
    const pair = await openSession(sub, undefined, vars);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const from = Date.now();
    await expectInvalidGrant(pair.refresh_token, vars);
    await expectExpiredRecord(sub, pair.session_id, "max_lifetime", { from, to: Date.now() });
  });

  it("never ends a session by age when SESSION_MAX_TTL_SECONDS is 0", async () => {
    const sub = uniqueSub();
    const vars: Vars = { SESSION_MAX_TTL_SECONDS: "0", REFRESH_IDLE_TTL_SECONDS: "3600" };
    const pair = await openSession(sub, undefined, vars);
    await backdate(sub, pair.session_id, { createdMs: 3650 * DAY_MS });
    const response = await refresh(pair.refresh_token, vars);
    expect(response.status).toBe(200);
    expect(await eventsOf(sub, "session_expired")).toEqual([]);
  });
});

describe("expired sessions elsewhere", () => {
  it("no longer lists an expired session even before anything marked it", async () => {
    const sub = uniqueSub();
    const vars: Vars = { REFRESH_IDLE_TTL_SECONDS: "1" };
    const pair = await openSession(sub, undefined, vars);
    const listed = await call("/auth/sessions", { headers: bearer(pair.access_token) }, vars);
    expect(((await listed.json()) as { sessions: unknown[] }).sessions).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const later = await call("/auth/sessions", { headers: bearer(pair.access_token) }, vars);
    expect(((await later.json()) as { sessions: unknown[] }).sessions).toEqual([]);
  });

  it("marks a session that ran past its limit from the alarm, without any request", async () => {
    const sub = uniqueSub();
    // The alarm applies the deployed configuration (wrangler.toml: 14 days idle).
    const pair = await openSession(sub);
    const kept = await openSession(sub);
    await backdate(sub, pair.session_id, { createdMs: 15 * DAY_MS, lastUsedMs: 15 * DAY_MS });

    const from = Date.now();
    expect(await runUserAlarm(sub)).toBe(true);
    await expectExpiredRecord(sub, pair.session_id, "idle_timeout", { from, to: Date.now() });
    const [event] = await eventsOf(sub, "session_expired");
    expect(event!.ip).toBeNull();
    await expectInvalidGrant(pair.refresh_token);
    expect((await sessionRecord(kept.session_id))?.revoked_at).toBeNull();
    expect((await refresh(kept.refresh_token)).status).toBe(200);
  });

  it("answers 404 to DELETE of an expired session and records the expiry instead", async () => {
    const sub = uniqueSub();
    const vars: Vars = { REFRESH_IDLE_TTL_SECONDS: "3600" };
    const me = await openSession(sub, undefined, vars);
    const stale = await openSession(sub, undefined, vars);
    await backdate(sub, stale.session_id, { lastUsedMs: 2 * 3600_000 });

    const response = await call(`/auth/sessions/${stale.session_id}`, { method: "DELETE", headers: bearer(me.access_token) }, vars);
    expect(response.status).toBe(404);
    expect((await sessionRecord(stale.session_id))?.revoked_reason).toBe("idle_timeout");
    expect(await eventsOf(sub, "session_revoked")).toEqual([]);
    expect(await eventsOf(sub, "session_expired")).toHaveLength(1);
  });

  it("logs out an expired session quietly: 204, recorded as expired", async () => {
    const sub = uniqueSub();
    const vars: Vars = { REFRESH_IDLE_TTL_SECONDS: "3600" };
    const pair = await openSession(sub, undefined, vars);
    await backdate(sub, pair.session_id, { lastUsedMs: 2 * 3600_000 });
    const response = await postJson("/auth/logout", { refresh_token: pair.refresh_token }, {}, vars);
    expect(response.status).toBe(204);
    expect((await sessionRecord(pair.session_id))?.revoked_reason).toBe("idle_timeout");
  });
});

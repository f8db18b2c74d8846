import { createScheduledController, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import {
  ageSession,
  bearer,
  call,
  expectInvalidGrant,
  openSession,
  refresh,
  drainEvents,
  runUserAlarm,
  uniqueSub,
  userAuthStub,
  type Vars,
} from "./helpers";

const SECOND_MS = 1000;
const DAY_MS = 86_400_000;
// wrangler.toml, which is what the Durable Object's alarm and the cron handler read.
const SESSION_RETENTION_MS = 604_800 * SECOND_MS;
const AUDIT_RETENTION_MS = 7_776_000 * SECOND_MS;

/** The ids of the sessions a user's Durable Object still holds. */
function heldSessionIds(sub: string): Promise<string[]> {
  return runInDurableObject(userAuthStub(sub), (_instance, state) =>
    state.storage.sql.exec<{ id: string }>("SELECT id FROM sessions ORDER BY id").toArray().map((row) => row.id),
  );
}

function alarmOf(sub: string) {
  return runInDurableObject(userAuthStub(sub), (_instance, state) => state.storage.getAlarm());
}


describe("purge of ended sessions from the Durable Object (alarm)", () => {
  it("deletes only sessions that ended longer than SESSION_RETENTION_SECONDS ago", async () => {
    const sub = uniqueSub();
    const [me, oldRevoked, recentRevoked, almostDue, oldExpired, active] = await Promise.all(Array.from({ length: 6 }, () => openSession(sub)));
    for (const pair of [oldRevoked!, recentRevoked!, almostDue!]) {
      expect((await call(`/auth/sessions/${pair.session_id}`, { method: "DELETE", headers: bearer(me!.access_token) })).status).toBe(204);
    }
    // An idle-expired session (14 days idle in wrangler.toml), marked by a refresh.
    await ageSession(sub, oldExpired!.session_id, 15 * DAY_MS);
    await expectInvalidGrant(await refresh(oldExpired!.refresh_token));
    // Then time passes for the ended sessions.
    await ageSession(sub, oldRevoked!.session_id, SESSION_RETENTION_MS + 60 * SECOND_MS);
    await ageSession(sub, recentRevoked!.session_id, 60 * SECOND_MS);
    await ageSession(sub, almostDue!.session_id, SESSION_RETENTION_MS - 60 * SECOND_MS);
    await ageSession(sub, oldExpired!.session_id, SESSION_RETENTION_MS + 60 * SECOND_MS);

    expect(await runUserAlarm(sub)).toBe(true);

    expect(await heldSessionIds(sub)).toEqual([me!.session_id, recentRevoked!.session_id, almostDue!.session_id, active!.session_id].sort());
    // A purged session's tokens stay dead; a retained one keeps answering invalid_grant; active ones work.
    for (const pair of [oldRevoked!, recentRevoked!, almostDue!, oldExpired!]) await expectInvalidGrant(await refresh(pair.refresh_token));
    expect((await refresh(active!.refresh_token)).status).toBe(200);
  });

  it("comes back for a retained session once its retention runs out", async () => {
    const sub = uniqueSub();
    const [me, revoked] = await Promise.all([openSession(sub), openSession(sub)]);
    expect((await call(`/auth/sessions/${revoked!.session_id}`, { method: "DELETE", headers: bearer(me!.access_token) })).status).toBe(204);
    const revokedAt = await runInDurableObject(userAuthStub(sub), (_instance, state) =>
      state.storage.sql.exec<{ revoked_at: number }>("SELECT revoked_at FROM sessions WHERE id = ?", revoked!.session_id).one().revoked_at,
    );
    expect(await runUserAlarm(sub)).toBe(true);
    expect(await heldSessionIds(sub)).toContain(revoked!.session_id);
    // Next due: the revoked session, which comes before the active one's 14-day idle expiry.
    expect(await alarmOf(sub)).toBe(revokedAt + SESSION_RETENTION_MS);

    await ageSession(sub, revoked!.session_id, SESSION_RETENTION_MS);
    expect(await runUserAlarm(sub)).toBe(true);
    expect(await heldSessionIds(sub)).toEqual([me!.session_id]);
  });

  it("keeps the Durable Object's storage to the active sessions once every ended one is past retention", async () => {
    const sub = uniqueSub();
    const pairs = await Promise.all(Array.from({ length: 4 }, () => openSession(sub)));
    expect((await call("/auth/logout-all", { method: "POST", headers: bearer(pairs[0]!.access_token) })).status).toBe(204);
    for (const pair of pairs) await ageSession(sub, pair.session_id, SESSION_RETENTION_MS + SECOND_MS);
    expect(await runUserAlarm(sub)).toBe(true);
    expect(await heldSessionIds(sub)).toEqual([]);
    // Nothing left to look after: no alarm.
    expect(await alarmOf(sub)).toBeNull();
  });
});

describe("purge of old D1 rows (scheduled handler)", () => {
  async function insertSession(id: string, times: { revokedAt?: number | null; expiresAt?: number | null; createdAt: number }) {
    await env.DB.prepare(
      `INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, revoked_at, revoked_reason, user_agent, ip, rotation_count, version)
       VALUES (?1, 'cron-user', ?2, ?2, ?3, ?4, ?5, NULL, NULL, 0, 1)`,
    )
      .bind(id, times.createdAt, times.expiresAt ?? null, times.revokedAt ?? null, times.revokedAt ? "logout" : null)
      .run();
  }

  async function insertEvent(id: string, at: number) {
    await env.DB.prepare("INSERT INTO events (id, type, sub, session_id, at, ip, detail) VALUES (?1, 'refresh', 'cron-user', NULL, ?2, NULL, NULL)")
      .bind(id, at)
      .run();
  }

  function runCron(vars: Vars = {}) {
    return worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 3 * * *" }), { ...env, ...vars } as Env);
  }

  it("deletes session rows that ended and events older than their retention, and keeps the rest", async () => {
    const now = Date.now();
    const old = now - SESSION_RETENTION_MS - DAY_MS;
    const recent = now - DAY_MS;
    await insertSession("old-revoked", { createdAt: old - DAY_MS, revokedAt: old, expiresAt: now + DAY_MS });
    await insertSession("old-expired", { createdAt: old - 30 * DAY_MS, expiresAt: old });
    await insertSession("recent-revoked", { createdAt: old, revokedAt: recent, expiresAt: now + DAY_MS });
    await insertSession("recent-expired", { createdAt: old, expiresAt: recent });
    await insertSession("almost-due-revoked", { createdAt: old, revokedAt: now - SESSION_RETENTION_MS + 60 * SECOND_MS });
    await insertSession("active-long-lived", { createdAt: now - 365 * DAY_MS, expiresAt: null });
    await insertSession("active", { createdAt: old, expiresAt: now + DAY_MS });
    await insertEvent("old-event", now - AUDIT_RETENTION_MS - DAY_MS);
    await insertEvent("recent-event", now - AUDIT_RETENTION_MS + 60 * SECOND_MS);
    // A real session opened through the gateway, and its event, stay as well.
    const liveSub = uniqueSub();
    const live = await openSession(liveSub);
    await drainEvents(liveSub);

    await runCron();

    const sessions = await env.DB.prepare("SELECT id FROM sessions WHERE user_id = 'cron-user' ORDER BY id").all<{ id: string }>();
    expect(sessions.results.map((row) => row.id)).toEqual(["active", "active-long-lived", "almost-due-revoked", "recent-expired", "recent-revoked"]);
    const events = await env.DB.prepare("SELECT id FROM events WHERE sub = 'cron-user' ORDER BY id").all<{ id: string }>();
    expect(events.results.map((row) => row.id)).toEqual(["recent-event"]);
    expect(await env.DB.prepare("SELECT id FROM sessions WHERE id = ?1").bind(live.session_id).first()).not.toBeNull();
    const listed = await call("/auth/sessions", { headers: bearer(live.access_token) });
    expect(((await listed.json()) as { sessions: unknown[] }).sessions).toHaveLength(1);

    // Running it again changes nothing.
    await runCron();
    const again = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = 'cron-user'").first<{ n: number }>();
    expect(again?.n).toBe(5);
  });

  it("follows SESSION_RETENTION_SECONDS and AUDIT_RETENTION_SECONDS", async () => {
    const now = Date.now();
    await insertSession("short-retention-revoked", { createdAt: now - DAY_MS, revokedAt: now - 120 * SECOND_MS });
    await insertEvent("short-retention-event", now - 120 * SECOND_MS);
    await runCron({ SESSION_RETENTION_SECONDS: "60", AUDIT_RETENTION_SECONDS: "60" });
    expect(await env.DB.prepare("SELECT id FROM sessions WHERE id = 'short-retention-revoked'").first()).toBeNull();
    expect(await env.DB.prepare("SELECT id FROM events WHERE id = 'short-retention-event'").first()).toBeNull();
  });

  it("with a bad setting, deletes nothing and fails naming the variable, so the run shows as failed", async () => {
    const now = Date.now();
    await insertSession("kept-while-misconfigured", { createdAt: now - DAY_MS, revokedAt: now - 120 * SECOND_MS });
    await insertEvent("kept-while-misconfigured-event", now - 120 * SECOND_MS);
    await expect(runCron({ SESSION_RETENTION_SECONDS: "60", AUDIT_RETENTION_SECONDS: "a week" })).rejects.toMatchObject({
      status: 503,
      code: "server_misconfigured",
      description: expect.stringContaining("AUDIT_RETENTION_SECONDS"),
    });
    expect(await env.DB.prepare("SELECT id FROM sessions WHERE id = 'kept-while-misconfigured'").first()).not.toBeNull();
    expect(await env.DB.prepare("SELECT id FROM events WHERE id = 'kept-while-misconfigured-event'").first()).not.toBeNull();
  });

  it("is wired to a cron trigger in wrangler.toml, so `wrangler dev --test-scheduled` can run it", async () => {
    // Vite's ?raw import gives the file as text; a string specifier keeps TypeScript out of it.
    const specifier = "../wrangler.toml?raw";
    const wranglerToml = ((await import(/* @vite-ignore */ specifier)) as { default: string }).default;
    const triggers = /^\[triggers\]\s*\ncrons\s*=\s*\[([^\]]*)\]/m.exec(wranglerToml.replace(/^#.*\n/gm, ""));
    expect(triggers).not.toBeNull();
    const crons = [...triggers![1]!.matchAll(/"([^"]+)"/g)].map((match) => match[1]!);
    expect(crons.length).toBeGreaterThan(0);
    for (const cron of crons) expect(cron.trim().split(/\s+/)).toHaveLength(5);
    expect(typeof worker.scheduled).toBe("function");
  });
});

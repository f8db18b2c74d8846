// What the user's Durable Object and D1 hold, read and changed in place: alarms, the outbox,
// session rows, a table taken offline, time passing for one session. D1 is written by the EVENTS
// queue's consumer: test/helpers/queue.ts drains it.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { drainEvents } from "./queue";

/** The UserAuth Durable Object stub of a user. */
export function userAuthStub(sub: string) {
  return env.USER_AUTH.get(env.USER_AUTH.idFromName(sub));
}

/** Runs the user's UserAuth alarm now (retries of outbox sends, expiry, purge), if one is set. */
export function runUserAlarm(sub: string) {
  return runDurableObjectAlarm(userAuthStub(sub));
}

/** How many entries wait in a Durable Object's outbox (UserAuth or LoginThrottle), not yet sent to the queue. */
export function outboxSize(stub: DurableObjectStub) {
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n);
}

/**
 * Runs `action` while a D1 table is really unreachable (renamed, so every write to it fails), and
 * always puts it back.
 */
export async function withD1TableOffline(table: "sessions" | "events" | "users" | "identities", action: () => Promise<void>) {
  await env.DB.prepare(`ALTER TABLE ${table} RENAME TO ${table}_offline`).run();
  try {
    await action();
  } finally {
    await env.DB.prepare(`ALTER TABLE ${table}_offline RENAME TO ${table}`).run();
  }
}

/** A session's record in D1 once the user's events have drained, or null. */
export async function sessionRecord(sub: string, sessionId: string) {
  await drainEvents(sub);
  return env.DB.prepare(
    `SELECT id, user_id, created_at, last_used_at, expires_at, revoked_at, revoked_reason, user_agent, ip, rotation_count
     FROM sessions WHERE id = ?1`,
  )
    .bind(sessionId)
    .first<import("../../src/db/sessions").SessionRecord>();
}

/**
 * Lets `ms` pass for one session, as if nobody had touched it for that long: every time stored
 * for it moves back by `ms`, in the user's Durable Object (created, last used, each kept issue
 * time, the end of a revoked session, and when its D1 record was last queued) and in its D1
 * record (the same, and expires_at). Nothing runs meanwhile: the session is marked expired only once a request or the alarm looks.
 */
export async function ageSession(sub: string, sessionId: string, ms: number): Promise<void> {
  await drainEvents(sub);
  await runInDurableObject(userAuthStub(sub), (_instance, state) => {
    const sql = state.storage.sql;
    const { issue_times } = sql.exec<{ issue_times: string }>("SELECT issue_times FROM sessions WHERE id = ?", sessionId).one();
    const issueTimes = (JSON.parse(issue_times) as number[]).map((at) => at - ms);
    sql.exec(
      `UPDATE sessions SET created_at = created_at - ?1, last_used_at = last_used_at - ?1, revoked_at = revoked_at - ?1,
         recorded_at = recorded_at - ?1, issue_times = ?2 WHERE id = ?3`,
      ms, JSON.stringify(issueTimes), sessionId,
    );
  });
  await env.DB.prepare(
    `UPDATE sessions SET created_at = created_at - ?1, last_used_at = last_used_at - ?1, expires_at = expires_at - ?1, revoked_at = revoked_at - ?1
     WHERE id = ?2`,
  )
    .bind(ms, sessionId)
    .run();
}

/** A session's row in the user's Durable Object: the exact current state, whatever D1 shows. */
export type StoredSession = {
  id: string;
  generation: number;
  issue_times: string;
  created_at: number;
  last_used_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** The thumbprint of the DPoP key the session is bound to, or null. */
  jkt: string | null;
};

/** Every session row of a user's Durable Object, read in place (no alarm, no request). */
export function storedSessions(sub: string): Promise<StoredSession[]> {
  return runInDurableObject(userAuthStub(sub), (_instance, state) =>
    state.storage.sql
      .exec<StoredSession>("SELECT id, generation, issue_times, created_at, last_used_at, revoked_at, revoked_reason, jkt FROM sessions")
      .toArray(),
  );
}

/** One session's row in its user's Durable Object. */
export async function storedSession(sub: string, sessionId: string): Promise<StoredSession> {
  const session = (await storedSessions(sub)).find((entry) => entry.id === sessionId);
  if (!session) throw new Error(`no session ${sessionId} in the object of ${sub}`);
  return session;
}

import { accountDeletedSince } from "./events";

/** A session's record in D1, as the UserAuth Durable Object last saw it. Times in Unix ms. */
export interface SessionRecord {
  id: string;
  user_id: string;
  created_at: number;
  last_used_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  user_agent: string | null;
  ip: string | null;
  rotation_count: number;
}

/**
 * Writes a session record. `version` orders the writes of one Durable Object: a retried older
 * write never overwrites a newer one. The record of a session opened before its user's account
 * was deleted (still in the queue when `DELETE /auth/account` deleted the user's records) is not
 * written back.
 */
export function upsertSession(db: D1Database, record: SessionRecord, version: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, revoked_at, revoked_reason, user_agent, ip, rotation_count, version)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
       WHERE NOT ${accountDeletedSince("?2", "?3")}
       ON CONFLICT (id) DO UPDATE SET
         last_used_at = excluded.last_used_at, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at,
         revoked_reason = excluded.revoked_reason, user_agent = excluded.user_agent, ip = excluded.ip,
         rotation_count = excluded.rotation_count, version = excluded.version
       WHERE excluded.version > sessions.version`,
    )
    .bind(
      record.id,
      record.user_id,
      record.created_at,
      record.last_used_at,
      record.expires_at,
      record.revoked_at,
      record.revoked_reason,
      record.user_agent,
      record.ip,
      record.rotation_count,
      version,
    );
}

/** Deletes the records of sessions that ended (revoked or expired) before `cutoff`. */
export async function purgeEndedSessions(db: D1Database, cutoff: number): Promise<number> {
  const result = await db
    .prepare(
      `DELETE FROM sessions
       WHERE (revoked_at IS NOT NULL AND revoked_at < ?1) OR (expires_at IS NOT NULL AND expires_at < ?1)`,
    )
    .bind(cutoff)
    .run();
  return result.meta.changes;
}

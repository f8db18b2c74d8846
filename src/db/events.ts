import type { AuditEventItem, EventType } from "../wire";
import { requireD1 } from "./unavailable";
/** One audit event. `at` is Unix ms; `detail` is a JSON object or null. */
export interface AuditEvent {
  id: string;
  type: EventType;
  sub: string | null;
  session_id: string | null;
  at: number;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

/** Builds an event with a fresh id. */
export function auditEvent(fields: Omit<AuditEvent, "id">): AuditEvent {
  return { id: crypto.randomUUID(), ...fields };
}

/** An event as the admin listing and the webhooks show it: no id, `at` in ISO 8601. */
export function eventOnTheWire(event: AuditEvent): AuditEventItem {
  return {
    type: event.type,
    sub: event.sub,
    session_id: event.session_id,
    at: new Date(event.at).toISOString(),
    ip: event.ip,
    detail: event.detail,
  };
}

/**
 * Records an event; the id makes a retried write a no-op. An event of a user whose account was
 * deleted after it happened (it was still in the queue when `DELETE /auth/account` anonymised
 * the user's events) is anonymised as it lands: its type and time, never its `ip` or `detail`.
 * A later user of the same `sub` (the admin route's ids can come back) is not affected.
 */
export function insertEvent(db: D1Database, event: AuditEvent): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO events (id, type, sub, session_id, at, ip, detail)
       SELECT ?1, ?2, ?3, ?4, ?5, CASE WHEN deleted THEN NULL ELSE ?6 END, CASE WHEN deleted THEN NULL ELSE ?7 END
       FROM (SELECT ${accountDeletedSince("?3", "?5")} AS deleted)
       WHERE true
       ON CONFLICT (id) DO NOTHING`,
    )
    .bind(event.id, event.type, event.sub, event.session_id, event.at, event.ip, event.detail === null ? null : JSON.stringify(event.detail));
}

/**
 * SQL that is true when the account of `sub` was deleted at or after `at`: its `account_deleted`
 * event, found through `events_by_sub`.
 */
export function accountDeletedSince(sub: string, at: string): string {
  return `EXISTS (SELECT 1 FROM events WHERE sub = ${sub} AND type = 'account_deleted' AND at >= ${at})`;
}

/**
 * Records an event only when the statement just before it, in the same batch, changed a row
 * (SQLite's `changes()`): a change and its event in one transaction, the event only if the change
 * happened.
 */
export function insertEventIfChanged(db: D1Database, event: AuditEvent): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO events (id, type, sub, session_id, at, ip, detail)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE changes() = 1
       ON CONFLICT (id) DO NOTHING`,
    )
    .bind(event.id, event.type, event.sub, event.session_id, event.at, event.ip, event.detail === null ? null : JSON.stringify(event.detail));
}

export interface EventQuery {
  sub?: string;
  type?: EventType;
  limit: number;
}

/**
 * Events matching the filters, newest first. The WHERE clause names only the filters given: a
 * catch-all `(?1 IS NULL OR sub = ?1)` cannot use an index, so SQLite walked `events_by_time`
 * and a user's events took a scan of the whole table (about a second at a million rows).
 */
export async function queryEvents(db: D1Database, query: EventQuery): Promise<AuditEvent[]> {
  const filters = [
    ...(query.sub === undefined ? [] : [{ sql: "sub = ?", value: query.sub }]),
    ...(query.type === undefined ? [] : [{ sql: "type = ?", value: query.type }]),
  ];
  const where = filters.length === 0 ? "" : `WHERE ${filters.map((filter) => filter.sql).join(" AND ")}`;
  const { results } = await requireD1("query events", () =>
    db
      .prepare(`SELECT id, type, sub, session_id, at, ip, detail FROM events ${where} ORDER BY at DESC, rowid DESC LIMIT ?`)
      .bind(...filters.map((filter) => filter.value), query.limit)
      .all<Omit<AuditEvent, "detail"> & { detail: string | null }>(),
  );
  return results.map((row) => ({ ...row, detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>) }));
}

/** Deletes events older than `cutoff`. */
export async function purgeEvents(db: D1Database, cutoff: number): Promise<number> {
  const result = await db.prepare("DELETE FROM events WHERE at < ?1").bind(cutoff).run();
  return result.meta.changes;
}

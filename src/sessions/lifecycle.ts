import type { SessionSettings } from "../config";
import type { SessionRecord } from "../db/sessions";
import { expiredReason, sessionExpiry, withIssueTime, type ExpiryReason } from "./refresh-rules";
import type { ActiveSession, ClientInfo, PresentedProof, SessionOpening } from "./rpc";
import type { Session } from "./session-store";

/**
 * A session's life from opening to purge, as pure functions of the sessions and `now` (Unix ms):
 * what a new or rotated session looks like, which sessions are past their limits, which the
 * session cap revokes, what the user's listing shows, what D1 records, and when the object must
 * wake up next. The `UserAuth` object applies the answers; the refresh rules themselves are in
 * `refresh-rules.ts`, the bounds on what the object keeps in `storage-bounds.ts`.
 */

/** How often, at most, a session's rotations reach its D1 record; its opening and its end go at once. */
export const RECORD_INTERVAL_MS = 3_600_000;

/** A session just opened by `opening`, as the object stores it; bound to the proof's key when one came. */
export function newSession(opening: SessionOpening, request: { id: string; client: ClientInfo; proof: PresentedProof | null }, now: number): Session {
  return {
    id: request.id,
    sub: opening.sub,
    generation: 0,
    issueTimes: [now],
    createdAt: now,
    lastUsedAt: now,
    revokedAt: null,
    revokedReason: null,
    recordedAt: now,
    jkt: request.proof?.jkt ?? null,
    dpopFailures: { lastEventAt: null, unrecorded: 0 },
    claims: opening.claims,
    amr: opening.amr,
    authTime: opening.authTime,
    userAgent: request.client.userAgent,
    ip: request.client.ip,
  };
}

/**
 * Rule 3's new state: the next generation, issued now, used now, by this client (a client that
 * sends no user agent or address keeps the previous one). How and when the user signed in stay.
 */
export function rotated(session: Session, client: ClientInfo, now: number): Session {
  return {
    ...session,
    generation: session.generation + 1,
    issueTimes: withIssueTime(session.issueTimes, now),
    lastUsedAt: now,
    ip: client.ip ?? session.ip,
    userAgent: client.userAgent ?? session.userAgent,
  };
}

/**
 * Whether a rotation at `now` queues the session's D1 record again: at most once per
 * `RECORD_INTERVAL_MS`. The object keeps the exact values; D1 is for queries across users, where
 * an hour-old last use is enough, and one write per rotation is what bounds a large deployment.
 */
export function recordDue(session: Pick<Session, "recordedAt">, now: number): boolean {
  return now - session.recordedAt >= RECORD_INTERVAL_MS;
}

/** Whether the session can be used at `now`: not revoked, and within its idle and absolute limits. */
export function isActive(session: Pick<Session, "revokedAt" | "createdAt" | "lastUsedAt">, settings: SessionSettings, now: number): boolean {
  return session.revokedAt === null && expiredReason(session, settings, now) === null;
}

/** The sessions among `active` (not revoked) that ran past a limit by `now`, each with the limit it ran past. */
export function expiredSessions<S extends Pick<Session, "createdAt" | "lastUsedAt">>(
  active: readonly S[],
  settings: SessionSettings,
  now: number,
): Array<{ session: S; reason: ExpiryReason }> {
  return active.flatMap((session) => {
    const reason = expiredReason(session, settings, now);
    return reason === null ? [] : [{ session, reason }];
  });
}

/**
 * The sessions `MAX_SESSIONS_PER_USER` revokes among `live` ones (active and within their
 * limits: expired ones end as expired first, and do not count): while there are more than
 * `max`, the least recently used, and among sessions last used at the same moment the older.
 *
 * @example
 * sessionsToEvict([{ id: "a", lastUsedAt: 2, createdAt: 0 }, { id: "b", lastUsedAt: 1, createdAt: 0 }], 1);
 * // [{ id: "b", ... }]
 */
export function sessionsToEvict<S extends Pick<Session, "lastUsedAt" | "createdAt">>(live: readonly S[], max: number): S[] {
  const leastRecentlyUsedFirst = [...live].sort((a, b) => a.lastUsedAt - b.lastUsedAt || a.createdAt - b.createdAt);
  return leastRecentlyUsedFirst.slice(0, Math.max(0, live.length - max));
}

/** `GET /auth/sessions`: the sessions active at `now`, newest first. */
export function listedSessions(sessions: readonly Session[], settings: SessionSettings, now: number): ActiveSession[] {
  return sessions
    .filter((session) => isActive(session, settings, now))
    .sort((a, b) => b.createdAt - a.createdAt)
    .map((session) => ({
      id: session.id,
      createdAt: session.createdAt,
      lastUsedAt: session.lastUsedAt,
      expiresAt: sessionExpiry(session, settings)?.at ?? null,
      userAgent: session.userAgent,
      ip: session.ip,
      amr: session.amr,
      authTime: session.authTime,
    }));
}

/** When an ended session is purged: `SESSION_RETENTION_SECONDS` after it ended (until then its tokens meet rule 2). */
export function purgeDueAt(endedAt: number, settings: Pick<SessionSettings, "sessionRetentionSeconds">): number {
  return endedAt + settings.sessionRetentionSeconds * 1000;
}

/** Sessions that ended at or before this moment are due for purging at `now`. */
export function purgeCutoff(settings: Pick<SessionSettings, "sessionRetentionSeconds">, now: number): number {
  return now - settings.sessionRetentionSeconds * 1000;
}

/**
 * When the object's alarm must next fire for its sessions: the earliest moment an active
 * session runs past a limit or an ended one is due for purging; null when nothing ever is
 * (no sessions, or only sessions without limits).
 */
export function nextWakeUp(
  sessions: ReadonlyArray<Pick<Session, "revokedAt" | "createdAt" | "lastUsedAt">>,
  settings: SessionSettings,
): number | null {
  let next: number | null = null;
  for (const session of sessions) {
    const at = session.revokedAt !== null ? purgeDueAt(session.revokedAt, settings) : (sessionExpiry(session, settings)?.at ?? null);
    if (at !== null && (next === null || at < next)) next = at;
  }
  return next;
}

/** The D1 record of a session's current state (docs/storage.md, D1 `sessions`): no key, no claims. */
export function sessionRecord(session: Session, settings: SessionSettings): SessionRecord {
  return {
    id: session.id,
    user_id: session.sub,
    created_at: session.createdAt,
    last_used_at: session.lastUsedAt,
    expires_at: sessionExpiry(session, settings)?.at ?? null,
    revoked_at: session.revokedAt,
    revoked_reason: session.revokedReason,
    user_agent: session.userAgent,
    ip: session.ip,
    rotation_count: session.generation,
  };
}

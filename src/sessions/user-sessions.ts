import type { SessionSettings } from "../config";
import { auditEvent } from "../db/events";
import type { EventType } from "../wire";
import type { Outbox } from "../durable/outbox";
import { expiredSessions, newSession, purgeCutoff, purgeDueAt, recordDue, rotated, sessionRecord, sessionsToEvict } from "./lifecycle";
import { sessionExpiry, type ExpiryReason, type RefreshDecision } from "./refresh-rules";
import type { ClientInfo, PresentedProof, SessionOpening } from "./rpc";
import type { SessionKeys } from "./session-keys";
import type { RevokeReason, Session, SessionStore } from "./session-store";
import { endedSessionsToDrop, proofRememberedUntil, tallyDpopFailure } from "./storage-bounds";

/** The settings the user's sessions follow, from the object's own env. */
export interface UserSessionSettings {
  session: SessionSettings;
  clockSkewSeconds: number;
}

/**
 * Every change to one user's sessions, each written with what it owes D1: the session's record
 * and its audit event go into the outbox in the same synchronous call as the change, so they
 * commit together. The `UserAuth` object calls these inside its `transactionSync` blocks, after
 * a pure function decided what to change; nothing here awaits.
 */
export class UserSessions {
  constructor(
    private readonly store: SessionStore,
    private readonly keys: SessionKeys,
    private readonly outbox: Outbox,
    /** Asks the object's alarm to fire no later than `at`. */
    private readonly wakeUpBy: (at: number | null) => void,
    /** The object's settings, read at each change. */
    private readonly settingsOf: () => UserSessionSettings,
  ) {}

  get #settings(): SessionSettings {
    return this.settingsOf().session;
  }

  /**
   * Opens a session: stored (bound to the proof's key when one came), recorded, its event
   * audited, then the session cap applied. The one place a session begins, whatever the way in.
   */
  open(opening: SessionOpening, client: ClientInfo, proof: PresentedProof | null, now: number): Session {
    const session = newSession(opening, { id: crypto.randomUUID(), client, proof }, now);
    this.store.insert(session, this.keys.newKey());
    if (proof) this.rememberProof(session, proof, now);
    this.record(session, now);
    this.audit(opening.event.type, session, now, client.ip, opening.event.detail);
    this.#enforceSessionLimit(now);
    this.wakeUpBy(sessionExpiry(session, this.#settings)?.at ?? null);
    return session;
  }

  /** Remembers a proof the session accepted, so it cannot be replayed to it (`proofRememberedUntil`). */
  rememberProof(session: Pick<Session, "id">, proof: PresentedProof, now: number): void {
    this.store.rememberProof(session.id, proof.jti, proofRememberedUntil(proof, now, this.settingsOf().clockSkewSeconds));
  }

  /** Rule 3: the session's next generation, stored with its issue time and client; recorded at most hourly. */
  rotate(session: Session, client: ClientInfo, now: number): Session {
    const next = rotated(session, client, now);
    this.store.saveRotation(next);
    if (recordDue(session, now)) this.record(next, now);
    if (this.#settings.auditRefreshEvents) this.audit("refresh", next, now, client.ip, { generation: next.generation });
    return next;
  }

  /** Rule 4: nothing changes; the replay is audited while refresh events are. */
  graceReplay(session: Session, client: ClientInfo, now: number): void {
    if (this.#settings.auditRefreshEvents) this.audit("refresh_grace_replay", session, now, client.ip, { generation: session.generation });
  }

  /**
   * A refresh of a bound session without a proof of its key: counted in the session's row, and
   * recorded as `dpop_proof_failed` at most once a minute, with the count (`tallyDpopFailure`).
   */
  dpopFailed(session: Session, failure: "no_proof" | "another_key", now: number, ip: string | null): void {
    const { event, tally } = tallyDpopFailure(session.dpopFailures, now);
    this.store.saveDpopFailures(session.id, tally);
    if (event) this.audit("dpop_proof_failed", session, now, ip, { reason: failure, count: event.count });
  }

  /**
   * Rule 5: a used token came back. Revokes what `REUSE_REVOKES` names (every active session of
   * the user, or this one), then records `refresh_token_reuse` with how far behind the token was
   * and when it was rotated.
   */
  reuseDetected(session: Session, reuse: Extract<RefreshDecision, { kind: "reuse" }>, now: number, ip: string | null): void {
    const revoked = reuse.scope === "user" ? this.store.active() : [session];
    this.revoke(revoked, "reuse", now);
    this.audit("refresh_token_reuse", session, now, ip, {
      generations_behind: reuse.generationsBehind,
      successor_issued_at: reuse.successorIssuedAt === null ? null : new Date(reuse.successorIssuedAt).toISOString(),
      revoked_session_ids: revoked.map((entry) => entry.id),
    });
  }

  /** The one place a session is ended for running past its limits, with its `session_expired` event. */
  expire(session: Session, reason: ExpiryReason, now: number, ip: string | null): void {
    this.revoke([session], reason, now);
    this.audit("session_expired", session, now, ip, { reason });
  }

  /** Ends every session that ran past its limits by `now`. */
  expireOverdue(now: number): void {
    for (const { session, reason } of expiredSessions(this.store.active(), this.#settings, now)) this.expire(session, reason, now, null);
  }

  /**
   * Ends sessions: marked revoked and recorded at once. Kept for the retention period so their
   * tokens keep answering `invalid_grant` (rule 2), then purged; meanwhile the oldest ended
   * beyond the cap are dropped.
   */
  revoke(sessions: readonly Session[], reason: RevokeReason, now: number): void {
    for (const session of sessions) {
      this.store.markRevoked(session.id, now, reason);
      this.record({ ...session, revokedAt: now, revokedReason: reason }, now);
    }
    if (sessions.length > 0) this.wakeUpBy(purgeDueAt(now, this.#settings));
    this.#dropEndedBeyondCap();
  }

  /** Deletes the sessions whose retention ran out by `now` (their D1 records go with the cron). */
  purge(now: number): void {
    const ids = this.store.endedBy(purgeCutoff(this.#settings, now));
    this.store.delete(ids);
    this.keys.forget(ids);
  }

  /** Queues an audit event about one session. */
  audit(type: EventType, session: Pick<Session, "sub" | "id">, now: number, ip: string | null, detail: Record<string, unknown> | null): void {
    this.outbox.enqueue({ kind: "event", event: auditEvent({ type, sub: session.sub, session_id: session.id, at: now, ip, detail }) });
  }

  /** Queues an audit event about the user as a whole (`logout_all`, `admin_revoke`). */
  auditUser(type: EventType, sub: string, sessionId: string | null, now: number, ip: string | null, detail: Record<string, unknown> | null): void {
    this.outbox.enqueue({ kind: "event", event: auditEvent({ type, sub, session_id: sessionId, at: now, ip, detail }) });
  }

  /** Queues the D1 record of a session's current state, and notes when. */
  record(session: Session, now: number): void {
    this.store.markRecorded(session.id, now);
    this.outbox.enqueue({ kind: "session", record: sessionRecord(session, this.#settings) });
  }

  /**
   * `MAX_SESSIONS_PER_USER`: sessions past their limits are ended first, then, while too many
   * remain, the least recently used is revoked (`session_revoked`, reason `session_limit`).
   */
  #enforceSessionLimit(now: number): void {
    const settings = this.#settings;
    const active = this.store.active();
    const expired = expiredSessions(active, settings, now);
    for (const { session, reason } of expired) this.expire(session, reason, now, null);
    const ended = new Set(expired.map((entry) => entry.session.id));
    const live = active.filter((session) => !ended.has(session.id));
    for (const session of sessionsToEvict(live, settings.maxSessionsPerUser)) {
      this.revoke([session], "session_limit", now);
      this.audit("session_revoked", session, now, null, { reason: "session_limit" });
    }
  }

  /**
   * Keeps at most `MAX_SESSIONS_PER_USER` ended sessions besides the active ones
   * (`endedSessionsToDrop`), so a login loop cannot grow this object. Their D1 records stay until
   * the cron's retention purge: they are the audit record of those sessions, and deleting them
   * here would let whoever can log in as the user erase the record of a session (their own, say)
   * by logging in a few more times. D1 is bounded by the retention settings instead (SECURITY.md).
   */
  #dropEndedBeyondCap(): void {
    const ids = endedSessionsToDrop(this.store.ended(), this.#settings.maxSessionsPerUser);
    this.store.delete(ids);
    this.keys.forget(ids);
  }
}

import { DurableObject } from "cloudflare:workers";
import { requireSettings, type SessionSettings } from "../config";
import { AlarmSchedule } from "../durable/alarm-schedule";
import { auditEvent, type EventType } from "../db/events";
import type { SessionRecord } from "../db/sessions";
import type { Env } from "../env";
import { Outbox } from "../durable/outbox";
import type { SessionClaims } from "../tokens/access";
import { DPOP_IAT_WINDOW_SECONDS } from "../tokens/dpop";
import {
  formatRefreshToken,
  hasValidMac,
  importSessionKey,
  newSessionKey,
  refreshTokenMac,
  type RefreshTokenParts,
} from "../tokens/refresh";
import { decideRefresh, expiredReason, wasIssued, sessionExpiry, withIssueTime, type ExpiryReason, type SessionState } from "./refresh-rules";
import { endedSessionsToDrop, tallyDpopFailure } from "./storage-bounds";
import type { ActiveSession, ClientInfo, IssuedSession, PresentedProof, RefreshOutcome } from "./rpc";

export type RevokeReason = "logout" | "logout_all" | "session_revoked" | "session_limit" | "admin_revoke" | "reuse" | ExpiryReason;

type SessionRow = {
  id: string;
  sub: string;
  mac_key: ArrayBuffer;
  generation: number;
  /** JSON array of the most recent generations' issue times (ms), the current one last. */
  issue_times: string;
  created_at: number;
  last_used_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** When the D1 record was last queued (ms): rotations reach D1 coalesced, see `#rotate`. */
  recorded_at: number;
  /** The thumbprint of the DPoP key the session is bound to (RFC 9449), or null. */
  jkt: string | null;
  /** When its last `dpop_proof_failed` event was recorded (ms), and the failures since that recorded none. */
  dpop_failure_event_at: number | null;
  dpop_failures_unrecorded: number;
  claims: string;
  user_agent: string | null;
  ip: string | null;
};

const SCHEMA_VERSION = 4;

/** How often, at most, a session's rotations reach its D1 record; revocations go at once. */
const RECORD_INTERVAL_MS = 3_600_000;

/**
 * One per user (`idFromName(sub)`): the authority on that user's sessions and refresh tokens.
 * Every login, refresh, logout and revocation of the user runs here, one at a time, so rotation
 * and reuse detection need no locks. Settings come from this object's own env, like the worker's.
 * Session records and audit events go to D1 through an outbox. Tables: see docs/storage.md.
 */
export class UserAuth extends DurableObject<Env> {
  #outbox: Outbox;
  #keys = new Map<string, CryptoKey>();
  #alarm: AlarmSchedule;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#migrate();
    this.#alarm = new AlarmSchedule(ctx);
    this.#outbox = new Outbox(ctx.storage.sql, () => this.env, this.#alarm);
  }

  /**
   * Opens a session for `sub` (a password login or the admin route) and returns its first refresh
   * token; with a DPoP proof, the session is bound to the proof's key from the start. This is the
   * only place a session is bound: a refresh never binds one (see `decideRefresh`).
   */
  async openSession(input: {
    sub: string;
    claims: SessionClaims;
    client: ClientInfo;
    event: Extract<EventType, "login" | "session_created">;
    proof: PresentedProof | null;
  }): Promise<IssuedSession> {
    const now = Date.now();
    const row: SessionRow = {
      id: crypto.randomUUID(),
      sub: input.sub,
      mac_key: newSessionKey(),
      generation: 0,
      issue_times: JSON.stringify([now]),
      created_at: now,
      last_used_at: now,
      revoked_at: null,
      revoked_reason: null,
      recorded_at: now,
      jkt: input.proof?.jkt ?? null,
      dpop_failure_event_at: null,
      dpop_failures_unrecorded: 0,
      claims: JSON.stringify(input.claims),
      user_agent: input.client.userAgent,
      ip: input.client.ip,
    };
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        `INSERT INTO sessions (id, sub, mac_key, generation, issue_times, created_at, last_used_at, claims, user_agent, ip, jkt)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        row.id, row.sub, row.mac_key, row.generation, row.issue_times, row.created_at, row.last_used_at, row.claims, row.user_agent, row.ip, row.jkt,
      );
      if (input.proof) this.#rememberProof(row.id, input.proof, now);
      this.#record(row, now);
      this.#audit(input.event, row, now, input.client.ip, null);
      this.#enforceSessionLimit(now);
    });
    this.#alarm.noLaterThan(sessionExpiry(stateOf(row), this.#settings)?.at ?? null);
    return this.#answer(await this.#issued(row, row.generation));
  }

  /** The user's active sessions, newest first: what `GET /auth/sessions` lists, read here so the user always sees their own writes. */
  listSessions(): ActiveSession[] {
    const now = Date.now();
    const settings = this.#settings;
    return this.#activeSessions()
      .filter((session) => expiredReason(stateOf(session), settings, now) === null)
      .sort((a, b) => b.created_at - a.created_at)
      .map((session) => ({
        id: session.id,
        createdAt: session.created_at,
        lastUsedAt: session.last_used_at,
        expiresAt: sessionExpiry(stateOf(session), settings)?.at ?? null,
        userAgent: session.user_agent,
        ip: session.ip,
      }));
  }

  /**
   * Applies the refresh rules (docs/api.md, "Refresh rules") to a presented refresh token and
   * the DPoP proof that came with it, if any (checked by the worker): the MAC check first (it
   * needs `await`), then the decision and all of its effects in one synchronous transaction, so
   * two refreshes of one token can never both see it as current.
   */
  async refresh(input: { token: RefreshTokenParts; client: ClientInfo; proof: PresentedProof | null }): Promise<RefreshOutcome> {
    const authentic = await this.#hasValidMac(input.token);
    const applied = this.ctx.storage.transactionSync(() => this.#applyRefreshRules(input.token, authentic, input.client, input.proof));
    // Committed. The token handed out is derived from the stored generation, so computing it
    // after the transaction cannot hand out one the object does not know.
    const outcome: RefreshOutcome = applied.ok
      ? { ok: true, rule: applied.rule, session: await this.#issued(applied.session, applied.session.generation) }
      : applied;
    return this.#answer(outcome);
  }

  /** The decision of the rules and its effects; runs inside `refresh`'s transaction. */
  #applyRefreshRules(
    token: RefreshTokenParts,
    authentic: boolean,
    client: ClientInfo,
    proof: PresentedProof | null,
  ): { ok: true; rule: 3 | 4; session: SessionRow } | Extract<RefreshOutcome, { ok: false }> {
    const now = Date.now();
    const session = authentic ? this.#session(token.sessionId) : null;
    const presented = {
      generation: token.generation,
      authentic,
      proof: proof && session ? { jkt: proof.jkt, jtiSeen: this.#proofSeen(session.id, proof.jti, now) } : null,
    };
    const decision = decideRefresh(session && stateOf(session), presented, this.#settings, now);
    if (decision.rememberProof) this.#rememberProof(session!.id, proof!, now);
    switch (decision.kind) {
      case "refuse":
        // The real client still holds the key: nothing is rotated or revoked, the attempt is counted.
        if (decision.reason === "dpop_key_mismatch") this.#proofFailed(session!, proof ? "another_key" : "no_proof", now, client.ip);
        return { ok: false, rule: decision.rule, reason: decision.reason };
      case "expire":
        this.#expire(session!, decision.reason, now, client.ip);
        return { ok: false, rule: 2, reason: decision.reason };
      case "rotate":
        return { ok: true, rule: 3, session: this.#rotate(session!, client, now) };
      case "grace_replay": {
        if (this.#settings.auditRefreshEvents) {
          this.#audit("refresh_grace_replay", session!, now, client.ip, { generation: session!.generation });
        }
        return { ok: true, rule: 4, session: session! };
      }
      case "reuse": {
        const revoked = decision.scope === "user" ? this.#activeSessions() : [session!];
        this.#revoke(revoked, "reuse", now);
        this.#audit("refresh_token_reuse", session!, now, client.ip, {
          generations_behind: decision.generationsBehind,
          successor_issued_at: decision.successorIssuedAt === null ? null : new Date(decision.successorIssuedAt).toISOString(),
          revoked_session_ids: revoked.map((entry) => entry.id),
        });
        return { ok: false, rule: 5, reason: "reuse" };
      }
    }
  }

  /**
   * Logs out the session of a refresh token: any token of the chain, current or already rotated,
   * and no reuse handling. Idempotent. False when the token is not one this object issued.
   */
  async logoutWithRefreshToken(input: { token: RefreshTokenParts; client: ClientInfo }): Promise<boolean> {
    const session = this.#session(input.token.sessionId);
    if (!(await this.#hasValidMac(input.token)) || !session || !wasIssued(stateOf(session), input.token.generation)) return false;
    await this.revokeSession({ sessionId: input.token.sessionId, event: "logout", client: input.client });
    return true;
  }

  /**
   * Revokes one session of this user. Returns false when it is not an active session here
   * (unknown, already revoked or expired), which lets logout stay idempotent and lets
   * `DELETE /auth/sessions/:id` answer 404.
   */
  async revokeSession(input: {
    sessionId: string;
    event: Extract<EventType, "logout" | "session_revoked">;
    client: ClientInfo;
  }): Promise<boolean> {
    const revoked = this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      const session = this.#session(input.sessionId);
      if (!session || session.revoked_at !== null) return false;
      const expired = expiredReason(stateOf(session), this.#settings, now);
      if (expired) {
        this.#expire(session, expired, now, input.client.ip);
        return false;
      }
      this.#revoke([session], input.event === "logout" ? "logout" : "session_revoked", now);
      this.#audit(input.event, session, now, input.client.ip, null);
      return true;
    });
    return this.#answer(revoked);
  }

  /** Revokes every active session of this user; returns their ids. */
  async revokeAllSessions(input: {
    event: Extract<EventType, "logout_all" | "admin_revoke">;
    sub: string;
    currentSessionId: string | null;
    client: ClientInfo;
  }): Promise<string[]> {
    const ids = this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      const revoked = this.#activeSessions();
      this.#revoke(revoked, input.event, now);
      const ids = revoked.map((session) => session.id);
      this.#outbox.enqueue({
        kind: "event",
        event: auditEvent({
          type: input.event,
          sub: input.sub,
          session_id: input.currentSessionId,
          at: now,
          ip: input.client.ip,
          detail: { revoked_session_ids: ids },
        }),
      });
      return ids;
    });
    return this.#answer(ids);
  }

  /**
   * Retries D1 writes that failed, marks sessions that ran past their limits as expired, and
   * deletes ended sessions once `SESSION_RETENTION_SECONDS` have passed.
   */
  override async alarm(): Promise<void> {
    this.#alarm.fired();
    this.ctx.storage.transactionSync(() => this.#expireAndPurge(Date.now()));
    await this.#outbox.flush();
    this.#alarm.noLaterThan(this.#nextHousekeeping());
  }

  /**
   * The session settings of this object's env. The worker refuses every request while the
   * configuration is bad, so a bad one here means the env changed under a running object: the
   * call fails, naming the variable.
   */
  get #settings(): SessionSettings {
    return requireSettings(this.env).session;
  }

  #migrate() {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const version = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
    if (version >= SCHEMA_VERSION) return;
    // Version 1: the sessions table. Version 2: when each session's D1 record was last queued
    // (existing sessions count as never recorded, so their next rotation records them).
    if (version < 1) {
      sql.exec(`
      CREATE TABLE IF NOT EXISTS sessions (
        id             TEXT PRIMARY KEY,
        sub            TEXT NOT NULL,
        mac_key        BLOB NOT NULL,
        generation     INTEGER NOT NULL,
        issue_times    TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        last_used_at   INTEGER NOT NULL,
        revoked_at     INTEGER,
        revoked_reason TEXT,
        claims         TEXT NOT NULL,
        user_agent     TEXT,
        ip             TEXT
      )`);
    }
    if (version < 2) sql.exec("ALTER TABLE sessions ADD COLUMN recorded_at INTEGER NOT NULL DEFAULT 0");
    // Version 3: DPoP binding, and the proof ids each session saw within the proof window.
    if (version < 3) {
      sql.exec("ALTER TABLE sessions ADD COLUMN jkt TEXT");
      sql.exec(`
        CREATE TABLE IF NOT EXISTS dpop_proofs (
          session_id TEXT NOT NULL,
          jti        TEXT NOT NULL,
          expires_at INTEGER NOT NULL,
          PRIMARY KEY (session_id, jti)
        )`);
    }
    // Version 4: the tally that records dpop_proof_failed at most once a minute per session.
    if (version < 4) {
      sql.exec("ALTER TABLE sessions ADD COLUMN dpop_failure_event_at INTEGER");
      sql.exec("ALTER TABLE sessions ADD COLUMN dpop_failures_unrecorded INTEGER NOT NULL DEFAULT 0");
    }
    sql.exec("DELETE FROM schema_version");
    sql.exec("INSERT INTO schema_version (version) VALUES (?)", SCHEMA_VERSION);
  }

  #session(id: string): SessionRow | null {
    return this.ctx.storage.sql.exec<SessionRow>("SELECT * FROM sessions WHERE id = ?", id).toArray()[0] ?? null;
  }

  #activeSessions(): SessionRow[] {
    return this.ctx.storage.sql.exec<SessionRow>("SELECT * FROM sessions WHERE revoked_at IS NULL").toArray();
  }

  /** Whether the token's MAC is right under its session's key (constant-time check); false for an unknown session. */
  async #hasValidMac(token: RefreshTokenParts): Promise<boolean> {
    if (token.objectId !== this.ctx.id.toString()) return false;
    const key = await this.#sessionKey(token.sessionId);
    return key !== null && (await hasValidMac(key, token));
  }

  async #sessionKey(sessionId: string): Promise<CryptoKey | null> {
    const cached = this.#keys.get(sessionId);
    if (cached) return cached;
    const row = this.ctx.storage.sql
      .exec<{ mac_key: ArrayBuffer }>("SELECT mac_key FROM sessions WHERE id = ?", sessionId)
      .toArray()[0];
    if (!row) return null;
    const key = await importSessionKey(row.mac_key);
    this.#keys.set(sessionId, key);
    return key;
  }

  async #issued(session: SessionRow, generation: number): Promise<IssuedSession> {
    const key = await this.#sessionKey(session.id);
    const mac = await refreshTokenMac(key!, session.id, generation);
    return {
      sub: session.sub,
      sessionId: session.id,
      refreshToken: formatRefreshToken({ objectId: this.ctx.id.toString(), sessionId: session.id, generation, mac }),
      claims: JSON.parse(session.claims) as SessionClaims,
      jkt: session.jkt,
    };
  }

  /** Whether the session saw this proof `jti` within the proof window (expired ones are forgotten first). */
  #proofSeen(sessionId: string, jti: string, now: number): boolean {
    this.ctx.storage.sql.exec("DELETE FROM dpop_proofs WHERE expires_at <= ?", now);
    return this.ctx.storage.sql.exec("SELECT 1 FROM dpop_proofs WHERE session_id = ? AND jti = ?", sessionId, jti).toArray().length > 0;
  }

  /**
   * Remembers a proof's `jti` for as long as its `iat` could still pass the window (RFC 9449
   * section 11.1), so the same proof cannot be replayed to this session.
   */
  #rememberProof(sessionId: string, proof: PresentedProof, now: number) {
    const windowMs = (requireSettings(this.env).clockSkewSeconds + DPOP_IAT_WINDOW_SECONDS) * 1000;
    this.ctx.storage.sql.exec(
      "INSERT OR IGNORE INTO dpop_proofs (session_id, jti, expires_at) VALUES (?, ?, ?)",
      sessionId, proof.jti, Math.max(now, proof.iat * 1000) + windowMs,
    );
  }

  /**
   * A refresh of a bound session without a proof of its key: counted in the session's row, and
   * recorded as `dpop_proof_failed` at most once a minute, with the count, so a holder of a
   * stolen bound token cannot write an audit row per attempt.
   */
  #proofFailed(session: SessionRow, reason: "another_key" | "no_proof", now: number, ip: string | null) {
    const { event, tally } = tallyDpopFailure({ lastEventAt: session.dpop_failure_event_at, unrecorded: session.dpop_failures_unrecorded }, now);
    this.ctx.storage.sql.exec(
      "UPDATE sessions SET dpop_failure_event_at = ?, dpop_failures_unrecorded = ? WHERE id = ?",
      tally.lastEventAt, tally.unrecorded, session.id,
    );
    if (event) this.#audit("dpop_proof_failed", session, now, ip, { reason, count: event.count });
  }

  /** Rule 3: the session's next generation, stored with its issue time, client and records. */
  #rotate(session: SessionRow, client: ClientInfo, now: number): SessionRow {
    const rotated: SessionRow = {
      ...session,
      generation: session.generation + 1,
      issue_times: JSON.stringify(withIssueTime(stateOf(session).issueTimes, now)),
      last_used_at: now,
      ip: client.ip ?? session.ip,
      user_agent: client.userAgent ?? session.user_agent,
    };
    this.ctx.storage.sql.exec(
      "UPDATE sessions SET generation = ?, issue_times = ?, last_used_at = ?, ip = ?, user_agent = ? WHERE id = ?",
      rotated.generation, rotated.issue_times, rotated.last_used_at, rotated.ip, rotated.user_agent, rotated.id,
    );
    // The D1 record follows at most once per RECORD_INTERVAL_MS of rotations: this object keeps
    // the exact values, and D1 is for queries across users, where an hour-old last use is enough.
    if (now - session.recorded_at >= RECORD_INTERVAL_MS) this.#record(rotated, now);
    if (this.#settings.auditRefreshEvents) this.#audit("refresh", rotated, now, client.ip, { generation: rotated.generation });
    return rotated;
  }

  /**
   * `MAX_SESSIONS_PER_USER`: sessions past their limits are ended first, then, while too many
   * remain, the least recently used is revoked (`session_revoked`, reason `session_limit`).
   */
  #enforceSessionLimit(now: number) {
    const settings = this.#settings;
    const active: SessionRow[] = [];
    for (const session of this.#activeSessions()) {
      const expired = expiredReason(stateOf(session), settings, now);
      if (expired) this.#expire(session, expired, now, null);
      else active.push(session);
    }
    active.sort((a, b) => a.last_used_at - b.last_used_at || a.created_at - b.created_at);
    for (const session of active.slice(0, Math.max(0, active.length - settings.maxSessionsPerUser))) {
      this.#revoke([session], "session_limit", now);
      this.#audit("session_revoked", session, now, null, { reason: "session_limit" });
    }
  }

  /** The one place a session is ended for running past its limits, with its `session_expired` event. */
  #expire(session: SessionRow, reason: ExpiryReason, now: number, ip: string | null) {
    this.#revoke([session], reason, now);
    this.#audit("session_expired", session, now, ip, { reason });
  }

  #revoke(sessions: SessionRow[], reason: RevokeReason, now: number) {
    for (const session of sessions) {
      this.ctx.storage.sql.exec("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ?", now, reason, session.id);
      this.#record({ ...session, revoked_at: now, revoked_reason: reason }, now);
    }
    // Kept for the retention period so its tokens keep answering invalid_grant, then purged.
    if (sessions.length > 0) this.#alarm.noLaterThan(now + this.#settings.sessionRetentionSeconds * 1000);
    this.#dropEndedBeyondCap();
  }

  /**
   * Keeps at most `MAX_SESSIONS_PER_USER` ended sessions besides the active ones, the oldest ended
   * going first, so a login loop cannot grow this object. Their D1 records stay until the cron's
   * retention purge: they are the audit record of those sessions, and deleting them here would let
   * whoever can log in as the user erase the record of a session (their own, say) by logging in a
   * few more times. D1 is bounded by the retention settings instead (SECURITY.md).
   */
  #dropEndedBeyondCap() {
    const sql = this.ctx.storage.sql;
    const ended = sql
      .exec<{ id: string; revoked_at: number; created_at: number }>("SELECT id, revoked_at, created_at FROM sessions WHERE revoked_at IS NOT NULL")
      .toArray()
      .map((row) => ({ id: row.id, endedAt: row.revoked_at, createdAt: row.created_at }));
    for (const id of endedSessionsToDrop(ended, this.#settings.maxSessionsPerUser)) {
      sql.exec("DELETE FROM sessions WHERE id = ?", id);
      sql.exec("DELETE FROM dpop_proofs WHERE session_id = ?", id);
      this.#keys.delete(id);
    }
  }

  /** Queues the D1 record of a session's current state, and notes when. */
  #record(session: SessionRow, now: number) {
    this.ctx.storage.sql.exec("UPDATE sessions SET recorded_at = ? WHERE id = ?", now, session.id);
    const record: SessionRecord = {
      id: session.id,
      user_id: session.sub,
      created_at: session.created_at,
      last_used_at: session.last_used_at,
      expires_at: sessionExpiry(stateOf(session), this.#settings)?.at ?? null,
      revoked_at: session.revoked_at,
      revoked_reason: session.revoked_reason,
      user_agent: session.user_agent,
      ip: session.ip,
      rotation_count: session.generation,
    };
    this.#outbox.enqueue({ kind: "session", record });
  }

  #audit(type: EventType, session: SessionRow, now: number, ip: string | null, detail: Record<string, unknown> | null) {
    this.#outbox.enqueue({ kind: "event", event: auditEvent({ type, sub: session.sub, session_id: session.id, at: now, ip, detail }) });
  }

  /**
   * The answer, once this object's storage has committed (the runtime holds the reply until it
   * has): queued D1 writes drain after it, so no request waits on D1, which may be a continent
   * away. A failed or interrupted drain is retried by the alarm the outbox set.
   */
  #answer<T>(result: T): T {
    this.ctx.waitUntil(this.#outbox.flush());
    return result;
  }

  #expireAndPurge(now: number) {
    const settings = this.#settings;
    for (const session of this.#activeSessions()) {
      const expired = expiredReason(stateOf(session), settings, now);
      if (expired) this.#expire(session, expired, now, null);
    }
    const purged = this.ctx.storage.sql.exec<{ id: string }>(
      "DELETE FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at <= ? RETURNING id",
      now - settings.sessionRetentionSeconds * 1000,
    );
    for (const { id } of purged) this.#keys.delete(id);
  }

  /** The next time a session expires or an ended session is due for purging. */
  #nextHousekeeping(): number | null {
    const settings = this.#settings;
    let next: number | null = null;
    for (const session of this.ctx.storage.sql.exec<SessionRow>("SELECT * FROM sessions")) {
      const at =
        session.revoked_at !== null
          ? session.revoked_at + settings.sessionRetentionSeconds * 1000
          : (sessionExpiry(stateOf(session), settings)?.at ?? null);
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }
}

function stateOf(session: SessionRow): SessionState {
  return {
    generation: session.generation,
    issueTimes: JSON.parse(session.issue_times) as number[],
    createdAt: session.created_at,
    lastUsedAt: session.last_used_at,
    revokedAt: session.revoked_at,
    jkt: session.jkt,
  };
}

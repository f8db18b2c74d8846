import { DurableObject } from "cloudflare:workers";
import { AlarmSchedule } from "../durable/alarm-schedule";
import { readConfig, type SessionPolicy } from "../config";
import { auditEvent, type EventType } from "../db/events";
import type { SessionRecord } from "../db/sessions";
import type { Env } from "../env";
import { Outbox } from "../durable/outbox";
import { expiredReason, isGraceReplay, rotatedAt, sessionExpiry, withIssueTime, type SessionTimes } from "./refresh-rules";
import type { SessionClaims } from "../tokens/access";
import {
  formatRefreshToken,
  hasValidMac,
  importSessionKey,
  newSessionKey,
  refreshTokenMac,
  type RefreshTokenParts,
} from "../tokens/refresh";

/** What a login, an admin session or a refresh hands back to the worker, which signs the access token. */
export interface IssuedSession {
  sub: string;
  sessionId: string;
  refreshToken: string;
  claims: SessionClaims;
}

export type RefreshOutcome = { ok: true; session: IssuedSession; graceReplay: boolean } | { ok: false };

/** Who is asking, for the session record and the audit trail. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export type RevokeReason = "logout" | "logout_all" | "session_revoked" | "admin_revoke" | "reuse" | "idle_timeout" | "max_lifetime";

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
  claims: string;
  user_agent: string | null;
  ip: string | null;
};

const SCHEMA_VERSION = 1;

/**
 * One per user (`idFromName(sub)`): the authority on that user's sessions and refresh tokens.
 * Every login, refresh, logout and revocation of the user runs here, one at a time, so rotation
 * and reuse detection need no locks. Session records and audit events go to D1 through an outbox.
 * Tables: see docs/storage.md.
 */
export class UserAuth extends DurableObject<Env> {
  #outbox: Outbox;
  #keys = new Map<string, CryptoKey>();
  #alarm: AlarmSchedule;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#migrate();
    this.#alarm = new AlarmSchedule(ctx);
    this.#outbox = new Outbox(ctx.storage.sql, env.DB, this.#alarm);
  }

  /** Opens a session for `sub` (a password login or the admin route) and returns its first refresh token. */
  async openSession(input: {
    sub: string;
    claims: SessionClaims;
    client: ClientInfo;
    event: Extract<EventType, "login" | "session_created">;
    policy: SessionPolicy;
  }): Promise<IssuedSession> {
    const now = Date.now();
    const id = crypto.randomUUID();
    const row: SessionRow = {
      id,
      sub: input.sub,
      mac_key: newSessionKey(),
      generation: 0,
      issue_times: JSON.stringify([now]),
      created_at: now,
      last_used_at: now,
      revoked_at: null,
      revoked_reason: null,
      claims: JSON.stringify(input.claims),
      user_agent: input.client.userAgent,
      ip: input.client.ip,
    };
    this.ctx.storage.sql.exec(
      `INSERT INTO sessions (id, sub, mac_key, generation, issue_times, created_at, last_used_at, claims, user_agent, ip)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.id, row.sub, row.mac_key, row.generation, row.issue_times, row.created_at, row.last_used_at, row.claims, row.user_agent, row.ip,
    );
    this.#record(row, input.policy);
    this.#audit(input.event, row, now, input.client.ip, null);
    this.#alarm.noLaterThan(sessionExpiry(timesOf(row), input.policy)?.at ?? null);
    return this.#settled(await this.#issued(row, row.generation));
  }

  /**
   * Applies the refresh rules of the contract (DESIGN.md, "Refresh rules"), in order, to a
   * presented refresh token.
   */
  async refresh(input: { token: RefreshTokenParts; client: ClientInfo; policy: SessionPolicy }): Promise<RefreshOutcome> {
    const { token, client, policy } = input;
    // Rule 1: unknown, malformed or forged token: refused, nothing revoked.
    if (!(await this.#isAuthentic(token))) return { ok: false };

    // From here to the end of the rules there is no `await`: the object runs this block alone,
    // so two refreshes of one token cannot both see it as current.
    const now = Date.now();
    const session = this.#session(token.sessionId);
    if (!session) return { ok: false };

    // Rule 2: revoked or expired session.
    if (session.revoked_at !== null) return { ok: false };
    const expired = expiredReason(timesOf(session), policy, now);
    if (expired) {
      this.#revoke([session], expired, now, policy);
      this.#audit("session_expired", session, now, client.ip, { reason: expired });
      return this.#settled({ ok: false });
    }

    const issueTimes = JSON.parse(session.issue_times) as number[];
    // Rule 3: the current token: rotate.
    if (token.generation === session.generation) {
      const rotated: SessionRow = {
        ...session,
        generation: session.generation + 1,
        issue_times: JSON.stringify(withIssueTime(issueTimes, now)),
        last_used_at: now,
        ip: client.ip ?? session.ip,
        user_agent: client.userAgent ?? session.user_agent,
      };
      this.ctx.storage.sql.exec(
        "UPDATE sessions SET generation = ?, issue_times = ?, last_used_at = ?, ip = ?, user_agent = ? WHERE id = ?",
        rotated.generation, rotated.issue_times, rotated.last_used_at, rotated.ip, rotated.user_agent, rotated.id,
      );
      this.#record(rotated, policy);
      this.#audit("refresh", rotated, now, client.ip, { generation: rotated.generation });
      return this.#settled({ ok: true, session: await this.#issued(rotated, rotated.generation), graceReplay: false });
    }

    // Rule 4: the token rotated just before the current one, within the grace period: the same
    // new refresh token again (two tabs, a retried request), and a fresh access token.
    if (isGraceReplay(token.generation, session.generation, issueTimes.at(-1)!, policy, now)) {
      this.#audit("refresh_grace_replay", session, now, client.ip, { generation: session.generation });
      return this.#settled({ ok: true, session: await this.#issued(session, session.generation), graceReplay: true });
    }

    // Rule 5: any other used token is a stolen copy coming back: revoke per REUSE_REVOKES.
    const revoked = policy.reuseRevokes === "user" ? this.#activeSessions() : [session];
    this.#revoke(revoked, "reuse", now, policy);
    const successorIssuedAt = rotatedAt(issueTimes, session.generation, token.generation);
    this.#audit("refresh_token_reuse", session, now, client.ip, {
      generations_behind: session.generation - token.generation,
      successor_issued_at: successorIssuedAt === null ? null : new Date(successorIssuedAt).toISOString(),
      revoked_session_ids: revoked.map((entry) => entry.id),
    });
    return this.#settled({ ok: false });
  }

  /**
   * Logs out the session of a refresh token: any token of the chain, current or already rotated,
   * and no reuse handling. Idempotent. False when the token is not one this object issued.
   */
  async logoutWithRefreshToken(input: { token: RefreshTokenParts; client: ClientInfo; policy: SessionPolicy }): Promise<boolean> {
    if (!(await this.#isAuthentic(input.token))) return false;
    await this.revokeSession({ sessionId: input.token.sessionId, event: "logout", client: input.client, policy: input.policy });
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
    policy: SessionPolicy;
  }): Promise<boolean> {
    const now = Date.now();
    const session = this.#session(input.sessionId);
    if (!session || session.revoked_at !== null) return false;
    const expired = expiredReason(timesOf(session), input.policy, now);
    if (expired) {
      this.#revoke([session], expired, now, input.policy);
      this.#audit("session_expired", session, now, input.client.ip, { reason: expired });
      return this.#settled(false);
    }
    this.#revoke([session], input.event === "logout" ? "logout" : "session_revoked", now, input.policy);
    this.#audit(input.event, session, now, input.client.ip, null);
    return this.#settled(true);
  }

  /** Revokes every active session of this user; returns their ids. */
  async revokeAllSessions(input: {
    event: Extract<EventType, "logout_all" | "admin_revoke">;
    sub: string;
    currentSessionId: string | null;
    client: ClientInfo;
    policy: SessionPolicy;
  }): Promise<string[]> {
    const now = Date.now();
    const revoked = this.#activeSessions();
    this.#revoke(revoked, input.event, now, input.policy);
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
    return this.#settled(ids);
  }

  /**
   * Retries D1 writes that failed, marks sessions that ran past their limits as expired, and
   * deletes ended sessions once `SESSION_RETENTION_SECONDS` have passed.
   */
  override async alarm(): Promise<void> {
    this.#alarm.fired();
    const now = Date.now();
    const config = readConfig(this.env);
    if (config.ok) this.#expireAndPurge(now, config.config.session);
    await this.#outbox.flush();
    if (config.ok) this.#alarm.noLaterThan(this.#nextHousekeeping(config.config.session));
  }

  #migrate() {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const version = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
    if (version >= SCHEMA_VERSION) return;
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
    sql.exec("DELETE FROM schema_version");
    sql.exec("INSERT INTO schema_version (version) VALUES (?)", SCHEMA_VERSION);
  }

  #session(id: string): SessionRow | null {
    return this.ctx.storage.sql.exec<SessionRow>("SELECT * FROM sessions WHERE id = ?", id).toArray()[0] ?? null;
  }

  #activeSessions(): SessionRow[] {
    return this.ctx.storage.sql.exec<SessionRow>("SELECT * FROM sessions WHERE revoked_at IS NULL").toArray();
  }

  /** Whether the token was minted by this object for a session it still holds (constant-time MAC check). */
  async #isAuthentic(token: RefreshTokenParts): Promise<boolean> {
    if (token.objectId !== this.ctx.id.toString()) return false;
    const key = await this.#sessionKey(token.sessionId);
    if (!key) return false;
    if (!(await hasValidMac(key, token))) return false;
    const session = this.#session(token.sessionId);
    // A MAC-valid generation above the current one was never issued; refuse rather than trust it.
    return session !== null && token.generation <= session.generation;
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
    };
  }

  #revoke(sessions: SessionRow[], reason: RevokeReason, now: number, policy: SessionPolicy) {
    for (const session of sessions) {
      this.ctx.storage.sql.exec("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ?", now, reason, session.id);
      this.#record({ ...session, revoked_at: now, revoked_reason: reason }, policy);
    }
    // Kept for the retention period so its tokens keep answering invalid_grant, then purged.
    if (sessions.length > 0) this.#alarm.noLaterThan(now + policy.sessionRetentionSeconds * 1000);
  }

  /** Queues the D1 record of a session's current state. */
  #record(session: SessionRow, policy: SessionPolicy) {
    const record: SessionRecord = {
      id: session.id,
      user_id: session.sub,
      created_at: session.created_at,
      last_used_at: session.last_used_at,
      expires_at: sessionExpiry(timesOf(session), policy)?.at ?? null,
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

  /** Sends queued D1 writes before answering, so D1 is current in the usual case; a failure only delays them. */
  async #settled<T>(result: T): Promise<T> {
    await this.#outbox.flush();
    return result;
  }

  #expireAndPurge(now: number, policy: SessionPolicy) {
    for (const session of this.#activeSessions()) {
      const expired = expiredReason(timesOf(session), policy, now);
      if (!expired) continue;
      this.#revoke([session], expired, now, policy);
      this.#audit("session_expired", session, now, null, { reason: expired });
    }
    const purged = this.ctx.storage.sql.exec<{ id: string }>(
      "DELETE FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at <= ? RETURNING id",
      now - policy.sessionRetentionSeconds * 1000,
    );
    for (const { id } of purged) this.#keys.delete(id);
  }

  /** The next time a session expires or an ended session is due for purging. */
  #nextHousekeeping(policy: SessionPolicy): number | null {
    let next: number | null = null;
    for (const session of this.ctx.storage.sql.exec<SessionRow>("SELECT * FROM sessions")) {
      const at =
        session.revoked_at !== null
          ? session.revoked_at + policy.sessionRetentionSeconds * 1000
          : (sessionExpiry(timesOf(session), policy)?.at ?? null);
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }
}

function timesOf(session: SessionRow): SessionTimes {
  return { createdAt: session.created_at, lastUsedAt: session.last_used_at };
}

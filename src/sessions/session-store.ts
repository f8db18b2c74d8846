import { tableExists, type StoreSchema } from "../durable/store-schema";
import type { SessionClaims } from "../tokens/access";
import type { Amr } from "../tokens/authentication-claims";
import type { ExpiryReason } from "./refresh-rules";
import type { DpopFailureTally, EndedSession } from "./storage-bounds";

/**
 * The sessions of one user in their `UserAuth` object's SQLite storage: the row shape, the
 * schema versions, and every statement on the `sessions` and `dpop_proofs` tables, typed. No
 * decisions here: the object decides with the pure functions of `lifecycle.ts` and
 * `refresh-rules.ts`, and writes the result through this store. Tables: docs/storage.md.
 */

/** Why a session ended: `revoked_reason`. */
export type RevokeReason = "logout" | "logout_all" | "session_revoked" | "session_limit" | "admin_revoke" | "reuse" | "code_reuse" | "password_changed" | "password_reset" | ExpiryReason;

/** A session as the object's decisions see it. Times are Unix ms. */
export interface Session {
  id: string;
  sub: string;
  /** How many times it rotated: the token of this generation is the current one. */
  generation: number;
  /** The most recent generations' issue times, the current one last (at most `ISSUE_TIMES_KEPT`). */
  issueTimes: number[];
  createdAt: number;
  lastUsedAt: number;
  revokedAt: number | null;
  revokedReason: RevokeReason | null;
  /** When the D1 record was last queued: rotations reach D1 coalesced (`recordDue`). */
  recordedAt: number;
  /** The thumbprint of the DPoP key the session is bound to (RFC 9449), or null. */
  jkt: string | null;
  dpopFailures: DpopFailureTally;
  /** Custom claims copied into every access token of the session. */
  claims: SessionClaims;
  /**
   * When the claims hook was last asked for this session's claims, whatever it answered, or the
   * session opened (Unix ms; 0 for a session opened before it was stored): a refresh asks again
   * once `CLAIMS_TTL_SECONDS` have passed since (`claimsDue`).
   */
  claimsCheckedAt: number;
  /**
   * Set only on the session an opening or a refresh has just handed the claims hook's call to:
   * the `claimsCheckedAt` it wrote, which the worker presents with the hook's answer
   * (`UserAuth.replaceClaims`). Never stored: a session read from storage has none.
   */
  claimsLease: number | null;
  /** How the user signed in (RFC 8176); null for a session opened before it was stored. */
  amr: Amr[] | null;
  /** When the user proved who they are for this session. */
  authTime: number;
  userAgent: string | null;
  ip: string | null;
}

type SessionRow = {
  id: string;
  sub: string;
  generation: number;
  issue_times: string;
  created_at: number;
  last_used_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  recorded_at: number;
  jkt: string | null;
  dpop_failure_event_at: number | null;
  dpop_failures_unrecorded: number;
  claims: string;
  claims_checked_at: number;
  amr: string | null;
  auth_time: number;
  user_agent: string | null;
  ip: string | null;
};

/** The `sessions` store's migrations. Append only: a migration that shipped is never changed. */
export const SESSIONS_SCHEMA: StoreSchema = {
  store: "sessions",
  migrations: [
    // 1: the sessions table.
    (sql) =>
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
        )`),
    // 2: when each session's D1 record was last queued (existing sessions count as never
    // recorded, so their next rotation records them).
    (sql) => sql.exec("ALTER TABLE sessions ADD COLUMN recorded_at INTEGER NOT NULL DEFAULT 0"),
    // 3: DPoP binding, and the proof ids each session saw within the proof window.
    (sql) => {
      sql.exec("ALTER TABLE sessions ADD COLUMN jkt TEXT");
      sql.exec(`
        CREATE TABLE IF NOT EXISTS dpop_proofs (
          session_id TEXT NOT NULL,
          jti        TEXT NOT NULL,
          expires_at INTEGER NOT NULL,
          PRIMARY KEY (session_id, jti)
        )`);
    },
    // 4: the tally that records dpop_proof_failed at most once a minute per session.
    (sql) => {
      sql.exec("ALTER TABLE sessions ADD COLUMN dpop_failure_event_at INTEGER");
      sql.exec("ALTER TABLE sessions ADD COLUMN dpop_failures_unrecorded INTEGER NOT NULL DEFAULT 0");
    },
    // 5: how the user signed in, and when. A session opened before is dated by its opening, which
    // is when its user proved who they were; how is not known, so its `amr` stays null.
    (sql) => {
      sql.exec("ALTER TABLE sessions ADD COLUMN amr TEXT");
      sql.exec("ALTER TABLE sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0");
      sql.exec("UPDATE sessions SET auth_time = created_at");
    },
    // 6: when the claims hook was last asked for the session's claims. A session opened before
    // counts as never asked, so with a hook configured its next refresh asks.
    (sql) => sql.exec("ALTER TABLE sessions ADD COLUMN claims_checked_at INTEGER NOT NULL DEFAULT 0"),
  ],
  // Before stores had names, the object kept one version in a one-row `schema_version` table.
  adopt(sql) {
    if (!tableExists(sql, "schema_version")) return 0;
    const version = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
    sql.exec("DROP TABLE schema_version");
    return version;
  },
};

/** Typed statements on one object's `sessions` and `dpop_proofs` tables. */
export class SessionStore {
  constructor(private readonly sql: SqlStorage) {}

  get(id: string): Session | null {
    const row = this.sql.exec<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE id = ?`, id).toArray()[0];
    return row ? sessionOf(row) : null;
  }

  /** The sessions not revoked yet; some may be past their limits (`expiredSessions`). */
  active(): Session[] {
    return this.sql.exec<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE revoked_at IS NULL`).toArray().map(sessionOf);
  }

  all(): Session[] {
    return this.sql.exec<SessionRow>(`SELECT ${COLUMNS} FROM sessions`).toArray().map(sessionOf);
  }

  ended(): EndedSession[] {
    return this.sql
      .exec<{ id: string; revoked_at: number; created_at: number }>("SELECT id, revoked_at, created_at FROM sessions WHERE revoked_at IS NOT NULL")
      .toArray()
      .map((row) => ({ id: row.id, endedAt: row.revoked_at, createdAt: row.created_at }));
  }

  /** The session's raw MAC key, or null for an unknown session. */
  macKey(id: string): ArrayBuffer | null {
    return this.sql.exec<{ mac_key: ArrayBuffer }>("SELECT mac_key FROM sessions WHERE id = ?", id).toArray()[0]?.mac_key ?? null;
  }

  insert(session: Session, macKey: ArrayBuffer): void {
    this.sql.exec(
      `INSERT INTO sessions (id, sub, mac_key, generation, issue_times, created_at, last_used_at, recorded_at, claims, claims_checked_at, amr, auth_time, user_agent, ip, jkt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      session.id, session.sub, macKey, session.generation, JSON.stringify(session.issueTimes), session.createdAt, session.lastUsedAt,
      session.recordedAt, JSON.stringify(session.claims), session.claimsCheckedAt, session.amr === null ? null : JSON.stringify(session.amr),
      session.authTime, session.userAgent, session.ip, session.jkt,
    );
  }

  /** Stores what a rotation changes: generation, issue times, last use and client. */
  saveRotation(session: Session): void {
    this.sql.exec(
      "UPDATE sessions SET generation = ?, issue_times = ?, last_used_at = ?, ip = ?, user_agent = ? WHERE id = ?",
      session.generation, JSON.stringify(session.issueTimes), session.lastUsedAt, session.ip, session.userAgent, session.id,
    );
  }

  /** Notes that the claims hook was asked for the session's claims at `at`. */
  saveClaimsCheck(id: string, at: number): void {
    this.sql.exec("UPDATE sessions SET claims_checked_at = ? WHERE id = ?", at, id);
  }

  /** Replaces the session's custom claims (the claims hook's answer). */
  saveClaims(id: string, claims: SessionClaims): void {
    this.sql.exec("UPDATE sessions SET claims = ? WHERE id = ?", JSON.stringify(claims), id);
  }

  markRevoked(id: string, at: number, reason: RevokeReason): void {
    this.sql.exec("UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ?", at, reason, id);
  }

  markRecorded(id: string, at: number): void {
    this.sql.exec("UPDATE sessions SET recorded_at = ? WHERE id = ?", at, id);
  }

  saveDpopFailures(id: string, tally: DpopFailureTally): void {
    this.sql.exec("UPDATE sessions SET dpop_failure_event_at = ?, dpop_failures_unrecorded = ? WHERE id = ?", tally.lastEventAt, tally.unrecorded, id);
  }

  /** Deletes sessions with the proofs they remember. */
  delete(ids: readonly string[]): void {
    for (const id of ids) {
      this.sql.exec("DELETE FROM sessions WHERE id = ?", id);
      this.sql.exec("DELETE FROM dpop_proofs WHERE session_id = ?", id);
    }
  }

  /** The ids of the sessions that ended at or before `cutoff`. */
  endedBy(cutoff: number): string[] {
    return this.sql
      .exec<{ id: string }>("SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at <= ?", cutoff)
      .toArray()
      .map((row) => row.id);
  }

  /** Whether the session saw this proof `jti` among the proofs still in their window (older ones are forgotten first). */
  proofSeen(sessionId: string, jti: string, now: number): boolean {
    this.sql.exec("DELETE FROM dpop_proofs WHERE expires_at <= ?", now);
    return this.sql.exec("SELECT 1 FROM dpop_proofs WHERE session_id = ? AND jti = ?", sessionId, jti).toArray().length > 0;
  }

  /** Remembers a proof `jti` of the session until `until` (`proofRememberedUntil`). */
  rememberProof(sessionId: string, jti: string, until: number): void {
    this.sql.exec("INSERT OR IGNORE INTO dpop_proofs (session_id, jti, expires_at) VALUES (?, ?, ?)", sessionId, jti, until);
  }
}

// Every column but the MAC key, which only `macKey` reads.
const COLUMNS = `id, sub, generation, issue_times, created_at, last_used_at, revoked_at, revoked_reason, recorded_at, jkt,
  dpop_failure_event_at, dpop_failures_unrecorded, claims, claims_checked_at, amr, auth_time, user_agent, ip`;

function sessionOf(row: SessionRow): Session {
  return {
    id: row.id,
    sub: row.sub,
    generation: row.generation,
    issueTimes: JSON.parse(row.issue_times) as number[],
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason as RevokeReason | null,
    recordedAt: row.recorded_at,
    jkt: row.jkt,
    dpopFailures: { lastEventAt: row.dpop_failure_event_at, unrecorded: row.dpop_failures_unrecorded },
    claims: JSON.parse(row.claims) as SessionClaims,
    claimsCheckedAt: row.claims_checked_at,
    claimsLease: null,
    amr: row.amr === null ? null : (JSON.parse(row.amr) as Amr[]),
    authTime: row.auth_time,
    userAgent: row.user_agent,
    ip: row.ip,
  };
}

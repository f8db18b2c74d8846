import type { StoreSchema } from "../durable/store-schema";
import { MAX_PENDING_MFA_LOGINS, type CodeFailureTally, type ProofOfKey } from "./mfa-rules";

/**
 * One user's second factor, in their `UserAuth` object: the TOTP secret (pending until confirmed,
 * then enabled) with the last step it accepted and the tally of wrong codes, the recovery codes
 * as hashes, and the logins waiting for a code (`mfa_token`s, as hashes). The secret is stored as
 * it is because checking a code needs it; nothing else is stored usable. Every table is bounded
 * per user: one secret, one set of ten hashes, `MAX_PENDING_MFA_LOGINS` logins. Tables:
 * docs/storage.md.
 */

/** The `mfa` store's migrations. Append only. */
export const MFA_SCHEMA: StoreSchema = {
  store: "mfa",
  migrations: [
    // 1: the TOTP secret (one row), recovery code hashes, logins waiting for a code.
    (sql) => {
      sql.exec(`
        CREATE TABLE IF NOT EXISTS totp (
          id                  INTEGER PRIMARY KEY CHECK (id = 1),
          sub                 TEXT NOT NULL,
          secret              BLOB NOT NULL,
          created_at          INTEGER NOT NULL,
          enabled_at          INTEGER,
          last_step           INTEGER,
          code_failures       INTEGER NOT NULL DEFAULT 0,
          code_failures_since INTEGER
        )`);
      sql.exec("CREATE TABLE IF NOT EXISTS recovery_codes (hash TEXT PRIMARY KEY, created_at INTEGER NOT NULL)");
      sql.exec(`
        CREATE TABLE IF NOT EXISTS mfa_logins (
          hash       TEXT PRIMARY KEY,
          sub        TEXT NOT NULL,
          username   TEXT NOT NULL,
          proof      TEXT,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          wrong_codes INTEGER NOT NULL DEFAULT 0
        )`);
    },
  ],
};

/** The TOTP secret of the user. Times Unix ms. */
export interface TotpState {
  /** The user's id, for the events the second factor records. */
  sub: string;
  secret: Uint8Array;
  /** Null while pending (enrolled, not yet confirmed with a code). */
  enabledAt: number | null;
  /** The last 30-second step a code was accepted for: never again, nor an earlier one. */
  lastStep: number | null;
  failures: CodeFailureTally;
}

/** A login waiting for its second factor. */
export interface PendingMfaLogin {
  sub: string;
  /** The normalized username the password was right for: its login limits count wrong codes. */
  username: string;
  /** The DPoP proof of the login request, whose key the session is bound to. */
  proof: ProofOfKey | null;
  expiresAt: number;
  wrongCodes: number;
}

type TotpRow = { sub: string; secret: ArrayBuffer; enabled_at: number | null; last_step: number | null; code_failures: number; code_failures_since: number | null };
type LoginRow = { sub: string; username: string; proof: string | null; expires_at: number; wrong_codes: number };

/** Every statement on the three tables, typed. No decisions here. */
export class MfaStore {
  constructor(private readonly sql: SqlStorage) {}

  totp(): TotpState | null {
    const row = this.sql.exec<TotpRow>("SELECT sub, secret, enabled_at, last_step, code_failures, code_failures_since FROM totp WHERE id = 1").toArray()[0];
    if (!row) return null;
    return {
      sub: row.sub,
      secret: new Uint8Array(row.secret),
      enabledAt: row.enabled_at,
      lastStep: row.last_step,
      failures: { count: row.code_failures, since: row.code_failures_since },
    };
  }

  /** A pending secret, replacing any other (the caller refuses while one is enabled). */
  savePendingSecret(sub: string, secret: Uint8Array, now: number): void {
    this.sql.exec("INSERT OR REPLACE INTO totp (id, sub, secret, created_at) VALUES (1, ?, ?, ?)", sub, secret, now);
  }

  enable(step: number, now: number): void {
    this.sql.exec("UPDATE totp SET enabled_at = ?, last_step = ?, code_failures = 0, code_failures_since = NULL WHERE id = 1", now, step);
  }

  saveAcceptedStep(step: number): void {
    this.sql.exec("UPDATE totp SET last_step = ? WHERE id = 1", step);
  }

  saveFailures(tally: CodeFailureTally): void {
    this.sql.exec("UPDATE totp SET code_failures = ?, code_failures_since = ? WHERE id = 1", tally.count, tally.since);
  }

  /** TOTP off: the secret, every recovery code and every waiting login go. */
  disable(): void {
    this.sql.exec("DELETE FROM totp");
    this.sql.exec("DELETE FROM recovery_codes");
    this.sql.exec("DELETE FROM mfa_logins");
  }

  /** A new set of recovery code hashes; the old set is gone. */
  replaceRecoveryCodes(hashes: readonly string[], now: number): void {
    this.sql.exec("DELETE FROM recovery_codes");
    for (const hash of hashes) this.sql.exec("INSERT INTO recovery_codes (hash, created_at) VALUES (?, ?)", hash, now);
  }

  /** Deletes a recovery code; whether it was there. */
  spendRecoveryCode(hash: string): boolean {
    return this.sql.exec("DELETE FROM recovery_codes WHERE hash = ? RETURNING hash", hash).toArray().length === 1;
  }

  recoveryCodesLeft(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM recovery_codes").one().n;
  }

  /** Stores a login waiting for a code, after dropping what expired and the oldest beyond the cap. */
  insertLogin(hash: string, login: Omit<PendingMfaLogin, "wrongCodes">, now: number): void {
    this.sql.exec("DELETE FROM mfa_logins WHERE expires_at <= ?", now);
    this.sql.exec(
      "DELETE FROM mfa_logins WHERE hash IN (SELECT hash FROM mfa_logins ORDER BY created_at DESC, hash LIMIT -1 OFFSET ?)",
      MAX_PENDING_MFA_LOGINS - 1,
    );
    this.sql.exec(
      "INSERT INTO mfa_logins (hash, sub, username, proof, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      hash,
      login.sub,
      login.username,
      login.proof === null ? null : JSON.stringify(login.proof),
      now,
      login.expiresAt,
    );
  }

  login(hash: string): PendingMfaLogin | null {
    const row = this.sql.exec<LoginRow>("SELECT sub, username, proof, expires_at, wrong_codes FROM mfa_logins WHERE hash = ?", hash).toArray()[0];
    if (!row) return null;
    return { sub: row.sub, username: row.username, proof: row.proof === null ? null : (JSON.parse(row.proof) as ProofOfKey), expiresAt: row.expires_at, wrongCodes: row.wrong_codes };
  }

  saveWrongCodes(hash: string, wrongCodes: number): void {
    this.sql.exec("UPDATE mfa_logins SET wrong_codes = ? WHERE hash = ?", wrongCodes, hash);
  }

  deleteLogin(hash: string): void {
    this.sql.exec("DELETE FROM mfa_logins WHERE hash = ?", hash);
  }

  /** How many rows each table holds: what the storage-bound tests hold to the caps. */
  counts(): { secrets: number; recoveryCodes: number; pendingLogins: number } {
    const count = (table: string) => this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
    return { secrets: count("totp"), recoveryCodes: count("recovery_codes"), pendingLogins: count("mfa_logins") };
  }
}

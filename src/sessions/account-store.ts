import type { StoreSchema } from "../durable/store-schema";
import { HOUR_MS, MAX_RESET_TOKENS, type StoredEmailCode } from "./account-rules";

/**
 * The account lifecycle's secrets in the user's `UserAuth` object: the pending e-mail
 * verification code (one at a time), the live password reset tokens, and when messages were sent
 * (for the hourly limits). Only SHA-256 hashes of codes and tokens are stored, never the secrets.
 * Every table is bounded per user: one code, `MAX_RESET_TOKENS` tokens, an hour of send times.
 * Tables: docs/storage.md.
 */

/** The `account` store's migrations. Append only. */
export const ACCOUNT_SCHEMA: StoreSchema = {
  store: "account",
  migrations: [
    // 1: the code, the reset tokens, the send times.
    (sql) => {
      sql.exec(`
        CREATE TABLE IF NOT EXISTS email_codes (
          id         INTEGER PRIMARY KEY CHECK (id = 1),
          hash       TEXT NOT NULL,
          email      TEXT NOT NULL,
          expires_at INTEGER NOT NULL,
          tries_left INTEGER NOT NULL
        )`);
      sql.exec(`
        CREATE TABLE IF NOT EXISTS reset_tokens (
          hash       TEXT PRIMARY KEY,
          sub        TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL
        )`);
      sql.exec("CREATE TABLE IF NOT EXISTS message_sends (kind TEXT NOT NULL, at INTEGER NOT NULL)");
    },
  ],
};

export type MessageKind = "email_verification" | "password_reset";

/** Every statement on the account tables, typed. No decisions here. */
export class AccountStore {
  constructor(private readonly sql: SqlStorage) {}

  emailCode(): StoredEmailCode | null {
    const row = this.sql
      .exec<{ hash: string; email: string; expires_at: number; tries_left: number }>("SELECT hash, email, expires_at, tries_left FROM email_codes WHERE id = 1")
      .toArray()[0];
    return row ? { hash: row.hash, email: row.email, expiresAt: row.expires_at, triesLeft: row.tries_left } : null;
  }

  /** Replaces the pending code: a new code makes the previous one dead. */
  saveEmailCode(code: StoredEmailCode): void {
    this.sql.exec("INSERT OR REPLACE INTO email_codes (id, hash, email, expires_at, tries_left) VALUES (1, ?, ?, ?, ?)", code.hash, code.email, code.expiresAt, code.triesLeft);
  }

  spendTry(): void {
    this.sql.exec("UPDATE email_codes SET tries_left = tries_left - 1 WHERE id = 1");
  }

  deleteEmailCode(): void {
    this.sql.exec("DELETE FROM email_codes");
  }

  /** Send times of `kind` in the last hour; older ones are dropped first, so the table holds an hour at most. */
  sendsWithinHour(kind: MessageKind, now: number): number[] {
    this.sql.exec("DELETE FROM message_sends WHERE at <= ?", now - HOUR_MS);
    return this.sql.exec<{ at: number }>("SELECT at FROM message_sends WHERE kind = ?", kind).toArray().map((row) => row.at);
  }

  noteSend(kind: MessageKind, now: number): void {
    this.sql.exec("INSERT INTO message_sends (kind, at) VALUES (?, ?)", kind, now);
  }

  /** Stores a reset token's hash, after dropping expired ones and the oldest beyond the cap. */
  insertResetToken(token: { hash: string; sub: string; expiresAt: number }, now: number): void {
    this.sql.exec("DELETE FROM reset_tokens WHERE expires_at <= ?", now);
    this.sql.exec("DELETE FROM reset_tokens WHERE hash IN (SELECT hash FROM reset_tokens ORDER BY created_at DESC, hash LIMIT -1 OFFSET ?)", MAX_RESET_TOKENS - 1);
    this.sql.exec("INSERT INTO reset_tokens (hash, sub, created_at, expires_at) VALUES (?, ?, ?, ?)", token.hash, token.sub, now, token.expiresAt);
  }

  /** The user of a live reset token, or null (unknown, used, expired). */
  resetTokenUser(hash: string, now: number): string | null {
    return this.sql.exec<{ sub: string }>("SELECT sub FROM reset_tokens WHERE hash = ? AND expires_at > ?", hash, now).toArray()[0]?.sub ?? null;
  }

  /** Every reset token of the user dead: after a reset (single use, and older ones with it) or a password change. */
  deleteResetTokens(): void {
    this.sql.exec("DELETE FROM reset_tokens");
  }

  /** How many rows each table holds: what the tests hold to the caps. */
  counts(): { emailCodes: number; resetTokens: number; messageSends: number } {
    const count = (table: string) => this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${table}`).one().n;
    return { emailCodes: count("email_codes"), resetTokens: count("reset_tokens"), messageSends: count("message_sends") };
  }
}

import type { StoreSchema } from "../durable/store-schema";
import type { SessionOpening } from "./rpc";

/**
 * The federated sign-ins of one user waiting in their `UserAuth` object: authorization codes
 * (between `/auth/oidc/callback` and `/auth/token`) and link tickets (between
 * `POST /auth/identities` and `/auth/authorize?link=`). They live here, in the object that opens
 * the session, because a code is spent and its session opened in one transaction: two exchanges
 * of one code racing each other run one after the other, and exactly one finds it unused. Rows
 * hold a SHA-256 of each secret, never the secret. Bounded per user (`MAX_CODES_PER_USER`,
 * `MAX_LINK_TICKETS_PER_USER`) and purged as they expire. Tables: docs/storage.md.
 */

/** A code is spent within a minute (RFC 6749 section 4.1.2 recommends at most ten). */
export const CODE_TTL_MS = 60_000;
/** A spent code is remembered this long after it expired, so that a late second use still revokes the session it opened. */
export const SPENT_CODE_KEPT_MS = 10 * 60_000;
/** The contract's ten minutes for a link ticket. */
export const LINK_TICKET_TTL_MS = 10 * 60_000;
/** Codes (pending or spent) one user's object keeps; the oldest go first. One per sign-in of the last few minutes. */
export const MAX_CODES_PER_USER = 20;
/** Link tickets one user's object keeps; the oldest go first. */
export const MAX_LINK_TICKETS_PER_USER = 5;

/** The `authorization_codes` store's migrations. Append only. */
export const AUTHORIZATION_CODES_SCHEMA: StoreSchema = {
  store: "authorization_codes",
  migrations: [
    // 1: codes and link tickets (IF NOT EXISTS: an object whose bookkeeping was reset still has them).
    (sql) => {
      sql.exec(`
        CREATE TABLE IF NOT EXISTS authorization_codes (
          hash           TEXT PRIMARY KEY,
          client_id      TEXT NOT NULL,
          redirect_uri   TEXT NOT NULL,
          code_challenge TEXT NOT NULL,
          opening        TEXT NOT NULL,
          created_at     INTEGER NOT NULL,
          expires_at     INTEGER NOT NULL,
          spent_at       INTEGER,
          session_id     TEXT
        )`);
      sql.exec(`
        CREATE TABLE IF NOT EXISTS link_tickets (
          hash       TEXT PRIMARY KEY,
          sub        TEXT NOT NULL,
          provider   TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL
        )`);
    },
  ],
};

/** A code as the exchange sees it. Times Unix ms. */
export interface StoredCode {
  hash: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  /** The session the code opens, as the callback described it (`sessionOpening`). */
  opening: SessionOpening;
  expiresAt: number;
  spentAt: number | null;
  /** The session its exchange opened. */
  sessionId: string | null;
}

/** What a code exchange presents: the client, the redirect URI and the S256 challenge of its `code_verifier`. */
export interface PresentedCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
}

/** Why an exchange was refused (logs only: the client sees one `invalid_grant`). */
export type CodeRefusal = "unknown_code" | "wrong_client" | "wrong_redirect_uri" | "wrong_verifier" | "expired" | "reused";

export type CodeDecision =
  | { kind: "exchange" }
  | { kind: "refuse"; reason: Exclude<CodeRefusal, "reused"> }
  /** A second use by the holder of the verifier: refused, and the session of the first use revoked (RFC 6749 section 10.5). */
  | { kind: "reuse"; sessionId: string | null };

/**
 * Decides an exchange, pure. The bindings first (client, redirect URI, PKCE verifier: RFC 6749
 * section 4.1.3, RFC 7636 section 4.6): whoever cannot present all three never learns whether the
 * code was spent, and cannot end the session its first use opened, as a refresh token thief
 * without the DPoP key cannot log the user out. Then a spent code is reuse; then expiry.
 */
export function decideCodeExchange(code: StoredCode | null, presented: PresentedCode, verifierMatches: boolean, now: number): CodeDecision {
  if (!code) return { kind: "refuse", reason: "unknown_code" };
  if (code.clientId !== presented.clientId) return { kind: "refuse", reason: "wrong_client" };
  if (code.redirectUri !== presented.redirectUri) return { kind: "refuse", reason: "wrong_redirect_uri" };
  if (!verifierMatches) return { kind: "refuse", reason: "wrong_verifier" };
  if (code.spentAt !== null) return { kind: "reuse", sessionId: code.sessionId };
  if (code.expiresAt <= now) return { kind: "refuse", reason: "expired" };
  return { kind: "exchange" };
}

type CodeRow = {
  hash: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  opening: string;
  expires_at: number;
  spent_at: number | null;
  session_id: string | null;
};

/** Every statement on the two tables, typed. No decisions here. */
export class AuthorizationCodeStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Stores a new code, after dropping what expired and the oldest beyond the cap. */
  insertCode(code: Omit<StoredCode, "spentAt" | "sessionId">, now: number): void {
    this.sql.exec("DELETE FROM authorization_codes WHERE expires_at + ? <= ?", SPENT_CODE_KEPT_MS, now);
    this.sql.exec(
      "DELETE FROM authorization_codes WHERE hash IN (SELECT hash FROM authorization_codes ORDER BY created_at DESC, hash LIMIT -1 OFFSET ?)",
      MAX_CODES_PER_USER - 1,
    );
    this.sql.exec(
      "INSERT INTO authorization_codes (hash, client_id, redirect_uri, code_challenge, opening, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      code.hash,
      code.clientId,
      code.redirectUri,
      code.codeChallenge,
      JSON.stringify(code.opening),
      now,
      code.expiresAt,
    );
  }

  code(hash: string): StoredCode | null {
    const row = this.sql.exec<CodeRow>("SELECT * FROM authorization_codes WHERE hash = ?", hash).toArray()[0];
    if (!row) return null;
    return {
      hash: row.hash,
      clientId: row.client_id,
      redirectUri: row.redirect_uri,
      codeChallenge: row.code_challenge,
      opening: JSON.parse(row.opening) as SessionOpening,
      expiresAt: row.expires_at,
      spentAt: row.spent_at,
      sessionId: row.session_id,
    };
  }

  markSpent(hash: string, sessionId: string, now: number): void {
    this.sql.exec("UPDATE authorization_codes SET spent_at = ?, session_id = ? WHERE hash = ?", now, sessionId, hash);
  }

  /** Stores a link ticket, after dropping what expired and the oldest beyond the cap. */
  insertLinkTicket(ticket: { hash: string; sub: string; provider: string; expiresAt: number }, now: number): void {
    this.sql.exec("DELETE FROM link_tickets WHERE expires_at <= ?", now);
    this.sql.exec(
      "DELETE FROM link_tickets WHERE hash IN (SELECT hash FROM link_tickets ORDER BY created_at DESC, hash LIMIT -1 OFFSET ?)",
      MAX_LINK_TICKETS_PER_USER - 1,
    );
    this.sql.exec("INSERT INTO link_tickets (hash, sub, provider, created_at, expires_at) VALUES (?, ?, ?, ?, ?)", ticket.hash, ticket.sub, ticket.provider, now, ticket.expiresAt);
  }

  /** Deletes a link ticket and returns what it was for, when it had not expired by `now`. */
  takeLinkTicket(hash: string, now: number): { sub: string; provider: string } | null {
    const row = this.sql.exec<{ sub: string; provider: string }>("DELETE FROM link_tickets WHERE hash = ? AND expires_at > ? RETURNING sub, provider", hash, now).toArray()[0];
    return row ?? null;
  }

  /** How many rows each table holds: what the tests hold to the caps. */
  counts(): { codes: number; linkTickets: number } {
    return {
      codes: this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM authorization_codes").one().n,
      linkTickets: this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM link_tickets").one().n,
    };
  }
}

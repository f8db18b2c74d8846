import { insertEvent, insertEventIfChanged, type AuditEvent } from "./events";
import { requireD1 } from "./unavailable";

/**
 * Users of the built-in password login, as stored in D1 (migrations/0002_users.sql,
 * 0004_accounts_email.sql). Times in Unix ms. Every change that records an audit event is one D1
 * batch, one transaction, with its event.
 */
export interface UserRecord {
  id: string;
  username: string;
  username_normalized: string;
  password_hash: string;
  created_at: number;
  password_updated_at: number;
  /** Lowercased; null when the account gave none. */
  email: string | null;
  /** 1 once the user proved the address is theirs. */
  email_verified: 0 | 1;
}

const COLUMNS = "id, username, username_normalized, password_hash, created_at, password_updated_at, email, email_verified";

/**
 * The form usernames are compared in: lowercase. Usernames are ASCII (`[A-Za-z0-9._@-]`), so
 * lowercasing is the whole of case folding.
 */
export function normalizeUsername(username: string): string {
  return username.toLowerCase();
}

/** What inserting a user did. */
export type InsertOutcome = "created" | "username_taken" | "email_taken";

/**
 * Inserts a user. The UNIQUE index on the normalized username decides, in one statement, so two
 * registrations racing for one name cannot both win; an address another account has verified is
 * refused in the same statement.
 */
export async function insertUser(db: D1Database, user: UserRecord): Promise<InsertOutcome> {
  const [inserted, taken] = await requireD1("insert user", () =>
    db.batch([
      db
        .prepare(
          `INSERT INTO users (${COLUMNS})
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
           WHERE ?7 IS NULL OR NOT EXISTS (SELECT 1 FROM users WHERE email = ?7 AND email_verified = 1)
           ON CONFLICT (username_normalized) DO NOTHING`,
        )
        .bind(user.id, user.username, user.username_normalized, user.password_hash, user.created_at, user.password_updated_at, user.email, user.email_verified),
      db.prepare("SELECT EXISTS (SELECT 1 FROM users WHERE username_normalized = ?1 AND id <> ?2) AS username").bind(user.username_normalized, user.id),
    ]),
  );
  if (inserted!.meta.changes === 1) return "created";
  return (taken!.results[0] as { username: number }).username === 1 ? "username_taken" : "email_taken";
}

/** The user with that normalized username, or null. */
export async function findUserByUsername(db: D1Database, usernameNormalized: string): Promise<UserRecord | null> {
  return requireD1("find user", () => db.prepare(`SELECT ${COLUMNS} FROM users WHERE username_normalized = ?1`).bind(usernameNormalized).first<UserRecord>());
}

/** The user with that id, or null (a user of an upstream provider or of the admin route has no row). */
export async function findUserById(db: D1Database, id: string): Promise<UserRecord | null> {
  return requireD1("find user", () => db.prepare(`SELECT ${COLUMNS} FROM users WHERE id = ?1`).bind(id).first<UserRecord>());
}

/**
 * The account an address names: the one that verified it, else the oldest that gave it
 * unverified (for the admin lookup: an unverified address proves nothing, and several accounts
 * may have typed it). `verifiedOnly`: only the verified holder (password resets).
 */
export async function findUserByEmail(db: D1Database, email: string, { verifiedOnly = false } = {}): Promise<UserRecord | null> {
  return requireD1("find user by email", () =>
    db
      .prepare(`SELECT ${COLUMNS} FROM users WHERE email = ?1 AND (?2 = 0 OR email_verified = 1) ORDER BY email_verified DESC, created_at LIMIT 1`)
      .bind(email, verifiedOnly ? 1 : 0)
      .first<UserRecord>(),
  );
}

/**
 * Replaces a password hash, only if it is still `previousHash`: a re-hash on login never
 * overwrites a hash that changed in the meantime, and of two changes racing from one current
 * password only one lands. Resolves false when the hash had changed.
 */
export async function replacePasswordHash(
  db: D1Database,
  input: { id: string; previousHash: string; newHash: string; now: number },
): Promise<boolean> {
  const result = await db
    .prepare("UPDATE users SET password_hash = ?1, password_updated_at = ?2 WHERE id = ?3 AND password_hash = ?4")
    .bind(input.newHash, input.now, input.id, input.previousHash)
    .run();
  return result.meta.changes === 1;
}

/** The username of the user with that id, or null for a user without one (a federated sign-in). */
export async function findUsernameById(db: D1Database, id: string): Promise<string | null> {
  const row = await requireD1("find username", () => db.prepare("SELECT username FROM users WHERE id = ?1").bind(id).first<{ username: string }>());
  return row?.username ?? null;
}

/** Sets a new password hash (a reset: the old one is not known). False when the user is gone. */
export async function setPasswordHash(db: D1Database, input: { id: string; newHash: string; now: number }): Promise<boolean> {
  const result = await requireD1("set password", () =>
    db.prepare("UPDATE users SET password_hash = ?1, password_updated_at = ?2 WHERE id = ?3").bind(input.newHash, input.now, input.id).run(),
  );
  return result.meta.changes === 1;
}

/** What verifying an address did. */
export type VerifyOutcome = "verified" | "already_verified" | "address_changed" | "email_taken";

/**
 * Marks `email` verified for the user, recording `event` (`email_verified`) when it does, unless
 * the account's address is no longer `email` or another account verified it first (the partial
 * UNIQUE index decides a race between two).
 */
export async function markEmailVerified(db: D1Database, input: { id: string; email: string }, event: AuditEvent): Promise<VerifyOutcome> {
  let results: D1Result[];
  try {
    results = await db.batch([
      db
        .prepare(
          `UPDATE users SET email_verified = 1 WHERE id = ?1 AND email = ?2 AND email_verified = 0
             AND NOT EXISTS (SELECT 1 FROM users WHERE email = ?2 AND email_verified = 1 AND id <> ?1)`,
        )
        .bind(input.id, input.email),
      insertEventIfChanged(db, event),
      db.prepare("SELECT email, email_verified FROM users WHERE id = ?1").bind(input.id),
    ]);
  } catch (error) {
    if (/UNIQUE constraint failed/i.test((error as Error).message)) return "email_taken";
    return requireD1("verify email", () => Promise.reject(error));
  }
  if (results[0]!.meta.changes === 1) return "verified";
  const row = results[2]!.results[0] as { email: string | null; email_verified: number } | undefined;
  if (row?.email !== input.email) return "address_changed";
  return row.email_verified === 1 ? "already_verified" : "email_taken";
}

/**
 * Deletes everything D1 holds of a user, in one transaction, and records `event`
 * (`account_deleted`): the user row, the identities, the session records; the user's audit
 * events keep their type and time but lose `ip` and `detail`.
 */
export async function deleteUserEverywhere(db: D1Database, userId: string, event: AuditEvent): Promise<void> {
  await requireD1("delete user", () =>
    db.batch([
      db.prepare("DELETE FROM sessions WHERE user_id = ?1").bind(userId),
      db.prepare("DELETE FROM identities WHERE user_id = ?1").bind(userId),
      db.prepare("DELETE FROM users WHERE id = ?1").bind(userId),
      db.prepare("UPDATE events SET ip = NULL, detail = NULL WHERE sub = ?1").bind(userId),
      insertEvent(db, event),
    ]),
  );
}

/** What D1 knows of an account: its user row (none for an upstream provider's user) and its identities. */
export interface AccountRows {
  user: UserRecord | null;
  identities: Array<{ provider: string; email: string | null; created_at: number }>;
}

/** The user row and identities of `userId`, in one D1 round trip. */
export async function accountRows(db: D1Database, userId: string): Promise<AccountRows> {
  const [user, identities] = await requireD1("read account", () =>
    db.batch([
      db.prepare(`SELECT ${COLUMNS} FROM users WHERE id = ?1`).bind(userId),
      db.prepare("SELECT provider, email, created_at FROM identities WHERE user_id = ?1 ORDER BY provider").bind(userId),
    ]),
  );
  return { user: (user!.results[0] as UserRecord | undefined) ?? null, identities: identities!.results as AccountRows["identities"] };
}

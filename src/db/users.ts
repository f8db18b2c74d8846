import { requireD1 } from "./unavailable";

/** A user of the built-in password login, as stored in D1. Times in Unix ms. */
export interface UserRecord {
  id: string;
  username: string;
  username_normalized: string;
  password_hash: string;
  created_at: number;
  password_updated_at: number;
}

/**
 * The form usernames are compared in: lowercase. Usernames are ASCII (`[A-Za-z0-9._@-]`), so
 * lowercasing is the whole of case folding.
 */
export function normalizeUsername(username: string): string {
  return username.toLowerCase();
}

/**
 * Inserts a user. Resolves false when the normalized username is taken: the UNIQUE index decides,
 * in one statement, so two registrations racing for one name cannot both win.
 */
export async function insertUser(db: D1Database, user: UserRecord): Promise<boolean> {
  const result = await requireD1("insert user", () =>
    db
      .prepare(
        `INSERT INTO users (id, username, username_normalized, password_hash, created_at, password_updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (username_normalized) DO NOTHING`,
      )
      .bind(user.id, user.username, user.username_normalized, user.password_hash, user.created_at, user.password_updated_at)
      .run(),
  );
  return result.meta.changes === 1;
}

/** The user with that normalized username, or null. */
export async function findUserByUsername(db: D1Database, usernameNormalized: string): Promise<UserRecord | null> {
  return requireD1("find user", () =>
    db
      .prepare(
        `SELECT id, username, username_normalized, password_hash, created_at, password_updated_at
         FROM users WHERE username_normalized = ?1`,
      )
      .bind(usernameNormalized)
      .first<UserRecord>(),
  );
}

/**
 * Replaces a password hash, only if it is still `previousHash`: a re-hash on login never
 * overwrites a hash that changed in the meantime.
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

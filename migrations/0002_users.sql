-- Accounts of the built-in password login (POST /auth/register, POST /auth/login). Written and
-- read only by the worker's account routes. Times are Unix milliseconds.

CREATE TABLE users (
  -- Random UUID: the `sub` of the user's tokens and the name of their UserAuth Durable Object.
  id                   TEXT PRIMARY KEY,
  -- As registered, for display.
  username             TEXT NOT NULL,
  -- Lowercased: the UNIQUE index makes usernames unique case-insensitively, and settles two
  -- registrations of one name racing each other (one insert wins, the other changes nothing).
  username_normalized  TEXT NOT NULL,
  -- `pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>`: the parameters travel with the
  -- hash so they can be raised later; a login re-hashes an older one (src/passwords.ts).
  password_hash        TEXT NOT NULL,
  created_at           INTEGER NOT NULL,
  password_updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_by_username ON users (username_normalized);

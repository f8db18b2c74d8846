-- E-mail addresses of password accounts (POST /auth/register's optional `email`), verified by a
-- 6-digit code (POST /auth/email/verify). Written by the account routes. An address is stored
-- lowercased; password resets go only to a verified one.

ALTER TABLE users ADD COLUMN email TEXT;
-- 1 once the user proved the address is theirs, else 0.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
-- At most one account per verified address: the index decides two verifications racing for one.
CREATE UNIQUE INDEX users_by_verified_email ON users (email) WHERE email_verified = 1;
-- Unverified addresses may repeat (anyone can type anyone's address); the admin lookup reads them.
CREATE INDEX users_by_email ON users (email);

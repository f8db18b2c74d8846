-- Upstream identities: who signed in through which OpenID provider (docs/federation.md). Written
-- by the OIDC callback (the first sign-in of an identity creates its user; a signed-in user links
-- one explicitly) and by DELETE /auth/identities/:provider; read by the callback and the account
-- route. Never matched by e-mail address. Times are Unix milliseconds.

CREATE TABLE identities (
  -- The `id` of the provider in OIDC_PROVIDERS.
  provider    TEXT NOT NULL,
  -- The provider's `sub` for the user: with `provider`, the identity's key.
  subject     TEXT NOT NULL,
  -- The gateway's user (the `sub` of its tokens and the name of its UserAuth Durable Object).
  user_id     TEXT NOT NULL,
  -- The address the provider gave when the identity was created or linked, for display only; NULL without one.
  email       TEXT,
  created_at  INTEGER NOT NULL
);
-- One user per upstream identity: the first sign-in of two racing ones wins.
CREATE UNIQUE INDEX identities_by_subject ON identities (provider, subject);
-- At most one identity of each provider per user, and the user's identities by user.
CREATE UNIQUE INDEX identities_by_user ON identities (user_id, provider);

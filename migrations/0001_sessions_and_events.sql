-- Session records and audit events. Written only by the UserAuth Durable Object (through its
-- outbox), read by the session listing and the admin events route. Times are Unix milliseconds.

CREATE TABLE sessions (
  id              TEXT PRIMARY KEY,
  user_id         TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  last_used_at    INTEGER NOT NULL,
  -- The earlier of the idle and absolute limits; NULL when both are 0 (no limit).
  expires_at      INTEGER,
  revoked_at      INTEGER,
  revoked_reason  TEXT,
  user_agent      TEXT,
  ip              TEXT,
  rotation_count  INTEGER NOT NULL DEFAULT 0,
  -- Outbox sequence number of the write that produced this row: a replayed older write never
  -- overwrites a newer one.
  version         INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
CREATE INDEX sessions_by_end ON sessions (revoked_at);

CREATE TABLE events (
  id          TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  sub         TEXT,
  session_id  TEXT,
  at          INTEGER NOT NULL,
  ip          TEXT,
  detail      TEXT
);
CREATE INDEX events_by_time ON events (at);
CREATE INDEX events_by_sub ON events (sub, at);
CREATE INDEX events_by_type ON events (type, at);

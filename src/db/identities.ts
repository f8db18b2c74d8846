import { insertEventIfChanged, type AuditEvent } from "./events";
import { requireD1 } from "./unavailable";

/**
 * Upstream identities in D1 (migrations/0003_identities.sql): which user each `(provider,
 * subject)` signs in as. Every change is one D1 batch, one transaction: the identity and its audit
 * event land together, and the unique indexes decide races (two first sign-ins of one identity,
 * two unlinks of a user's last two ways in) in one statement, so no read-then-write can be
 * overtaken. An identity is only ever found by its provider and subject, never by e-mail.
 */

export interface IdentityRecord {
  provider: string;
  subject: string;
  user_id: string;
  email: string | null;
  created_at: number;
}

/** The user an upstream identity signs in as, or null for one never seen. */
export async function findIdentity(db: D1Database, provider: string, subject: string): Promise<IdentityRecord | null> {
  return requireD1("find identity", () =>
    db
      .prepare("SELECT provider, subject, user_id, email, created_at FROM identities WHERE provider = ?1 AND subject = ?2")
      .bind(provider, subject)
      .first<IdentityRecord>(),
  );
}

/**
 * Creates the identity for a first sign-in, with a new user, and returns the user it signs in
 * as: `identity.user_id`, or the user of a sign-in of the same identity that got there first.
 */
export async function createIdentity(db: D1Database, identity: IdentityRecord): Promise<string> {
  const [, owner] = await requireD1("create identity", () =>
    db.batch([
      insertIdentity(db, identity),
      db.prepare("SELECT user_id FROM identities WHERE provider = ?1 AND subject = ?2").bind(identity.provider, identity.subject),
    ]),
  );
  return (owner!.results[0] as { user_id: string }).user_id;
}

/** What linking an identity to a user did. */
export type LinkOutcome = "linked" | "already_linked" | "identity_taken" | "provider_taken";

/**
 * Links an identity to a signed-in user, recording `event` (`identity_linked`) when it does.
 * `identity_taken`: the identity signs in as another user; `provider_taken`: the user already has
 * another identity of that provider.
 */
export async function linkIdentity(db: D1Database, identity: IdentityRecord, event: AuditEvent): Promise<LinkOutcome> {
  const [, , found] = await requireD1("link identity", () =>
    db.batch([
      insertIdentity(db, identity),
      insertEventIfChanged(db, event),
      // changes(): the event insert's, so 1 exactly when the identity was inserted.
      db
        .prepare("SELECT changes() AS linked, user_id, subject FROM identities WHERE provider = ?1 AND (subject = ?2 OR user_id = ?3)")
        .bind(identity.provider, identity.subject, identity.user_id),
    ]),
  );
  const rows = found!.results as Array<{ linked: number; user_id: string; subject: string }>;
  if (rows[0]?.linked === 1) return "linked";
  const owner = rows.find((row) => row.subject === identity.subject);
  if (!owner) return "provider_taken";
  return owner.user_id === identity.user_id ? "already_linked" : "identity_taken";
}

/** What unlinking did: `last_sign_in_method` when it would leave the user no way in. */
export type UnlinkOutcome = "unlinked" | "not_found" | "last_sign_in_method";

/**
 * Unlinks the user's identity of `provider`, recording `event` (`identity_unlinked`), unless it is
 * the user's only way in: no password (a row in `users`), no other identity, and `hasPasskeys`
 * false (the user's object knows). The check and the delete are one statement, so two unlinks
 * racing for a user's last two identities cannot both succeed.
 */
export async function unlinkIdentity(
  db: D1Database,
  input: { userId: string; provider: string; hasPasskeys: boolean },
  event: AuditEvent,
): Promise<UnlinkOutcome> {
  const [, , left] = await requireD1("unlink identity", () =>
    db.batch([
      db
        .prepare(
          `DELETE FROM identities WHERE user_id = ?1 AND provider = ?2
             AND (?3 = 1 OR EXISTS (SELECT 1 FROM users WHERE id = ?1)
                  OR EXISTS (SELECT 1 FROM identities WHERE user_id = ?1 AND provider <> ?2))`,
        )
        .bind(input.userId, input.provider, input.hasPasskeys ? 1 : 0),
      insertEventIfChanged(db, event),
      db.prepare("SELECT changes() AS recorded, (SELECT count(*) FROM identities WHERE user_id = ?1 AND provider = ?2) AS remaining").bind(input.userId, input.provider),
    ]),
  );
  const row = left!.results[0] as { recorded: number; remaining: number };
  if (row.recorded === 1) return "unlinked";
  return row.remaining === 1 ? "last_sign_in_method" : "not_found";
}

/** The user's identities, by provider: what `GET /auth/account` lists. */
export async function identitiesOf(db: D1Database, userId: string): Promise<Array<{ provider: string; email: string | null }>> {
  const { results } = await requireD1("list identities", () =>
    db.prepare("SELECT provider, email FROM identities WHERE user_id = ?1 ORDER BY provider").bind(userId).all<{ provider: string; email: string | null }>(),
  );
  return results;
}

function insertIdentity(db: D1Database, identity: IdentityRecord): D1PreparedStatement {
  // No conflict target: either unique index (the identity's, or one per provider per user) makes it a no-op.
  return db
    .prepare("INSERT INTO identities (provider, subject, user_id, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING")
    .bind(identity.provider, identity.subject, identity.user_id, identity.email, identity.created_at);
}

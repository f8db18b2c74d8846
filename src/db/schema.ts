import sessionsAndEvents from "../../migrations/0001_sessions_and_events.sql";
import users from "../../migrations/0002_users.sql";
import identities from "../../migrations/0003_identities.sql";
import accountsEmail from "../../migrations/0004_accounts_email.sql";

/**
 * The D1 migrations, bundled (wrangler imports `.sql` files as text), in order. `ensureSchema`
 * applies any that the database has not recorded, so a `wrangler dev` on fresh local state works
 * even when nobody ran `wrangler d1 migrations apply` first.
 */
const MIGRATIONS: Array<{ name: string; sql: string }> = [
  { name: "0001_sessions_and_events.sql", sql: sessionsAndEvents },
  { name: "0002_users.sql", sql: users },
  { name: "0003_identities.sql", sql: identities },
  { name: "0004_accounts_email.sql", sql: accountsEmail },
];

let ready: Promise<void> | null = null;

/**
 * Makes sure every bundled migration is applied, once per isolate. Uses wrangler's own
 * `d1_migrations` table, so `wrangler d1 migrations apply` and this agree on what is applied.
 * Never throws: if a migration cannot be applied here, the query that needs it reports the
 * problem, and the next isolate tries again.
 */
export function ensureSchema(db: D1Database): Promise<void> {
  ready ??= applyMissingMigrations(db).catch((error: Error) => {
    console.warn(`could not apply D1 migrations: ${error.message}`);
    ready = null;
  });
  return ready;
}

/** Applies the bundled migrations the database has not recorded yet (uncached; see `ensureSchema`). */
export async function applyMissingMigrations(db: D1Database) {
  await db.prepare(
    `CREATE TABLE IF NOT EXISTS d1_migrations (
       id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`,
  ).run();
  const { results } = await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>();
  const applied = new Set(results.map((row) => row.name));
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.name)) continue;
    // One batch is one transaction: the migration and its record land together or not at all.
    await db.batch([
      ...statements(migration.sql).map((sql) => db.prepare(sql)),
      db.prepare("INSERT INTO d1_migrations (name) VALUES (?1) ON CONFLICT (name) DO NOTHING").bind(migration.name),
    ]);
  }
}

/** Splits a migration file into statements (our migrations have no `;` inside literals). */
function statements(sql: string): string[] {
  return sql
    .replace(/--[^\n]*/g, "")
    .split(";")
    .map((statement) => statement.trim())
    .filter((statement) => statement !== "");
}

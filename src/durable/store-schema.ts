/**
 * Schema migrations for the SQLite storage of a Durable Object, one numbered line per store.
 *
 * A store is a set of tables that one module owns (the sessions of `UserAuth`, and later its
 * passkeys or TOTP state), and it carries its own version: the row `store` of the
 * `schema_versions` table. Its version is how many of its migrations ran. Stores do not know of
 * each other, so a feature adds its tables without touching the version of any other:
 *
 * ```ts
 * // src/passkeys/passkey-store.ts
 * export const PASSKEYS_SCHEMA: StoreSchema = {
 *   store: "passkeys",
 *   migrations: [
 *     // 1: the passkeys table.
 *     (sql) => sql.exec("CREATE TABLE passkeys (id TEXT PRIMARY KEY, public_key BLOB NOT NULL, counter INTEGER NOT NULL)"),
 *   ],
 * };
 * // src/sessions/user-auth.ts, in the constructor:
 * migrateStores(ctx.storage, [SESSIONS_SCHEMA, PASSKEYS_SCHEMA]);
 * ```
 *
 * A migration that shipped is never edited or removed: a change is one more migration at the end.
 * Everything runs synchronously in the constructor, before the object serves anything, as
 * Cloudflare's own Durable Object examples create their schema.
 */

/** One store's tables: its name and its migrations, oldest first. */
export interface StoreSchema {
  /** Unique within the object: names its row in `schema_versions`. */
  store: string;
  /** Migration `i` takes the store from version `i` to version `i + 1`. */
  migrations: ReadonlyArray<(sql: SqlStorage) => void>;
  /**
   * For a store that existed before versions were kept per store: its version from the old
   * bookkeeping, read once when the store has no row yet (0 when it has none either).
   */
  adopt?: (sql: SqlStorage) => number;
}

/**
 * Brings every store up to its latest version: each store's missing migrations run in order,
 * and its new version is written, in one transaction, so a store is never left between two
 * versions. A store already at its latest version costs one indexed read.
 */
export function migrateStores(storage: DurableObjectStorage, stores: readonly StoreSchema[]): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS schema_versions (store TEXT PRIMARY KEY, version INTEGER NOT NULL)");
  for (const schema of stores) {
    storage.transactionSync(() => {
      const stored = sql.exec<{ version: number }>("SELECT version FROM schema_versions WHERE store = ?", schema.store).toArray()[0];
      const version = stored?.version ?? schema.adopt?.(sql) ?? 0;
      // Data newer than this code (a rollback after a migration ran) is left as it is: migrations
      // add tables and columns, so older code still runs on them, and the version is never lowered.
      if (stored !== undefined && version >= schema.migrations.length) return;
      for (const migration of schema.migrations.slice(version)) migration(sql);
      sql.exec("INSERT OR REPLACE INTO schema_versions (store, version) VALUES (?, ?)", schema.store, Math.max(version, schema.migrations.length));
    });
  }
}

/** Whether a table exists: for `adopt`, which must look before it reads an old table. */
export function tableExists(sql: SqlStorage, name: string): boolean {
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
}

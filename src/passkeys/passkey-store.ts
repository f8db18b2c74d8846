import type { StoreSchema } from "../durable/store-schema";
import type { StoredCredential, VerifiedPasskey } from "./relying-party";

/**
 * One user's passkeys in their `UserAuth` object's SQLite storage, and the ceremonies spent there
 * (kept until they expire, so none is used twice): the row shapes, the store's migrations and
 * every statement on its tables. No decisions here (src/passkeys/passkey-rules.ts decides).
 * Tables: docs/storage.md.
 */

/** The `passkeys` store's migrations. Append only: a migration that shipped is never changed. */
export const PASSKEYS_SCHEMA: StoreSchema = {
  store: "passkeys",
  migrations: [
    // 1: the passkeys and the spent ceremonies.
    (sql) => {
      sql.exec(`
        CREATE TABLE IF NOT EXISTS passkeys (
          id           TEXT PRIMARY KEY,
          name         TEXT,
          public_key   BLOB NOT NULL,
          counter      INTEGER NOT NULL,
          transports   TEXT NOT NULL,
          backed_up    INTEGER NOT NULL,
          device_type  TEXT NOT NULL,
          created_at   INTEGER NOT NULL,
          last_used_at INTEGER
        )`);
      sql.exec(`
        CREATE TABLE IF NOT EXISTS spent_ceremonies (
          id         TEXT PRIMARY KEY,
          expires_at INTEGER NOT NULL
        )`);
    },
  ],
};

/** A passkey as the user's listing shows it. Times Unix ms. */
export interface Passkey {
  id: string;
  name: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  backedUp: boolean;
  transports: string[];
}

/** A passkey with what a login needs to check an assertion by it. */
export interface PasskeyWithKey extends Passkey, StoredCredential {
  counter: number;
}

type PasskeyRow = {
  id: string;
  name: string | null;
  public_key: ArrayBuffer;
  counter: number;
  transports: string;
  backed_up: number;
  device_type: string;
  created_at: number;
  last_used_at: number | null;
};

function passkeyOf(row: PasskeyRow): PasskeyWithKey {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    backedUp: row.backed_up === 1,
    transports: JSON.parse(row.transports) as string[],
    publicKey: new Uint8Array(row.public_key),
    counter: row.counter,
  };
}

/** Every statement on the `passkeys` and `spent_ceremonies` tables, typed. */
export class PasskeyStore {
  constructor(private readonly sql: SqlStorage) {}

  /** The user's passkeys, oldest first. */
  list(): Passkey[] {
    return this.sql
      .exec<PasskeyRow>("SELECT * FROM passkeys ORDER BY created_at, id")
      .toArray()
      .map((row) => {
        const { publicKey: _key, counter: _counter, ...passkey } = passkeyOf(row);
        return passkey;
      });
  }

  /** One passkey with its key, or null when this user has none of that id. */
  get(id: string): PasskeyWithKey | null {
    const row = this.sql.exec<PasskeyRow>("SELECT * FROM passkeys WHERE id = ?", id).toArray()[0];
    return row ? passkeyOf(row) : null;
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM passkeys").one().n;
  }

  insert(passkey: VerifiedPasskey, name: string | null, now: number): void {
    this.sql.exec(
      `INSERT INTO passkeys (id, name, public_key, counter, transports, backed_up, device_type, created_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
      passkey.id,
      name,
      passkey.publicKey,
      passkey.counter,
      JSON.stringify(passkey.transports),
      passkey.backedUp ? 1 : 0,
      passkey.deviceType,
      now,
    );
  }

  /** A login by the passkey: its new counter, whether it is backed up now, and when. */
  saveUse(id: string, use: { counter: number; backedUp: boolean }, now: number): void {
    this.sql.exec("UPDATE passkeys SET counter = ?, backed_up = ?, last_used_at = ? WHERE id = ?", use.counter, use.backedUp ? 1 : 0, now, id);
  }

  /** Deletes one passkey; false when this user has none of that id. */
  delete(id: string): boolean {
    return this.sql.exec("DELETE FROM passkeys WHERE id = ?", id).rowsWritten > 0;
  }

  /** Whether a ceremony was spent here; drops the spent ones that expired by `now` first. */
  ceremonySpent(id: string, now: number): boolean {
    this.sql.exec("DELETE FROM spent_ceremonies WHERE expires_at <= ?", now);
    return this.sql.exec("SELECT 1 FROM spent_ceremonies WHERE id = ?", id).toArray().length > 0;
  }

  /** Spent ceremonies not yet expired. */
  spentCeremonies(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM spent_ceremonies").one().n;
  }

  markCeremonySpent(id: string, expiresAt: number): void {
    this.sql.exec("INSERT INTO spent_ceremonies (id, expires_at) VALUES (?, ?)", id, expiresAt);
  }
}

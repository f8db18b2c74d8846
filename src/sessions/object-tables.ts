/**
 * Whether a user's object has its tables. They are created when the object starts (every store's,
 * about 120 KB even empty); deleting the storage removes them (an account deleted, or an object a
 * stranger named by a made-up passkey user handle, which holds no row), and the next call creates
 * them again before it reads or writes. So an object that is gone costs no storage until it is
 * used again.
 */
export class ObjectTables {
  #present = true;

  /** `create` makes every table (the stores' migrations, the outbox); the object ran it at start. */
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly create: () => void,
  ) {}

  /** The tables, back if they were deleted: first in every call of the object. */
  ensure(): void {
    if (this.#present) return;
    this.create();
    this.#present = true;
  }

  /** Deletes the whole storage, tables and alarm included. */
  async erase(): Promise<void> {
    // Before the first await: a call the runtime lets in meanwhile creates the tables again.
    this.#present = false;
    await this.storage.deleteAll();
    await this.storage.deleteAlarm();
  }

  /** `erase`, when no table holds a row and no alarm is set: what a call to an unused object left. */
  async eraseIfEmpty(): Promise<boolean> {
    const sql = this.storage.sql;
    // The runtime's own tables (`_cf_...`) cannot be read and hold nothing of ours.
    const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'schema_versions' AND substr(name, 1, 4) <> '_cf_' AND substr(name, 1, 7) <> 'sqlite_'").toArray();
    if (tables.some(({ name }) => sql.exec(`SELECT 1 FROM "${name}" LIMIT 1`).toArray().length > 0)) return false;
    if ((await this.storage.getAlarm()) !== null) return false;
    await this.erase();
    return true;
  }
}

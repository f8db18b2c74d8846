import { generateDpopKey, type DpopKey } from "./dpop.js";

// Minimal shapes of IndexedDB, so the client compiles with Workers' types as with a browser's.
type Handler = ((this: any, event: any) => any) | null;
interface IdbRequestLike<T> {
  readonly result: T;
  readonly error: unknown;
  onsuccess: Handler;
  onerror: Handler;
}
interface IdbStoreLike {
  get(key: string): IdbRequestLike<unknown>;
  put(value: unknown, key: string): unknown;
  delete(key: string): unknown;
}
interface IdbTransactionLike {
  readonly error: unknown;
  objectStore(name: string): IdbStoreLike;
  oncomplete: Handler;
  onerror: Handler;
  onabort: Handler;
}
interface IdbDatabaseLike {
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: "readonly" | "readwrite"): IdbTransactionLike;
  onclose: Handler;
}

/** The part of IndexedDB the client uses (`indexedDB` fits). */
export interface IndexedDbLike {
  open(name: string, version?: number): IdbRequestLike<IdbDatabaseLike> & { onupgradeneeded: Handler };
}

const STORE = "dpop";
const KEY = "key";

/**
 * Where the DPoP key lives. With IndexedDB (the client's `localStorage` and `cookie` modes) the
 * key survives reloads and the origin's tabs share it, stored as the `CryptoKey` object itself
 * (structured clone keeps it non-extractable); it is read for every proof, so a tab never signs
 * with a key another tab has replaced. Without (memory mode), one key per page.
 */
export class DpopKeyStore {
  readonly #indexedDB: IndexedDbLike | undefined;
  readonly #name: string;
  #memory: Promise<DpopKey> | null = null;
  #db: Promise<IdbDatabaseLike> | null = null;

  constructor(indexedDB: IndexedDbLike | undefined, databaseName: string) {
    this.#indexedDB = indexedDB;
    this.#name = databaseName;
  }

  /** The key, made on first use. */
  async key(): Promise<DpopKey> {
    if (!this.#indexedDB) return (this.#memory ??= generateDpopKey());
    const stored = await this.#transaction("readonly", (store) => {
      const request = store.get(KEY);
      return () => request.result;
    });
    if (isKey(stored)) return stored;
    const candidate = await generateDpopKey();
    // Read and write in one read-write transaction: IndexedDB runs those one after another for
    // the whole origin, so tabs that start at once all end up with the first tab's key.
    return this.#transaction("readwrite", (store) => {
      const request = store.get(KEY);
      let key = candidate;
      request.onsuccess = () => {
        if (isKey(request.result)) key = request.result;
        else store.put(candidate, KEY);
      };
      return () => key;
    });
  }

  /** Deletes the key: the session it was bound to is over, and the next one gets a new key. */
  async forget(): Promise<void> {
    this.#memory = null;
    if (!this.#indexedDB) return;
    await this.#transaction("readwrite", (store) => {
      store.delete(KEY);
      return () => undefined;
    });
  }

  /** Runs `body` in a transaction on the key's store; resolves, once the transaction committed, with what the getter it returns says. */
  async #transaction<T>(mode: "readonly" | "readwrite", body: (store: IdbStoreLike) => () => T): Promise<T> {
    const db = await this.#open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const result = body(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(result());
      transaction.onerror = transaction.onabort = () => reject(transaction.error);
    });
  }

  #open(): Promise<IdbDatabaseLike> {
    return (this.#db ??= new Promise((resolve, reject) => {
      const request = this.#indexedDB!.open(this.#name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => {
        // Closed under us (site data cleared): open it again next time.
        request.result.onclose = () => (this.#db = null);
        resolve(request.result);
      };
      request.onerror = () => {
        this.#db = null;
        reject(request.error);
      };
    }));
  }
}

// Whatever another version or a person left under the key: only a whole key counts.
function isKey(value: unknown): value is DpopKey {
  return typeof value === "object" && value !== null && "privateKey" in value && "jwk" in value;
}

import { requireSettings } from "../config";
import type { AlarmSchedule } from "./alarm-schedule";
import { queueMessagesOf, sendBatches, type OutboxEntry } from "./queue-messages";

export type { OutboxEntry } from "./queue-messages";

/** Entries read per send: each is one or two queue messages, and a `sendBatch` takes 100. */
const BATCH_SIZE = 50;
/** A safety net for queued entries if the object dies before its own flush. */
const SAFETY_NET_MS = 30_000;
/** First retry of a failed flush; doubles up to the cap. */
const RETRY_MS = 2_000;
const RETRY_MAX_MS = 300_000;

/**
 * The outbox of a Durable Object. Entries are written to the object's SQLite storage in the same
 * synchronous block as the state change they describe, so they commit together; `flush` sends
 * them to the EVENTS queue in order and deletes them only once the queue accepted them. A failed
 * send leaves them in place for the next flush (the owner retries from an alarm): nothing is
 * lost, nothing fails the request. The queue's consumer (src/events/consumer.ts) writes D1 and
 * delivers webhooks; its writes are idempotent (event ids, versioned upserts) and webhooks keep
 * their id, so entries sent twice after a crash are harmless. The owner's alarm must call
 * `flush`: the outbox asks for it when an entry is queued (in case the object dies before
 * flushing) and, with backoff, after a failure.
 */
export class Outbox {
  #flushing: Promise<boolean> | null = null;
  #failedFlushes = 0;

  constructor(
    private readonly sql: SqlStorage,
    /** Read at each flush: the owner's current env (its EVENTS queue and its webhook settings). */
    private readonly env: () => Env,
    private readonly alarm: AlarmSchedule,
  ) {
    this.createTable();
  }

  /** Creates the outbox's table if it is not there: at start-up, and after the owner deleted its storage. */
  createTable(): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)`);
  }

  /** Queues an entry. Synchronous: call it next to the state change it records. */
  enqueue(entry: OutboxEntry): void {
    this.sql.exec("INSERT INTO outbox (entry) VALUES (?)", JSON.stringify(entry));
    this.alarm.noLaterThan(Date.now() + SAFETY_NET_MS);
  }

  /** How many entries are waiting. */
  get size(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
  }

  /**
   * Sends every queued entry to the queue. Resolves true when the outbox is empty, false when
   * the send failed (the error is logged, never thrown). Only one flush runs at a time; a caller
   * that arrives during one waits for it and then flushes again, since its own entry may have
   * been queued after the running flush last looked.
   */
  flush(): Promise<boolean> {
    if (this.#flushing) return this.#flushing.then(() => this.flush());
    this.#flushing = this.#drain()
      .then((empty) => {
        this.#failedFlushes = empty ? 0 : this.#failedFlushes + 1;
        if (!empty) this.alarm.noLaterThan(Date.now() + Math.min(RETRY_MS * 2 ** (this.#failedFlushes - 1), RETRY_MAX_MS));
        return empty;
      })
      .finally(() => {
        this.#flushing = null;
      });
    return this.#flushing;
  }

  async #drain(): Promise<boolean> {
    for (;;) {
      const rows = this.sql
        .exec<{ seq: number; entry: string }>("SELECT seq, entry FROM outbox ORDER BY seq LIMIT ?", BATCH_SIZE)
        .toArray();
      if (rows.length === 0) return true;
      try {
        // Read at each send: the worker refuses every request while a setting is bad, so one
        // that turns bad under a running object keeps its entries here until it is fixed.
        const env = this.env();
        const config = requireSettings(env);
        const messages = rows.flatMap((row) => {
          const entry = JSON.parse(row.entry) as OutboxEntry;
          const sent = queueMessagesOf(entry, row.seq, config);
          // The routes that send messages check `canDeliverMessages` first; this is the settings
          // changing in between. The type and the user, never the code or the token.
          if (entry.kind === "message" && sent.length === 0) console.warn(`${entry.message.type} for user ${entry.message.data.user_id} dropped: WEBHOOK_URL is unset`);
          return sent;
        });
        for (const batch of sendBatches(messages)) await env.EVENTS.sendBatch(batch);
      } catch (error) {
        // Only the error message: entries hold session ids, IPs and messages' codes, never for a log.
        console.warn(`event queue send failed, ${this.size} entries kept for retry: ${(error as Error).message}`);
        return false;
      }
      this.sql.exec("DELETE FROM outbox WHERE seq <= ?", rows.at(-1)!.seq);
    }
  }
}

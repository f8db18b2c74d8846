import { insertEvent, type AuditEvent } from "../db/events";
import type { AlarmSchedule } from "./alarm-schedule";
import { ensureSchema } from "../db/schema";
import { upsertSession, type SessionRecord } from "../db/sessions";

/** A D1 write waiting in a Durable Object's storage. */
export type OutboxEntry = { kind: "session"; record: SessionRecord } | { kind: "event"; event: AuditEvent };

/** Rows sent to D1 in one batch (one D1 transaction). */
const BATCH_SIZE = 50;
/** A safety net for queued writes if the object dies before its own flush. */
const SAFETY_NET_MS = 30_000;
/** First retry of a failed flush; doubles up to the cap. */
const RETRY_MS = 2_000;
const RETRY_MAX_MS = 300_000;

/**
 * The D1 outbox of a Durable Object. Entries are written to the object's SQLite storage in the
 * same synchronous block as the state change they describe, so they commit together; `flush`
 * sends them to D1 in order and deletes them only once D1 accepted them. A D1 failure leaves them
 * in place for the next flush (the owner retries from an alarm): nothing is lost, nothing fails
 * the request. D1 writes are idempotent (event ids, versioned upserts), so a batch sent twice
 * after a crash is harmless. The owner's alarm must call `flush`: the outbox asks for it when a
 * write is queued (in case the object dies before flushing) and, with backoff, after a failure.
 */
export class Outbox {
  #flushing: Promise<boolean> | null = null;
  #failedFlushes = 0;

  constructor(
    private readonly sql: SqlStorage,
    /** Read at each flush: the owner's current D1 binding. */
    private readonly d1: () => D1Database,
    private readonly alarm: AlarmSchedule,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)`);
  }

  /** Queues a write. Synchronous: call it next to the state change it records. */
  enqueue(entry: OutboxEntry): void {
    this.sql.exec("INSERT INTO outbox (entry) VALUES (?)", JSON.stringify(entry));
    this.alarm.noLaterThan(Date.now() + SAFETY_NET_MS);
  }

  /** How many writes are waiting. */
  get size(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
  }

  /**
   * Sends every queued write to D1. Resolves true when the outbox is empty, false when D1 failed
   * (the error is logged, never thrown). Only one flush runs at a time; a caller that arrives
   * during one waits for it and then flushes again, since its own write may have been queued after
   * the running flush last looked.
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
    const db = this.d1();
    await ensureSchema(db);
    for (;;) {
      const rows = this.sql
        .exec<{ seq: number; entry: string }>("SELECT seq, entry FROM outbox ORDER BY seq LIMIT ?", BATCH_SIZE)
        .toArray();
      if (rows.length === 0) return true;
      try {
        await db.batch(rows.map((row) => this.#statement(db, row.seq, JSON.parse(row.entry) as OutboxEntry)));
      } catch (error) {
        // Only the error message: entries hold session ids and IPs, never tokens, but a log line
        // does not need them.
        console.warn(`D1 write failed, ${this.size} queued for retry: ${(error as Error).message}`);
        return false;
      }
      this.sql.exec("DELETE FROM outbox WHERE seq <= ?", rows.at(-1)!.seq);
    }
  }

  #statement(db: D1Database, seq: number, entry: OutboxEntry): D1PreparedStatement {
    return entry.kind === "session" ? upsertSession(db, entry.record, seq) : insertEvent(db, entry.event);
  }
}

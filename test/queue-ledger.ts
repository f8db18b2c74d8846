// What went through the EVENTS queue in this test worker, so that tests can wait for it to drain
// without sleeping. The Durable Objects, the queue's consumer and the tests share one isolate
// (vitest-pool-workers), so the ledger sees both ends: every message a producer sent (the queue
// binding's prototype is wrapped: the real send happens, the ledger notes it first) and what the
// consumer did with each delivery (the worker's `queue` handler is wrapped: the real handler runs
// on the real batch, the ledger notes each ack and retry). Nothing is mocked: the local queue
// (Miniflare's) carries every message, and the real handler decides.
//
// In the tests the local queue delivers at once (max_batch_timeout 0, vitest.config.ts) and
// drops a message the consumer retries instead of delivering it again after its delay (30 s and
// more): a test that needs the retry hands it to the consumer itself with `redeliver`, as the
// queue would once the delay has passed.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { EventMessage } from "../src/events/messages";

/** One delivery the consumer handled, and how. */
export interface Handled {
  queue: string;
  body: EventMessage;
  attempts: number;
  outcome: "ack" | "retry";
  delaySeconds?: number;
}

/** A stable name for a message: its webhook id, event id, or session record and version. */
export function messageKey(body: EventMessage): string {
  switch (body.kind) {
    case "session":
      return `session:${body.record.id}:${body.version}`;
    case "event":
      return `event:${body.event.id}`;
    case "webhook":
      return `webhook:${body.webhook.id}`;
  }
}

type QueueHandler = (batch: MessageBatch<EventMessage>, env: Env, ctx: ExecutionContext) => Promise<void>;

class QueueLedger {
  /** Sent and not yet handled once, by key. */
  readonly pending = new Map<string, EventMessage>();
  /** Every message sent, in order. */
  readonly sent: EventMessage[] = [];
  /** Every delivery handled, in order. */
  readonly handled: Handled[] = [];
  /** Consumer invocations, with how many messages each had. */
  readonly batches: Array<{ queue: string; size: number }> = [];
  /** While true every send is refused, as Queues refuses them past its throughput limit. */
  refusing = false;
  noteSent(bodies: EventMessage[]) {
    for (const body of bodies) {
      this.sent.push(body);
      this.pending.set(messageKey(body), body);
    }
  }

  noteHandled(entries: Handled[]) {
    for (const entry of entries) {
      this.handled.push(entry);
      this.pending.delete(messageKey(entry.body));
    }
  }

  /**
   * Resolves once every message sent so far has been handled at least once. It looks at the
   * ledger every millisecond rather than being woken by the consumer: the consumer runs in a
   * request context of its own, and workerd does not wake a test's await from another context.
   * It returns as soon as the consumer is done, never after a guessed delay.
   */
  async settled(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      if (Date.now() > deadline) {
        throw new Error(`the event queue did not drain within ${timeoutMs} ms: ${[...this.pending.keys()].slice(0, 5).join(", ")} still waiting`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Wraps a worker's `queue` handler so that what it does with each delivery is noted. */
  observe(handler: QueueHandler): QueueHandler {
    const ledger = this;
    return async function observedQueue(batch, handlerEnv, ctx) {
      ledger.batches.push({ queue: batch.queue, size: batch.messages.length });
      const outcomes = new Map<Message<EventMessage>, Pick<Handled, "outcome" | "delaySeconds">>();
      const messages = batch.messages.map((message) => ({
        id: message.id,
        timestamp: message.timestamp,
        body: message.body,
        attempts: message.attempts,
        ack() {
          outcomes.set(message, { outcome: "ack" });
          message.ack();
        },
        retry(options?: QueueRetryOptions) {
          outcomes.set(message, { outcome: "retry", delaySeconds: options?.delaySeconds });
          message.retry(options);
        },
      }));
      const observed = {
        queue: batch.queue,
        metadata: batch.metadata,
        messages,
        ackAll: () => messages.forEach((message) => message.ack()),
        retryAll: (options?: QueueRetryOptions) => messages.forEach((message) => message.retry(options)),
      } as unknown as MessageBatch<EventMessage>;
      let threw = false;
      try {
        await handler(observed, handlerEnv, ctx);
      } catch (error) {
        threw = true;
        throw error;
      } finally {
        // Without an explicit verdict a message is acknowledged when the handler returns, retried when it throws.
        ledger.noteHandled(
          batch.messages.map((message) => ({
            queue: batch.queue,
            body: message.body,
            attempts: message.attempts,
            ...(outcomes.get(message) ?? { outcome: threw ? "retry" : "ack" }),
          })),
        );
      }
    };
  }
}

const LEDGER = Symbol.for("edge-auth-gateway.queue-ledger");
type WithLedger = { [LEDGER]?: QueueLedger };

/** The ledger of this test worker, created (and the queue binding wrapped) on first use. */
export function queueLedger(): QueueLedger {
  const global = globalThis as WithLedger;
  if (global[LEDGER]) return global[LEDGER];
  const ledger = new QueueLedger();
  const prototype = Object.getPrototypeOf(env.EVENTS) as Queue<EventMessage>;
  const sendBatch = prototype.sendBatch;
  const send = prototype.send;
  const refused = () => Promise.reject(new Error("Queue sendBatch failed: Too Many Requests"));
  prototype.sendBatch = function observedSendBatch(messages, options) {
    if (ledger.refusing) return refused();
    const list = [...messages];
    ledger.noteSent(list.map((message) => message.body));
    return sendBatch.call(this, list, options).catch((error: unknown) => {
      for (const message of list) ledger.pending.delete(messageKey(message.body));
      throw error;
    });
  };
  prototype.send = function observedSend(body, options) {
    if (ledger.refusing) return refused();
    ledger.noteSent([body]);
    return send.call(this, body, options).catch((error: unknown) => {
      ledger.pending.delete(messageKey(body));
      throw error;
    });
  };
  global[LEDGER] = ledger;
  return ledger;
}

/** Wraps the `queue` handler of a worker's default export (once) so the ledger sees its deliveries. */
export function observeQueueHandler(worker: { queue?: unknown }): void {
  const handler = worker.queue as (QueueHandler & { [LEDGER]?: true }) | undefined;
  if (handler === undefined || handler[LEDGER]) return;
  const observed = Object.assign(queueLedger().observe(handler), { [LEDGER]: true as const });
  worker.queue = observed;
}

/**
 * Hands `deliveries` to the worker's queue handler again, as the queue does once a retry's delay
 * has passed (with one more attempt each), and returns what the handler did with each.
 */
export async function redeliver(worker: { queue: QueueHandler }, deliveries: Handled[], handlerEnv: Env = env as unknown as Env): Promise<Handled[]> {
  if (deliveries.length === 0) return [];
  const queue = deliveries[0]!.queue;
  const before = queueLedger().handled.length;
  const batch = createMessageBatch<EventMessage>(
    queue,
    deliveries.map((delivery, index) => ({ id: `redelivery-${index}-${crypto.randomUUID()}`, timestamp: Date.now(), attempts: delivery.attempts + 1, body: delivery.body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, handlerEnv, ctx);
  await getQueueResult(batch, ctx);
  return queueLedger().handled.slice(before);
}

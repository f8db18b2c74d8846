// The EVENTS queue from the tests' side: draining it (the objects' outboxes, then the consumer),
// what it retried and handing that over again, the queue refusing sends, what refreshes send.
// test/queue-ledger.ts watches both ends of the queue.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import type { EventMessage } from "../../src/events/messages";
import worker from "../../src/index";
import { queueLedger, redeliver, type Handled } from "../queue-ledger";
import { refresh } from "./requests";
import { openSession, type TokenResponse } from "./sessions";
import { userAuthStub } from "./storage";
import { uniqueSub } from "./unique";

/**
 * Drains the outboxes of these users' objects and the event queue: once it resolves, everything
 * the objects had queued has been sent, and the queue's consumer has handled every message sent
 * so far once (D1 written or the write retried, each webhook delivered or retried). The outboxes
 * drain after each answer and the queue after that, so a test that reads D1 or the webhook
 * receiver right after an action waits here instead of guessing how long that takes: each
 * object's alarm flushes its outbox (after any flush already under way), then the queue ledger
 * (test/queue-ledger.ts) says when the consumer is done. No user: the queue only.
 */
export async function drainEvents(...subs: string[]): Promise<void> {
  for (const sub of subs) await runDurableObjectAlarm(userAuthStub(sub));
  await queueLedger().settled();
}

/**
 * Runs `action` while the EVENTS queue refuses every send, as Cloudflare's does past its
 * throughput (`sendBatch` throws "Too Many Requests"), and always lets it accept again after.
 */
export async function withQueueRefusing(action: () => Promise<void>) {
  const ledger = queueLedger();
  ledger.refusing = true;
  try {
    await action();
  } finally {
    ledger.refusing = false;
  }
}

/** Where the queue ledger is now, to look at what was sent or handled after it (`retriedSince`). */
export function queueMark(): { sent: number; handled: number } {
  const ledger = queueLedger();
  return { sent: ledger.sent.length, handled: ledger.handled.length };
}

/** The deliveries the consumer retried since `mark`, the latest verdict of each message counting. */
export function retriedSince(mark: { handled: number }): Handled[] {
  const latest = new Map<string, Handled>();
  for (const entry of queueLedger().handled.slice(mark.handled)) latest.set(JSON.stringify(entry.body), entry);
  return [...latest.values()].filter((entry) => entry.outcome === "retry");
}

/**
 * Hands the consumer every delivery it retried since `mark` again, as the queue does once the
 * retry's delay has passed, and returns what it did with each this time. The local queue of the
 * tests drops a retried message instead of waiting out its delay (test/queue-ledger.ts).
 */
export async function redeliverRetries(mark: { handled: number }): Promise<Handled[]> {
  const retried = retriedSince(mark);
  const byQueue = new Map<string, Handled[]>();
  for (const entry of retried) byQueue.set(entry.queue, [...(byQueue.get(entry.queue) ?? []), entry]);
  const outcomes: Handled[] = [];
  for (const deliveries of byQueue.values()) outcomes.push(...(await redeliver(worker as never, deliveries)));
  return outcomes;
}

/** The user a queue message is about, if any. */
export function subjectOf(body: EventMessage): string | null {
  switch (body.kind) {
    case "session":
      return body.record.user_id;
    case "event":
      return body.event.sub;
    case "webhook":
      return "user_id" in body.webhook.data ? body.webhook.data.user_id : body.webhook.data.sub;
  }
}

/**
 * The queue messages `count` refreshes of one session send, by kind: each `session` or `event`
 * message is one row the consumer writes to D1 (in batches: test/queue-batching/ counts the D1
 * calls), each `webhook` one delivery. Counted from the queue ledger, exactly.
 */
export async function queueMessagesOfRefreshes(count: number): Promise<Record<EventMessage["kind"], number>> {
  const sub = uniqueSub();
  let pair: TokenResponse = await openSession(sub);
  await drainEvents(sub);
  const mark = queueMark();
  for (let index = 0; index < count; index += 1) {
    const response = await refresh(pair.refresh_token);
    expect(response.status).toBe(200);
    pair = await response.json();
  }
  await drainEvents(sub);
  const counts = { session: 0, event: 0, webhook: 0 };
  for (const body of queueLedger().sent.slice(mark.sent)) if (subjectOf(body) === sub) counts[body.kind] += 1;
  return counts;
}

/** Counts every call this isolate makes to D1 (a `batch`, an `exec`, or one statement run alone) while `action` runs. */
export async function d1CallsDuring(action: () => Promise<unknown>): Promise<number> {
  const database = Object.getPrototypeOf(env.DB) as D1Database;
  const statement = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as D1PreparedStatement;
  const spies = [vi.spyOn(database, "batch"), vi.spyOn(database, "exec"), ...(["run", "all", "first", "raw"] as const).map((name) => vi.spyOn(statement, name))];
  try {
    await action();
    return spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

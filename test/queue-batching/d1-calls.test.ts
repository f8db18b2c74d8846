import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ensureSchema } from "../../src/db/schema";
import { d1CallsDuring, drainEvents, eventsOf, openSession, pairOf, queueMark, refresh, uniqueSub } from "../helpers";
import { queueLedger } from "../queue-ledger";

// The queue's consumer batches up to 100 messages here, as deployed (wrangler.toml), and waits
// for a batch to fill (vitest.config.ts, "queue-batching"): D1 calls per refresh are what
// production makes of refreshes that fill a batch within its 5 s (20 a second or more; slower
// traffic makes smaller batches, and D1 then sees at most a call per 5 s).

describe("D1 calls of refreshes, with per-rotation events on", () => {
  it("are 10 for 1,000 refreshes: one batched write per queue batch of 100 events, where each used to be a call of its own", { timeout: 90_000 }, async () => {
    // Fifty sessions: their records and session_created events are one full batch of 100, which
    // the queue delivers at once; they and the consumer's once-per-isolate schema check go before
    // the count.
    const users = Array.from({ length: 50 }, () => uniqueSub("batched"));
    let tokens = await Promise.all(users.map(async (sub) => (await openSession(sub)).refresh_token));
    await ensureSchema(env.DB);
    await drainEvents(...users);

    const mark = queueMark();
    const calls = await d1CallsDuring(async () => {
      for (let round = 0; round < 20; round += 1) {
        tokens = await Promise.all(tokens.map(async (token) => (await pairOf(await refresh(token))).refresh_token));
      }
      await drainEvents(...users);
    });
    const ledger = queueLedger();
    expect(ledger.sent.slice(mark.sent).map((body) => body.kind)).toEqual(Array(1000).fill("event"));
    expect(calls).toBe(10);
    expect(ledger.batches.slice(-10).map((batch) => batch.size)).toEqual(Array(10).fill(100));
    for (const sub of users.slice(0, 3)) expect(await eventsOf(sub, "refresh"), sub).toHaveLength(20);
  });
});

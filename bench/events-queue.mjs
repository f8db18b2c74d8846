// Scenario 12 of `npm run bench` (bench/run.mjs): what the EVENTS queue changes. The D1 calls of
// refreshes with per-rotation events on, counted by the bench worker as its queue consumer makes
// them (bench/queue-meter.ts), and a burst of reuse events at a webhook receiver on 127.0.0.1
// (bench/webhook-receiver.mjs: verified with `standardwebhooks`, de-duplicated by `webhook-id`).
import { benchClient } from "./http.mjs";
import { measure } from "./load.mjs";

/**
 * First 10 users refresh `QUEUE_REFRESHES` times in all, as fast as they can, and the consumer's
 * D1 calls are counted (one per queue batch). Then `BURST_USERS` users, each with a session
 * rotated twice, present their first refresh token at once: each is reuse (rule 5), and each
 * reuse event must reach `receiver`; the time is from the first reuse sent to the last webhook
 * received.
 */
export async function eventsQueueScenario({ base, adminToken, run, settings, log, receiver }) {
  const { QUEUE_REFRESHES, BURST_USERS } = settings;
  const { json, openSession, refresh, settledQueue } = benchClient({ base, adminToken });

  log(`events queue: D1 calls of ${QUEUE_REFRESHES} refreshes, 10 users`);
  const tokens = [];
  for (let user = 0; user < 10; user += 1) tokens.push((await openSession(`bench-queue-${run}-${user}`)).refresh_token);
  const before = await settledQueue();
  let refreshes = 0;
  const refreshing = await measure(
    async (client) => {
      const response = await refresh(tokens[client]);
      if (response.ok) {
        tokens[client] = (await response.clone().json()).refresh_token;
        refreshes += 1;
      }
      return response;
    },
    { concurrency: 10, limit: QUEUE_REFRESHES, seconds: 120 },
  );
  const after = await settledQueue();
  const calls = after.d1Calls - before.d1Calls;
  const d1 = { refreshes, calls, batches: after.batches - before.batches, callsPer1000: (calls / refreshes) * 1000, errors: refreshing.errors };

  log(`events queue: a burst of ${BURST_USERS} reuse events to the webhook receiver`);
  const firstTokens = [];
  let opened = 0;
  await measure(
    async () => {
      const user = opened++;
      const first = await openSession(`bench-burst-${run}-${user}`);
      firstTokens[user] = first.refresh_token;
      let token = first.refresh_token;
      for (let rotation = 0; rotation < 2; rotation += 1) token = (await json(await refresh(token))).refresh_token;
      return new Response(null, { status: 204 });
    },
    { concurrency: 50, limit: BURST_USERS, seconds: 300 },
  );
  await settledQueue();
  const alreadyReceived = receiver.received("refresh_token_reuse");
  const started = performance.now();
  let next = 0;
  // A reuse answers 400 invalid_grant: that is the expected answer here, counted as a success.
  const replays = await measure(() => refresh(firstTokens[next++]).then((response) => new Response(null, { status: response.status === 400 ? 204 : 500 })), {
    concurrency: 50,
    limit: firstTokens.length,
    seconds: 300,
  });
  const answeredSeconds = (performance.now() - started) / 1000;
  const received = (await receiver.waitFor("refresh_token_reuse", alreadyReceived + firstTokens.length, 180_000)) - alreadyReceived;
  const snapshot = receiver.snapshot("refresh_token_reuse");
  const burst = {
    users: firstTokens.length,
    refused: replays.latencies.length - replays.errors,
    received,
    duplicates: snapshot.duplicates,
    unverified: snapshot.unverified,
    answeredSeconds,
    seconds: (snapshot.lastAt - started) / 1000,
  };
  return { d1, burst };
}

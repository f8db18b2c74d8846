// The webhook receiver of `npm run bench` (bench/run.mjs): a team's receiver as the docs show it,
// on 127.0.0.1. Each delivery is verified with the `standardwebhooks` library and de-duplicated
// by `webhook-id`, as a receiver must (delivery is at least once); it counts what arrived.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

/** Starts the receiver on a free port; `secret` is the `WEBHOOK_SECRET` to give the gateway. */
export async function startWebhookReceiver() {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const verifier = new Webhook(secret);
  /** @type {Map<string, number>} webhook-id -> when it first arrived (performance.now()) */
  const firstSeen = new Map();
  const counts = { deliveries: 0, duplicates: 0, unverified: 0 };
  /** @type {Map<string, number>} */
  const types = new Map();

  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");
    counts.deliveries += 1;
    let payload;
    try {
      payload = verifier.verify(body, /** @type {Record<string, string>} */ (request.headers));
    } catch {
      counts.unverified += 1;
      response.writeHead(400).end();
      return;
    }
    const id = String(request.headers["webhook-id"]);
    if (firstSeen.has(id)) counts.duplicates += 1;
    else {
      firstSeen.set(id, performance.now());
      types.set(payload.type, (types.get(payload.type) ?? 0) + 1);
    }
    response.writeHead(204).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("webhook receiver has no port");

  return {
    url: `http://127.0.0.1:${address.port}/hooks`,
    secret,
    /** Unique webhooks of `type` so far. */
    received: (type) => types.get(type) ?? 0,
    /** The counters, and when the last new webhook of `type` arrived. */
    snapshot(type) {
      return { ...counts, unique: types.get(type) ?? 0, lastAt: Math.max(0, ...[...firstSeen.values()]) };
    },
    /** Resolves once `count` unique webhooks of `type` have arrived, or after `timeoutMs` with what did. */
    async waitFor(type, count, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while ((types.get(type) ?? 0) < count && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      return types.get(type) ?? 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}

import { Hono } from "hono";
import gatewayWorker from "../src/index";
import { AuthError, errorBody } from "../src/errors/auth-error";
import type { AppEnv } from "../src/http/context";
import type { EventMessage } from "../src/events/messages";
import { meteredQueue } from "./queue-meter";
import { benchRoutes, type BenchBindings } from "./routes";

// The bench worker (`npm run bench`, bench/wrangler.toml): the production worker, unchanged,
// behind a few routes of its own. Nothing here is in the production bundle, whose entry is
// src/index.ts; this worker is never deployed.
//
// It serves the production Durable Object classes, so refreshes and logins measured here run the
// real `UserAuth` and `LoginThrottle`: subclassed (bench/measured-objects.ts) only to add the
// methods the bench routes read their storage and seed their state with. Plus the refresh
// floor's class.
export { LoginThrottle, UserAuth } from "./measured-objects";
export { RefreshFloor } from "./refresh-floor";

const app = new Hono<AppEnv>();

app.route("/bench", benchRoutes);

// Every other request, `/bench/pass-through/...` included (a public path in this worker's
// PUBLIC_PATH_PREFIXES), is the production worker's: the same request, env and context.
app.all("*", function production(c) {
  return gatewayWorker.fetch(c.req.raw, c.env, c.executionCtx);
});

app.onError(function benchError(error, c) {
  if (error instanceof AuthError) return c.json(errorBody(error), error.status, error.headers);
  // Name and message only, as in production: a request may carry tokens.
  console.error(`bench: unhandled ${error.name}: ${error.message}`);
  return c.json(errorBody(new AuthError("server_error", 500, "Internal error.")), 500);
});

/**
 * The production worker's handlers, with `fetch` answering the bench routes first and `queue`
 * metered (bench/queue-meter.ts: its batches and D1 calls, for `GET /bench/events-queue`).
 */
export default { ...gatewayWorker, fetch: app.fetch, queue: meteredQueue(gatewayWorker.queue) } satisfies ExportedHandler<BenchBindings, EventMessage>;

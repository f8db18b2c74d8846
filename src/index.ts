import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { MAX_BODY_BYTES } from "./http/body";
import { requireSettings } from "./config";
import { claimsHookOf } from "./sessions/claims-lease";
import type { AppEnv } from "./http/context";
import { corsForAllowedOrigins } from "./http/cors";
import { purgeEvents } from "./db/events";
import { ensureSchema } from "./db/schema";
import { purgeEndedSessions } from "./db/sessions";
import { AuthError, errorBody, notFound } from "./errors/auth-error";
import { consumeEvents } from "./events/consumer";
import type { EventMessage } from "./events/messages";
import { demo } from "./demo/routes";
import { gateway } from "./gateway";
import { allowedMethods } from "./http/allowed-methods";
import { loadKeyRing } from "./tokens/key-ring";
import { firstTimeFilter } from "./log-once";
import { accountRoutes } from "./routes/accounts";
import { adminRoutes } from "./routes/admin";
import { introspectionRoutes } from "./routes/introspection";
import { wellKnownRoutes } from "./routes/well-known";
import { sessionRoutes } from "./routes/sessions";
import { authorizeRoutes } from "./routes/authorize";
import { callbackRoutes } from "./routes/oidc-callback";
import { identityRoutes } from "./routes/identities";
import { tokenRoutes } from "./routes/token";
import { passkeyRoutes } from "./routes/passkeys";
import { mfaRoutes } from "./routes/mfa";
import { emailRoutes } from "./routes/email";
import { passwordRoutes } from "./routes/passwords";
import { ownAccountRoutes } from "./routes/own-account";
import { adminUserRoutes } from "./routes/admin-users";

export { UserAuth } from "./sessions/user-auth";
export { LoginThrottle } from "./accounts/login-throttle";

const app = new Hono<AppEnv>();

// Every request, public paths included, runs with a valid configuration or gets a 503 naming
// the variable that is wrong (a `CLAIMS` that is not a service binding included).
app.use("*", async function loadConfig(c, next) {
  c.set("config", requireSettings(c.env));
  claimsHookOf(c.env);
  await next();
});

// Before anything else that a preflight need not pay for: an allowed origin's preflight is answered
// here, on every path, without a token.
app.use("*", corsForAllowedOrigins);

// Once per request, for every handler and helper to read with `keyRing(c)`. A SIGNING_KEYS that is
// set but unusable is a bad value like any other (503 on every request); unset is allowed until a
// token has to be issued or verified, which `keyRing(c)` refuses.
app.use("*", async function loadKeys(c, next) {
  const raw = c.get("config").signingKeys;
  c.set("keyRing", raw === null ? null : await loadKeyRing(raw));
  await next();
});

app.use(
  "/auth/*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new AuthError("request_too_large", 413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
    },
  }),
);

// The D1 tables exist before a route reads D1: once per isolate, a no-op after that
// (src/db/schema.ts). Only the routes that read D1 wait for it; the queue consumer and the cron
// check for themselves, and the Durable Objects never touch D1, so a refresh or logout never waits on it.
const D1_PATHS = [
  "/auth/register",
  "/auth/login",
  "/auth/admin/events",
  "/auth/oidc/callback",
  "/auth/identities",
  "/auth/identities/*",
  "/auth/mfa/totp",
  "/auth/email/*",
  "/auth/password",
  "/auth/password/*",
  "/auth/account",
  "/auth/admin/users",
  "/auth/admin/users/*",
];
for (const path of D1_PATHS) {
  app.use(path, async function schemaReady(c, next) {
    await ensureSchema(c.env.DB);
    await next();
  });
}

app.route("/auth", accountRoutes);
app.route("/auth", sessionRoutes);
app.route("/auth", introspectionRoutes);
app.route("/auth", authorizeRoutes);
app.route("/auth", callbackRoutes);
app.route("/auth", tokenRoutes);
app.route("/auth", identityRoutes);
app.route("/auth", passkeyRoutes);
app.route("/auth", mfaRoutes);
app.route("/auth", emailRoutes);
app.route("/auth", passwordRoutes);
app.route("/auth", ownAccountRoutes);
app.route("/auth/admin", adminRoutes);
app.route("/auth/admin", adminUserRoutes);
app.route("/.well-known", wellKnownRoutes);
app.all("/auth/*", function unservedAuthRoute(c) {
  // A known path with a method it does not serve is 405 with `Allow`, not 404.
  const allowed = allowedMethods(app.routes, c.req.path);
  if (allowed.length > 0) {
    throw new AuthError("method_not_allowed", 405, `Use ${allowed.join(" or ")} for this path.`, { Allow: allowed.join(", ") });
  }
  throw notFound("No such /auth route.");
});
// The demo app, when DEMO is true; otherwise these paths go on to the gateway like any other.
app.get("/demo", demo);
app.get("/demo/*", demo);
app.all("*", gateway);

app.onError(function errorResponse(error, c) {
  if (error instanceof AuthError) {
    if (error.code === "server_misconfigured") logMisconfigurationOnce(error.description);
    return c.json(errorBody(error), error.status, { ...error.headers, "Cache-Control": "no-store" });
  }
  if (error instanceof HTTPException && error.status === 400) {
    // Hono's validator: the body claimed to be JSON (or form) but could not be parsed.
    return c.json(errorBody(new AuthError("invalid_request", 400, "The request body could not be parsed.")), 400);
  }
  // Name and message only: never the request, whose headers and body may hold tokens.
  console.error(`unhandled ${error.name}: ${error.message}`);
  return c.json(errorBody(new AuthError("server_error", 500, "Internal error.")), 500);
});

// The clients of a misconfigured worker are told why; the operator reads it in the worker's log,
// once per isolate per distinct problem rather than once per request. In production the
// variables of an isolate never change, so few distinct problems ever come up.
const firstTimeMisconfigured = firstTimeFilter(64);

function logMisconfigurationOnce(description: string): void {
  if (firstTimeMisconfigured(description)) console.error(`server_misconfigured: ${description}`);
}

/**
 * Daily housekeeping (wrangler.toml `[triggers]`): drops old session rows and audit events from D1.
 * With a bad setting it deletes nothing and fails, naming the variable, so the run shows as failed.
 */
async function scheduled(_controller: ScheduledController, env: Env): Promise<void> {
  const config = requireSettings(env);
  const now = Date.now();
  await ensureSchema(env.DB);
  const sessions = await purgeEndedSessions(env.DB, now - config.session.sessionRetentionSeconds * 1000);
  const events = await purgeEvents(env.DB, now - config.auditRetentionSeconds * 1000);
  console.log(`housekeeping: purged ${sessions} session records and ${events} audit events`);
}

/**
 * The consumer of the EVENTS queue and its dead-letter queue (wrangler.toml): what the Durable
 * Objects' outboxes sent goes to D1 in batches and to the webhook receiver (src/events/consumer.ts).
 */
async function queue(batch: MessageBatch<EventMessage>, env: Env): Promise<void> {
  await consumeEvents(batch, env);
}

export default { fetch: app.fetch, scheduled, queue } satisfies ExportedHandler<Env, EventMessage>;

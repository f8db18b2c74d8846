import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import gatewayWorker from "../src/index";
import { ipThrottleKey } from "../src/accounts/client-address";
import { addressThrottle, usernameThrottle } from "../src/accounts/login-guard";
import { hashPassword } from "../src/accounts/passwords";
import { requireSettings } from "../src/config";
import { ensureSchema } from "../src/db/schema";
import { normalizeUsername } from "../src/db/users";
import { requireAdmin, requireIntrospectionToken } from "../src/http/admin-token";
import { keyRing, type AppEnv } from "../src/http/context";
import { invalidRequest } from "../src/errors/auth-error";
import { setsRefreshCookie } from "../src/http/refresh-cookie";
import { tokenResponse } from "../src/http/token-response";
import { loadKeyRing } from "../src/tokens/key-ring";
import type { LoginThrottle, UserAuth } from "./measured-objects";
import { queueMeter } from "./queue-meter";
import type { RefreshFloor } from "./refresh-floor";
import { timeVerifications } from "./verify-timing";
import { federationCallbackFloor, federationSessionFloor } from "./federation-floor";
import { passkeyLoginFloor } from "./passkey-floor";

/**
 * The bench worker's bindings (bench/wrangler.toml): the production worker's, with its objects'
 * bench methods (bench/measured-objects.ts), and the refresh floor's objects.
 */
export type BenchBindings = Omit<Env, "USER_AUTH" | "LOGIN_THROTTLE"> & {
  USER_AUTH: DurableObjectNamespace<UserAuth>;
  LOGIN_THROTTLE: DurableObjectNamespace<LoginThrottle>;
  REFRESH_FLOOR: DurableObjectNamespace<RefreshFloor>;
};

/**
 * The routes that exist only in the bench worker (bench/worker.ts), under `/bench/`: the floors
 * `npm run bench` measures the gateway against, and what it reads back. Each needs
 * `ADMIN_API_TOKEN` (the refresh floor signs access tokens for any user, as
 * `POST /auth/admin/sessions` does). Every other `/bench/...` path goes on to the production
 * worker; the pass-through one is a public path there (bench/wrangler.toml).
 */
export const benchRoutes = new Hono<AppEnv>();

// The configuration and key ring, read as the production worker reads them for its routes. Only
// the bench routes run this: a request that goes on to the production worker is read there, once.
const gatewayContext = createMiddleware<AppEnv>(async function gatewayContext(c, next) {
  const config = requireSettings(c.env);
  c.set("config", config);
  const raw = config.signingKeys;
  c.set("keyRing", raw === null ? null : await loadKeyRing(raw));
  await next();
});

// The floor of a refresh: one RPC to a per-user Durable Object that commits one SQLite write
// (bench/refresh-floor.ts), then the same token response as a refresh, access token signed.
// The admin check costs a few microseconds of the floor's milliseconds.
benchRoutes.post("/refresh-floor", gatewayContext, setsRefreshCookie, requireAdmin, async function refreshFloor(c) {
  const { user } = await jsonObject(c);
  if (typeof user !== "string" || user === "") throw invalidRequest("user is required.");
  keyRing(c);
  // The routes share the production app's context type (the helpers they call take it); the
  // floor's binding is the one the bench worker adds to it.
  const floors = (c.env as BenchBindings).REFRESH_FLOOR;
  const generation = await floors.get(floors.idFromName(user)).rotate();
  // The same claims as a password session's access token: amr and auth_time included.
  const issued = { sub: user, sessionId: user, refreshToken: `floor.${user}.${generation}`, claims: {}, jkt: null, amr: ["pwd" as const], authTime: Date.now(), claimsHook: null };
  return tokenResponse(c, issued);
});

// The floor of an introspection (POST /auth/introspect): the same form and the same Bearer check,
// then one RPC to a per-user Durable Object that reads one SQLite row, and the same answer's
// shape. What an introspection adds to it is the token's verification and the session's lookup.
benchRoutes.post("/introspect-floor", gatewayContext, requireIntrospectionToken, async function introspectFloor(c) {
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const user = form.token;
  if (typeof user !== "string" || user === "") throw invalidRequest("token is required.");
  const floors = (c.env as BenchBindings).REFRESH_FLOOR;
  await floors.get(floors.idFromName(user)).read();
  c.header("Cache-Control", "no-store");
  return c.json({ active: true });
});

// The floor of a federated sign-in (bench/federation-floor.ts), in the protocol's two requests: one
// token request to the provider and one ID token verification, then one session opening.
benchRoutes.post("/federation-floor/callback", gatewayContext, requireAdmin, federationCallbackFloor);
benchRoutes.post("/federation-floor/session", gatewayContext, setsRefreshCookie, requireAdmin, federationSessionFloor);

// The floor of a passkey login (bench/passkey-floor.ts): one ECDSA P-256 verification, then one
// session opening.
benchRoutes.post("/passkey-floor/login", gatewayContext, setsRefreshCookie, requireAdmin, passkeyLoginFloor);

// The floor of a login: one PBKDF2-SHA256 derivation at the production iteration count, as the
// password check of a login does.
benchRoutes.post("/password-floor", gatewayContext, requireAdmin, async function passwordFloor(c) {
  await hashPassword(crypto.randomUUID());
  return c.body(null, 204);
});

const MAX_BATCHES = 20;
const MAX_ITERATIONS = 5_000;

// Times the verification of each token it is given, inside workerd (bench/verify-timing.ts).
benchRoutes.post("/verify", gatewayContext, requireAdmin, async function verifyTiming(c) {
  const { tokens, batches, iterations } = await jsonObject(c);
  if (!Array.isArray(tokens) || !tokens.every((token) => typeof token === "string")) throw invalidRequest("tokens must be strings.");
  if (!isWhole(batches, MAX_BATCHES) || !isWhole(iterations, MAX_ITERATIONS)) {
    throw invalidRequest(`batches (at most ${MAX_BATCHES}) and iterations (at most ${MAX_ITERATIONS}) must be whole numbers.`);
  }
  const ring = keyRing(c);
  const results = [];
  for (const token of tokens as string[]) {
    results.push(await timeVerifications(token, ring, c.get("config"), { batches, iterations }));
  }
  return c.json({ results });
});

// What reached D1 from the users whose ids start with `prefix`: audit events (in all and by type),
// and the version of each session record (it moves with every write of the record); and the
// database's size. A range on `sub` and `user_id`, so that the indexes serve it however big the
// tables are.
benchRoutes.get("/d1-writes", gatewayContext, requireAdmin, async function d1Writes(c) {
  const prefix = c.req.query("prefix");
  if (!prefix) throw invalidRequest("prefix is required.");
  await ensureSchema(c.env.DB);
  // User ids are printable ASCII: every one that starts with `prefix` sorts below this.
  const end = `${prefix}\u{10FFFF}`;
  const [events, records] = await c.env.DB.batch([
    c.env.DB.prepare("SELECT type, count(*) AS n FROM events WHERE sub >= ?1 AND sub < ?2 GROUP BY type").bind(prefix, end),
    c.env.DB.prepare("SELECT id, version FROM sessions WHERE user_id >= ?1 AND user_id < ?2").bind(prefix, end),
  ]);
  const eventTypes = Object.fromEntries((events!.results as Array<{ type: string; n: number }>).map((row) => [row.type, row.n]));
  const versions = Object.fromEntries((records!.results as Array<{ id: string; version: number }>).map((row) => [row.id, row.version]));
  const total = Object.values(eventTypes).reduce((sum, n) => sum + n, 0);
  return c.json({ events: total, eventTypes, versions, databaseBytes: records!.meta.size_after });
});

// The size of a user's `UserAuth` object: what its SQLite database holds, in bytes.
benchRoutes.get("/object-bytes", gatewayContext, requireAdmin, async function objectBytes(c) {
  const user = c.req.query("user");
  if (!user) throw invalidRequest("user is required.");
  const objects = (c.env as unknown as BenchBindings).USER_AUTH;
  return c.json({ bytes: await objects.get(objects.idFromName(user)).benchDatabaseBytes() });
});

const MAX_SEEDED_FAILURES = 10_000;

// Fills the login-limit objects a login of `username` from `ip` counts in (its address's and its
// username's, as src/accounts/login-guard.ts names them) with failed attempts made now, reserved
// through the objects' own methods as that many failed logins would; answers the attempts added
// to each and its size.
benchRoutes.post("/login-failures", gatewayContext, requireAdmin, async function loginFailures(c) {
  const { username, ip, perUsername, perAddress } = await jsonObject(c);
  if (typeof username !== "string" || username === "" || typeof ip !== "string" || ip === "") throw invalidRequest("username and ip are required.");
  if (!isCount(perUsername, MAX_SEEDED_FAILURES) || !isCount(perAddress, MAX_SEEDED_FAILURES)) {
    throw invalidRequest(`perUsername and perAddress must be whole numbers from 0 to ${MAX_SEEDED_FAILURES}.`);
  }
  // The production lookups, typed with the bench methods of the bench worker's class.
  type Stub = DurableObjectStub<LoginThrottle>;
  const byUsername = usernameThrottle(c.env, normalizeUsername(username)) as unknown as Stub;
  const byAddress = addressThrottle(c.env, ipThrottleKey(ip)) as unknown as Stub;
  const [forUsername, forAddress] = await Promise.all([byUsername.benchAddFailures("username", perUsername), byAddress.benchAddFailures("address", perAddress)]);
  return c.json({ perUsername: forUsername, perAddress: forAddress });
});

const MAX_AUDIT_ROWS = 250_000;
/** Rows one INSERT of `/bench/audit-rows` generates; a request's statements go in one `db.batch`. */
const AUDIT_ROWS_PER_STATEMENT = 50_000;
/** The seeded users: a user's events are one in this many rows. */
const AUDIT_USERS = 10_000;

// Seeds `count` audit events into D1 in bulk, `due` of them older than AUDIT_RETENTION_SECONDS
// (the daily purge deletes those), the others spread over the retention period; answers the
// events D1 holds and the database's size. The rows look like the gateway's: a random id and
// session id, mostly `refresh` events of `AUDIT_USERS` users named `bench-audit-<n>`, a detail.
benchRoutes.post("/audit-rows", gatewayContext, requireAdmin, async function auditRows(c) {
  const { count, due } = await jsonObject(c);
  if (!isCount(count, MAX_AUDIT_ROWS) || !isCount(due, MAX_AUDIT_ROWS) || due > count) {
    throw invalidRequest(`count (at most ${MAX_AUDIT_ROWS}) and due (at most count) must be whole numbers.`);
  }
  await ensureSchema(c.env.DB);
  const now = Date.now();
  const retentionMs = c.get("config").auditRetentionSeconds * 1000;
  // Every parameter CAST: D1 binds a JS number as a REAL, which would make `bench-audit-7.0`.
  const insert = c.env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT CAST(?4 AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < CAST(?4 + ?1 AS INTEGER))
     INSERT INTO events (id, type, sub, session_id, at, ip, detail)
     SELECT lower(hex(randomblob(16))),
            CASE i % 20 WHEN 0 THEN 'login' WHEN 1 THEN 'logout' ELSE 'refresh' END,
            'bench-audit-' || (i % ${AUDIT_USERS}),
            lower(hex(randomblob(16))),
            CAST(?2 AS INTEGER) - (i * 7919) % CAST(?3 AS INTEGER),
            '127.0.0.1',
            '{"generation":' || (i % 1000) || '}'
     FROM n`,
  );
  const statements: D1PreparedStatement[] = [];
  const batches = (total: number, end: number, span: number) => {
    for (let offset = 0; offset < total; offset += AUDIT_ROWS_PER_STATEMENT) {
      statements.push(insert.bind(Math.min(AUDIT_ROWS_PER_STATEMENT, total - offset), end, span, offset));
    }
  };
  // Recent rows over the retention period; due ones over the day before it began.
  batches(count - due, now, retentionMs);
  batches(due, now - retentionMs - 1, 86_400_000);
  if (statements.length > 0) await c.env.DB.batch(statements);
  const total = await c.env.DB.prepare("SELECT count(*) AS n FROM events").run<{ n: number }>();
  return c.json({ events: total.results[0]!.n, databaseBytes: total.meta.size_after });
});

// The production worker's daily housekeeping (its `scheduled` handler, as the cron runs it): purges
// the ended session records and the audit events past retention. 204 once it is done.
benchRoutes.post("/housekeeping", gatewayContext, requireAdmin, async function housekeeping(c) {
  const controller: ScheduledController = { scheduledTime: Date.now(), cron: "bench", noRetry() {} };
  await gatewayWorker.scheduled(controller, c.env);
  return c.body(null, 204);
});

// What the EVENTS queue's consumer has done so far (bench/queue-meter.ts) and what waits in the
// queue: the bench reads it to know when everything the objects sent has been handled, and to
// count the D1 calls of the refreshes it sent.
benchRoutes.get("/events-queue", gatewayContext, requireAdmin, async function eventsQueue(c) {
  const { backlogCount } = await c.env.EVENTS.metrics();
  c.header("Cache-Control", "no-store");
  return c.json({ ...queueMeter(), backlog: backlogCount });
});

/** The request's JSON object; 400 for anything else, as the production routes answer. */
async function jsonObject(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const body: unknown = await c.req.json().catch(() => null);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalidRequest("The body must be a JSON object.");
  return body as Record<string, unknown>;
}

function isCount(value: unknown, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max;
}

function isWhole(value: unknown, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max;
}

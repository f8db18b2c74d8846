import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import { hashPassword } from "../src/accounts/passwords";
import { requireSettings } from "../src/config";
import { ensureSchema } from "../src/db/schema";
import { requireAdmin } from "../src/http/admin-token";
import { keyRing, type AppEnv } from "../src/http/context";
import { invalidRequest } from "../src/errors/auth-error";
import { setsRefreshCookie } from "../src/http/refresh-cookie";
import { tokenResponse } from "../src/http/token-response";
import { loadKeyRing } from "../src/tokens/key-ring";
import { queueMeter } from "./queue-meter";
import type { RefreshFloor } from "./refresh-floor";
import { timeVerifications } from "./verify-timing";

/** The bench worker's bindings (bench/wrangler.toml): the production worker's, and the refresh floor's objects. */
export type BenchBindings = Env & { REFRESH_FLOOR: DurableObjectNamespace<RefreshFloor> };

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
  const issued = { sub: user, sessionId: user, refreshToken: `floor.${user}.${generation}`, claims: {}, jkt: null, amr: ["pwd" as const], authTime: Date.now() };
  return tokenResponse(c, issued);
});

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

// What reached D1 from the users whose ids start with `prefix`: audit events, and the version of
// each session record (it moves with every write of the record); and the database's size.
benchRoutes.get("/d1-writes", gatewayContext, requireAdmin, async function d1Writes(c) {
  const prefix = c.req.query("prefix");
  if (!prefix) throw invalidRequest("prefix is required.");
  await ensureSchema(c.env.DB);
  const pattern = `${prefix.replace(/[\\%_]/g, "\\$&")}%`;
  const [events, records] = await c.env.DB.batch([
    c.env.DB.prepare("SELECT count(*) AS n FROM events WHERE sub LIKE ?1 ESCAPE '\\'").bind(pattern),
    c.env.DB.prepare("SELECT id, version FROM sessions WHERE user_id LIKE ?1 ESCAPE '\\'").bind(pattern),
  ]);
  const versions = Object.fromEntries((records!.results as Array<{ id: string; version: number }>).map((row) => [row.id, row.version]));
  return c.json({ events: (events!.results[0] as { n: number }).n, versions, databaseBytes: records!.meta.size_after });
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

function isWhole(value: unknown, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max;
}

import { Hono } from "hono";
import { hashPassword } from "../accounts/passwords";
import { ensureSchema } from "../db/schema";
import { gateway } from "../gateway";
import { requireAdmin } from "../http/admin-token";
import { keyRing, type AppEnv } from "../http/context";
import { invalidRequest } from "../errors/auth-error";
import { setsRefreshCookie } from "../http/refresh-cookie";
import { tokenResponse } from "../http/token-response";
import { timeVerifications } from "./verify-timing";

/**
 * Routes that exist only for `npm run bench` (scripts/bench.mjs), under `/bench/`, answered only
 * while `BENCH_ROUTES` is `true`. Off (the default), every `/bench/...` path is an ordinary
 * gateway path like any other: 401 without an access token. Even on, nothing here gives more
 * than `ADMIN_API_TOKEN` already does: every route but the pass-through requires it (the refresh
 * floor signs access tokens for any user, as `POST /auth/admin/sessions` does), and the
 * pass-through only ever answers with the echo origin, never reaching `ORIGIN_URL` unverified.
 * Still, keep them off in production: `/bench/verify` burns CPU on request.
 */
export const benchRoutes = new Hono<AppEnv>();

const PASS_THROUGH = "/bench/pass-through";

benchRoutes.use("*", async function onlyWhenBenchRoutesAreOn(c, next) {
  if (!c.get("config").benchRoutes) return gateway(c);
  await next();
});

// The gateway's own handling with the access-token check left out: the path counts as public,
// and the echo origin answers (the bench measures the gateway against the echo origin too).
benchRoutes.all("/pass-through/*", function passThrough(c) {
  c.set("config", { ...c.get("config"), publicPathPrefixes: [PASS_THROUGH], originUrl: null });
  return gateway(c);
});

// The floor of a refresh: one RPC to a per-user Durable Object that commits one SQLite write
// (src/bench/refresh-floor.ts), then the same token response as a refresh, access token signed.
// The admin check costs a few microseconds of the floor's milliseconds.
benchRoutes.post("/refresh-floor", setsRefreshCookie, requireAdmin, async function refreshFloor(c) {
  const { user } = await c.req.json<{ user?: unknown }>();
  if (typeof user !== "string" || user === "") throw invalidRequest("user is required.");
  keyRing(c);
  const generation = await c.env.REFRESH_FLOOR.get(c.env.REFRESH_FLOOR.idFromName(user)).rotate();
  return tokenResponse(c, { sub: user, sessionId: user, refreshToken: `floor.${user}.${generation}`, claims: {}, jkt: null });
});

// The floor of a login: one PBKDF2-SHA256 derivation at the production iteration count, as the
// password check of a login does.
benchRoutes.post("/password-floor", requireAdmin, async function passwordFloor(c) {
  await hashPassword(crypto.randomUUID());
  return c.body(null, 204);
});

const MAX_BATCHES = 20;
const MAX_ITERATIONS = 5_000;

// Times the verification of each token it is given, inside workerd (src/bench/verify-timing.ts).
benchRoutes.post("/verify", requireAdmin, async function verifyTiming(c) {
  const body = await c.req.json<{ tokens?: unknown; batches?: unknown; iterations?: unknown }>();
  const { tokens, batches, iterations } = body;
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
benchRoutes.get("/d1-writes", requireAdmin, async function d1Writes(c) {
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

function isWhole(value: unknown, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= max;
}

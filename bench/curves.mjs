// The cost curves of `npm run bench` (bench/run.mjs): how each cost of the gateway grows with the
// work, one point per amount of work, each point measured against one running bench worker.
// Latency points that can be measured side by side take turns in rounds, like the comparisons
// (bench/load.mjs), so a change in the machine's load hits every point alike; the curves whose
// work only grows (audit rows, rotations) are in bench/growth-curves.mjs, measured point after
// point. Each curve returns the charts bench/charts.mjs draws.
import { randomBytes } from "node:crypto";
import { benchClient, inParallel, REQUEST_TIMEOUT_MS } from "./http.mjs";
import { growthCurvesFor } from "./growth-curves.mjs";
import { combine, measure } from "./load.mjs";

const CONCURRENT_USERS = [1, 2, 5, 10, 20, 50, 100, 200];
const LOGIN_ADDRESS = (index) => `127.0.1.${index + 1}`;

/**
 * The curves against the bench worker at `base`. `settings` holds the run's bounds
 * (bench/run.mjs): CURVE_REQUESTS per point, CURVE_ROUNDS, CURVE_SECONDS (each curve's time,
 * split over its points and rounds), AUDIT_ROWS, ROTATIONS, and the bench worker's limits
 * (`limits`: its variables).
 */
export function curvesFor({ base, run, adminToken, settings, log }) {
  const client = benchClient({ base, adminToken });
  const { admin, get, post, json, openSession } = client;
  const { CURVE_REQUESTS, CURVE_ROUNDS, CURVE_SECONDS, limits } = settings;
  const growth = growthCurvesFor({ base, run, client, settings, log, refreshChain });
  return { all, sessionsPerUser, usersAtOnce, tokenSize, loginCounters, ...growth };

  /** Every curve, one after another, the D1 one last (it grows D1 the most): the charts, and each curve's seconds. */
  async function all() {
    const charts = [];
    const seconds = {};
    const timed = async (name, curve) => {
      const started = performance.now();
      const result = await curve();
      seconds[name] = Math.round((performance.now() - started) / 1000);
      return result;
    };
    charts.push(...(await timed("tokenSize", tokenSize)));
    charts.push(...(await timed("sessionsPerUser", sessionsPerUser)));
    charts.push(...(await timed("usersAtOnce", usersAtOnce)));
    charts.push(...(await timed("rotations", growth.rotations)));
    charts.push(...(await timed("loginCounters", loginCounters)));
    const audit = await timed("auditRows", growth.auditRows);
    charts.push(...audit.charts);
    return { seconds, auditSeedingSeconds: Math.round(audit.seedingSeconds), charts };
  }

  /**
   * Refresh latency against the sessions in the user's object, 1 to MAX_SESSIONS_PER_USER, one
   * client refreshing the user's sessions in turn; and the object's storage per user.
   */
  async function sessionsPerUser() {
    const cap = limits.maxSessionsPerUser;
    const counts = [...new Set([1, 2, 5, 10, 20, 50, cap].filter((count) => count <= cap))].sort((a, b) => a - b);
    log(`curve: refresh against sessions per user (${counts.join(", ")})`);
    const bytesOf = async (sub) => (await json(await get(`${base}/bench/object-bytes?user=${sub}`, admin()))).bytes;
    // An object that has never held a session: its schema, which every user's object carries.
    const empty = await bytesOf(`bench-curve-sessions-${run}-0`);
    const users = [];
    for (const count of counts) {
      const sub = `bench-curve-sessions-${run}-${count}`;
      const chains = await inParallel(count, 8, async () => (await openSession(sub)).refresh_token);
      users.push({ count, sub, chains, next: 0, bytes: await bytesOf(sub) });
    }
    const samples = await inRounds(users, (user, seconds, warm) =>
      measure(() => refreshChain(user.chains, user.next++ % user.count), { concurrency: 1, limit: warm ? 1 : perRound(), seconds }),
    );
    const latency = samples.map((sample) => combine(sample));
    const perSession = (users.at(-1).bytes - users[0].bytes) / 1024 / Math.max(1, users.at(-1).count - users[0].count);
    return [
      latencyChart("refresh-vs-sessions", "Refresh latency against the sessions in the user's object", "sessions in the user's UserAuth object", "", counts, latency, "linear",
        `one client refreshing each session in turn, ${latency[0].requests}+ refreshes per point`),
      {
        id: "storage-per-user",
        title: "Storage of a user's object against its sessions",
        subtitle: `UserAuth's SQLite database (ctx.storage.sql.databaseSize, whole 4 KB pages): ${(empty / 1024).toFixed(0)} KB without sessions, ${perSession.toFixed(2)} KB per session from 1 to ${cap}`,
        x: { label: "sessions in the user's UserAuth object", unit: "", scale: "linear" },
        y: { label: "storage of the user's object", unit: "KB" },
        series: [{ name: "user's object", points: users.map((user) => [user.count, user.bytes / 1024]) }],
        emptyObjectBytes: empty,
        kbPerSession: perSession,
      },
    ];
  }

  /** Refresh latency and throughput against users refreshing at once, 1 to 200, each client its own user. */
  async function usersAtOnce() {
    const most = Math.max(...CONCURRENT_USERS);
    log(`curve: refresh against users refreshing at once (${CONCURRENT_USERS.join(", ")})`);
    const chains = await inParallel(most, 10, async (index) => (await openSession(`bench-curve-concurrent-${run}-${index}`)).refresh_token);
    const points = CONCURRENT_USERS.map((clients) => ({ clients }));
    const samples = await inRounds(points, ({ clients }, seconds, warm) =>
      measure((index) => refreshChain(chains, index), { concurrency: clients, limit: warm ? clients : Math.max(perRound(), 2 * clients), seconds }),
    );
    const latency = samples.map((sample) => combine(sample));
    return [
      latencyChart("refresh-vs-concurrent-users", "Refresh latency against users refreshing at once", "users refreshing at once", "", CONCURRENT_USERS, latency, "linear",
        "each client its own user, refreshing back to back, all served by one machine"),
    ];
  }

  /**
   * The gateway's access-token verification against the token's size: sessions opened with
   * custom claims of 0 to 4,000 bytes of JSON (the admin route's cap is 4,096), each access token
   * timed inside workerd by `/bench/verify` against the floor (a bare `crypto.subtle.verify`).
   */
  async function tokenSize() {
    const claimBytes = [0, 500, 1_000, 2_000, 3_000, 4_000];
    log(`curve: verification against token size (claims of ${claimBytes.join(", ")} bytes)`);
    const tokens = [];
    for (const bytes of claimBytes) {
      // {"pad":"..."} is 10 bytes of JSON around the padding.
      const claims = bytes === 0 ? undefined : { pad: "x".repeat(bytes - 10) };
      tokens.push((await openSession(`bench-curve-token-${run}-${bytes}`, claims)).access_token);
    }
    const { results } = await json(
      await post(`${base}/bench/verify`, { tokens, batches: settings.VERIFY_BATCHES, iterations: settings.VERIFY_ITERATIONS }, 300_000, admin()),
    );
    const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const series = (name, verifier) => ({ name, points: tokens.map((token, index) => [token.length, median(results[index][verifier])]) });
    return [
      {
        id: "verify-vs-token-size",
        title: "Access-token verification against the token's size",
        subtitle: `ES256, inside workerd, median of ${settings.VERIFY_BATCHES} batches of ${settings.VERIFY_ITERATIONS}; claims of 0 to 4,000 bytes of JSON`,
        x: { label: "access token", unit: "bytes", scale: "linear" },
        y: { label: "time per verification", unit: "µs" },
        series: [series("this gateway", "gateway"), series("Hono verifyWithJwks", "hono"), series("bare crypto.subtle.verify", "floor")],
      },
    ];
  }

  /**
   * Login latency against the failed attempts the login-limit objects hold: per point a user and
   * a client address of its own, whose per-address object is filled with that many failed
   * attempts (up to LOGIN_MAX_FAILURES_PER_IP - 1) and its per-username one with as many as its
   * limit leaves room for; then right-password logins, the points taking turns, next to a bare
   * PBKDF2 (the floor) in the same rounds.
   */
  async function loginCounters() {
    const perAddressCap = limits.maxFailuresPerIp - 1;
    const held = [...new Set([0, 10, 50, 100, 250, 500, perAddressCap].filter((count) => count <= perAddressCap))].sort((a, b) => a - b);
    log(`curve: login against failed attempts held (${held.join(", ")})`);
    const password = randomBytes(12).toString("hex");
    const points = [];
    for (const [index, attempts] of held.entries()) {
      const username = `bench.curve.login.${run}.${index}`;
      const registered = await post(`${base}/auth/register`, { username, password });
      if (registered.status !== 201) throw new Error(`POST /auth/register answered ${registered.status}: ${await registered.text()}`);
      const ip = LOGIN_ADDRESS(index);
      const seeded = await json(
        await post(`${base}/bench/login-failures`, { username, ip, perUsername: Math.min(attempts, limits.maxFailuresPerUsername - 1), perAddress: attempts }, REQUEST_TIMEOUT_MS, admin()),
      );
      points.push({ attempts, username, ip, seeded, send: () => post(`${base}/auth/login`, { username, password }, REQUEST_TIMEOUT_MS, { "CF-Connecting-IP": ip }) });
    }
    const floor = { attempts: null, send: () => post(`${base}/bench/password-floor`, {}, REQUEST_TIMEOUT_MS, admin()) };
    const logins = Math.max(2, Math.round(perRound() / 5));
    const samples = await inRounds([...points, floor], (point, seconds, warm) => measure(point.send, { concurrency: 1, limit: warm ? 1 : logins, seconds }));
    const latency = samples.map((sample) => combine(sample));
    const chart = latencyChart("login-vs-failed-attempts", "Login latency against the failed attempts the login limits hold", "failed attempts held in the login's per-address object", "", held, latency.slice(0, -1), "linear",
      `right password, one client; the per-username object holds up to ${limits.maxFailuresPerUsername - 1} of them`);
    chart.series.push({ name: "one PBKDF2 (floor)", points: held.map((attempts) => [attempts, latency.at(-1).p50]) });
    chart.data = points.map(({ attempts, seeded }) => ({ attempts, perUsername: seeded.perUsername, perAddress: seeded.perAddress }));
    return [chart];
  }

  /** Requests per point and round. */
  function perRound() {
    return Math.max(1, Math.ceil(CURVE_REQUESTS / CURVE_ROUNDS));
  }

  /**
   * `CURVE_ROUNDS` rounds, each measuring every point once (in a rotating order), after a
   * warm-up not kept (`warm`: a request per client; the first requests to a new object or
   * connection are not the cost measured); each point's samples. `measurePoint(point, seconds,
   * warm)` gets its share of CURVE_SECONDS. On a machine too slow for that, rounds stop once the
   * curve has had twice its time, after at least one.
   */
  async function inRounds(points, measurePoint) {
    const seconds = CURVE_SECONDS / (points.length * CURVE_ROUNDS);
    const deadline = performance.now() + 2 * CURVE_SECONDS * 1000;
    for (const point of points) await measurePoint(point, seconds, true);
    const samples = points.map(() => []);
    for (let round = 0; round < CURVE_ROUNDS && (round === 0 || performance.now() < deadline); round += 1) {
      for (let turn = 0; turn < points.length; turn += 1) {
        const index = (turn + round) % points.length;
        samples[index].push(await measurePoint(points[index], seconds, false));
      }
    }
    return samples;
  }

  /** Refreshes chain `index` of `chains`, keeping the successor. */
  async function refreshChain(chains, index) {
    const response = await client.refresh(chains[index]);
    if (response.ok) chains[index] = (await response.clone().json()).refresh_token;
    return response;
  }
}

/** A chart of p50 and p99 latency (ms) against `xs`, one `combine`d sample per point. */
function latencyChart(id, title, xLabel, xUnit, xs, latency, scale, subtitle) {
  return {
    id,
    title,
    subtitle,
    x: { label: xLabel, unit: xUnit, scale },
    y: { label: "latency", unit: "ms" },
    series: [
      { name: "p50", points: xs.map((value, index) => [value, latency[index].p50]) },
      { name: "p99", points: xs.map((value, index) => [value, latency[index].p99]) },
    ],
    samples: xs.map((value, index) => ({ x: value, ...latency[index] })),
  };
}

#!/usr/bin/env node
// npm run bench [-- --help]
//
// Measures the gateway against floors and peers from the same run, only over 127.0.0.1, with the
// bench worker (bench/worker.ts: the production worker plus the bench routes, bench/wrangler.toml)
// and the peers' workers (bench/peers/) under `wrangler dev`, each on a free port with its own
// temporary state:
//   1. access-token verification inside workerd, ES256 and EdDSA: a bare crypto.subtle.verify of
//      the token's bytes (the floor) vs this gateway's verifier vs Hono's verifyWithJwks;
//   2. the gateway (access token verified, echo origin) vs the same worker's pass-through path
//      (a public path: no verification), at 8 and 32 connections;
//   3. POST /auth/refresh vs its floor (one Durable Object RPC with one SQLite write, plus the
//      access token) and vs the refresh grant of each peer, with 1, 10 and 100 users refreshing,
//      50 clients on one user (floor only), and the D1 statements the refreshes caused;
//   4. POST /auth/login vs its floor (one PBKDF2-SHA256 at the production iteration count);
//   5. again with AUDIT_REFRESH_EVENTS=false and no reuse grace (a second wrangler dev, `--var`):
//      refresh vs floor at 10 users and its D1 statements;
//   6. the production deploy bundle's size and `wrangler check startup`'s startup profile (offline);
//   7. the gateway with a DPoP-bound access token (Authorization: DPoP plus a proof, RFC 9449) vs
//      the same request with a plain Bearer token, at 8 connections;
//   8. the gateway signing what it forwards (ORIGIN_SIGNING_SECRET, `--var`) vs not: two more
//      wrangler dev of the same worker, started together beside the first, at 8 connections;
//   9. the race: one refresh token sent by 50 requests at once, to this gateway with its grace
//      window (first server) and without (second server), and to each peer;
//  10. the cost curves (bench/curves.mjs), written as data and SVG charts into docs/charts/;
//  11. a sign-in through the local oidc-provider, started here: callback + /auth/token vs its floor;
//  12. POST /auth/introspect vs its floor; a refresh with the claims hook due vs not (two servers).
//  13. the EVENTS queue (bench/events-queue.mjs): the D1 calls of 1,000 refreshes with
//      per-rotation events on (one per queue batch), and a burst of 1,000 reuse events reaching
//      a webhook receiver on 127.0.0.1 (bench/webhook-receiver.mjs), complete and de-duplicable,
//      with the time it took; the first server delivers its webhooks there throughout;
//  14. a passkey login (bench/scenarios/passkeys.mjs) vs its floor (one ECDSA P-256 verification,
//      then the session opening every way in pays).
// In bench/scenarios.mjs, race.mjs, curves.mjs, events-queue.mjs and scenarios/, each bounded in
// requests and seconds, the run to 12 minutes; it prints the report, saves it in .bench/ and stops
// its servers.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/dev-vars.mjs";
import { newSigningKey } from "../scripts/lib/signing-keys.mjs";
import { runWrangler, wranglerOutput } from "../scripts/lib/wrangler.mjs";
import { writeCapacity } from "./capacity.mjs";
import { writeCharts } from "./charts.mjs";
import { curvesFor } from "./curves.mjs";
import { PEERS, peerClient, peerConfig } from "./peers.mjs";
import { eventsQueueScenario } from "./events-queue.mjs";
import { raceGateway, raceOnOneToken } from "./race.mjs";
import { report } from "./report.mjs";
import { REFRESH_CASES, scenariosFor } from "./scenarios.mjs";
import { federationComparison, federationVars, startLocalIdp } from "./scenarios/federation.mjs";
import { passkeyComparison } from "./scenarios/passkeys.mjs";
import { claimsParts } from "./scenarios/claims.mjs";
import { benchWorkerLimits, logTails, serverPaths, startServer, stopAll } from "./servers.mjs";
import { startWebhookReceiver } from "./webhook-receiver.mjs";

// The bench worker's config; `wrangler check startup` (scenario 6) reads the production one.
const BENCH_CONFIG = join(ROOT, "bench", "wrangler.toml");
const PARTS = ["build", "verify", "gateway", "signing", "dpop", "introspection", "claims-hook", "refresh", "race", "login", "curves", "events-off", "federation", "events-queue", "passkey"];

// Each option: its default, its value under --smoke, what it bounds.
const OPTIONS = {
  requests: ["3000", "20", "requests per gateway and pass-through scenario"],
  "refresh-requests": ["1000", "20", "requests per refresh, refresh-floor and peer scenario"],
  "login-requests": ["300", "10", "requests per login and PBKDF2 scenario"],
  seconds: ["6", "2", "time bound of each side of a comparison, split over the rounds (its warm-up: a quarter more)"],
  rounds: ["20", "1", "turns the sides of each comparison take (at most; fewer with many clients)"],
  warmup: ["100", "0", "requests before each scenario, not measured"],
  "verify-requests": ["4", "1", "requests to /bench/verify"],
  "verify-batches": ["5", "1", "timed batches per verifier, algorithm and request"],
  "verify-iterations": ["1000", "100", "verifications per batch"],
  "curve-requests": ["150", "6", "requests per point of a latency curve (logins: a fifth)"],
  "curve-rounds": ["2", "1", "turns the points of a latency curve take"],
  "curve-seconds": ["12", "3", "time bound of each curve's measurements, split over its points and rounds"],
  "audit-rows": ["1000000", "20000", "audit events the D1 curve seeds, at most"],
  rotations: ["1000", "20", "generations the storage curve rotates one session through"],
  "sign-ins": ["200", "4", "federated sign-ins per side of scenario 11"],
  "queue-refreshes": ["1000", "20", "refreshes whose D1 calls scenario 12 counts"],
  "burst-users": ["1000", "20", "users whose reuse events scenario 12 sends to the webhook receiver at once"],
};
const { values: options } = parseArgs({
  options: {
    ...Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: "string" }])),
    only: { type: "string" },
    smoke: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (options.help) {
  console.log(
    "Usage: npm run bench [-- options]\n" +
      `${Object.entries(OPTIONS).map(([name, [fallback, smoke, what]]) => `  --${name} ${fallback} (${smoke} with --smoke): ${what}`).join("\n")}\n` +
      `  --only PART[,PART...]: run only these parts (${PARTS.join(", ")}); the report holds what ran and is not saved (the charts are)\n` +
      "  --smoke: every scenario once with tiny bounds (about two minutes), to check that the bench runs; the figures mean nothing and are not saved",
  );
  process.exit(0);
}
const SMOKE = options.smoke === true;
const ONLY = options.only === undefined ? null : options.only.split(",").map((part) => part.trim());
for (const part of ONLY ?? []) {
  if (!PARTS.includes(part)) {
    console.error(`bench: --only takes ${PARTS.join(", ")}; not ${part}.`);
    process.exit(2);
  }
}
const runs = (part) => ONLY === null || ONLY.includes(part);
const number = (name, min, max) => {
  const [fallback, smoke] = OPTIONS[name];
  const value = Number(options[name] ?? (SMOKE ? smoke : fallback));
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`bench: --${name} must be a whole number from ${min} to ${max}.`);
    process.exit(2);
  }
  return value;
};
const settings = {
  REQUESTS: number("requests", 10, 100_000),
  REFRESH_REQUESTS: number("refresh-requests", 10, 100_000),
  LOGIN_REQUESTS: number("login-requests", 10, 100_000),
  SECONDS: number("seconds", 1, 120),
  ROUNDS: number("rounds", 1, 20),
  WARMUP: number("warmup", 0, 10_000),
  VERIFY_REQUESTS: number("verify-requests", 1, 20),
  VERIFY_BATCHES: number("verify-batches", 1, 20),
  VERIFY_ITERATIONS: number("verify-iterations", 10, 5_000),
  CURVE_REQUESTS: number("curve-requests", 1, 10_000),
  CURVE_ROUNDS: number("curve-rounds", 1, 20),
  CURVE_SECONDS: number("curve-seconds", 1, 300),
  AUDIT_ROWS: number("audit-rows", 1_000, 5_000_000),
  ROTATIONS: number("rotations", 10, 100_000),
  SIGN_INS: number("sign-ins", 2, 5_000),
  QUEUE_REFRESHES: number("queue-refreshes", 10, 100_000),
  BURST_USERS: number("burst-users", 1, 10_000),
};

// However the machine behaves, the run ends: past this, every server is stopped and the bench fails.
const DEADLINE_SECONDS = 720;

const state = mkdtempSync(join(tmpdir(), "edge-auth-bench-"));
const logPath = join(state, "wrangler.log");
const adminToken = randomBytes(32).toString("hex");
const run = randomBytes(4).toString("hex");

/** Scenario 11's upstream provider and scenario 12's webhook receiver, when they run. */
let idp = null;
let receiver = null;
const stop = async () => {
  await Promise.all([stopAll(), idp?.stop(), receiver?.close()]);
  rmSync(state, { recursive: true, force: true });
};
process.on("SIGINT", () => void stop().then(() => process.exit(130)));
process.on("SIGTERM", () => void stop().then(() => process.exit(143)));
// Orphaned (npm killed, its `sh -c` gone): stop the detached servers instead of leaving them running.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop().then(() => process.exit(143));
}, 1_000).unref();
const results = { at: new Date().toISOString(), node: process.versions.node, loadAverage: { atStart: loadAverage(), atEnd: null }, settings, partSeconds: {} };
const startedAt = performance.now();
setTimeout(() => {
  // What was measured is still worth reading: which parts ran, how long each took.
  console.error(`bench: still running after ${DEADLINE_SECONDS} s; stopping. What ran:`);
  results.seconds = DEADLINE_SECONDS;
  results.loadAverage.atEnd = loadAverage();
  try {
    console.log(report(results));
  } catch {}
  void stop().then(() => process.exit(1));
}, DEADLINE_SECONDS * 1000).unref();

try {
  const timed = async (part, task) => {
    const partStarted = performance.now();
    const result = await task();
    results.partSeconds[part] = Math.round((performance.now() - partStarted) / 1000);
    return result;
  };
  const limitsRead = benchWorkerLimits(BENCH_CONFIG);
  if (runs("build")) results.build = await timed("build", startupProfile);

  // Keys of the bench's own: an ES256 key that signs and an EdDSA key that verifies, so both
  // algorithms can be timed. With --env-file, wrangler reads this file instead of .dev.vars.
  const keys = { ES256: await newSigningKey({ alg: "ES256", kid: `bench-es256-${run}` }), EdDSA: await newSigningKey({ alg: "EdDSA", kid: `bench-eddsa-${run}` }) };
  // Scenario 12's webhook receiver: the first server delivers to it, its secret goes with the others.
  if (runs("events-queue")) receiver = await startWebhookReceiver();
  const envFile = join(state, "bench.env");
  const webhookSecret = receiver ? `WEBHOOK_SECRET=${receiver.secret}\n` : "";
  writeFileSync(envFile, `SIGNING_KEYS='${JSON.stringify({ keys: [keys.ES256, keys.EdDSA] })}'\nADMIN_API_TOKEN=${adminToken}\n${webhookSecret}`, { mode: 0o600 });

  log(`applying D1 migrations to ${state}`);
  const migrated = await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state, "--config", BENCH_CONFIG], { quiet: true });
  if (migrated !== 0) throw new Error(`wrangler d1 migrations apply failed (exit ${migrated})`);

  const benchServer = (vars) => {
    log(`starting wrangler dev with the bench worker${vars.length > 0 ? ` and ${vars.join(" ")}` : ""}`);
    return startServer({
      config: BENCH_CONFIG,
      persistTo: state,
      logPath,
      readyPath: "/.well-known/jwks.json",
      extra: () => ["--env-file", envFile, ...vars.flatMap((value) => ["--var", value])],
    });
  };
  const withPeers = runs("refresh") || runs("race");
  // The peers start beside the first server, each from its own folder and state, and so do the
  // two servers of scenario 8 (with a state of their own: it reads nothing stored), together, so
  // that its sides differ in the secret alone, not in which process is older or holds more state.
  const signingServer = (name, vars) =>
    startServer({ ...serverPaths(state, name), config: BENCH_CONFIG, readyPath: "/.well-known/jwks.json", extra: () => ["--env-file", envFile, ...vars.flatMap((value) => ["--var", value])] });
  idp = runs("federation") ? await startLocalIdp() : null;
  const [first, signingServers, ...peerServers] = await Promise.all([
    benchServer([...(idp ? federationVars(idp.issuer) : []), ...(receiver ? [`WEBHOOK_URL:${receiver.url}`] : [])]),
    runs("signing") ? Promise.all([signingServer("signing-off", []), signingServer("signing-on", [`ORIGIN_SIGNING_SECRET:${randomBytes(32).toString("base64url")}`])]) : null,
    ...(withPeers ? PEERS : []).map((peer) => {
      log(`starting wrangler dev with the peer ${peer.package}`);
      return startServer({
        config: peerConfig(peer),
        ...serverPaths(state, `peer-${peer.key}`),
        readyPath: "/.well-known/oauth-authorization-server",
        extra: (base) => (peer.needsIssuer ? ["--var", `ISSUER:${base}`] : []),
      });
    }),
  ]);
  const peers = peerServers.map((server, index) => peerClient(PEERS[index], server.base));
  results.limits = await limitsRead;
  const bench = scenariosFor({ base: first.base, run, adminToken, settings, log });
  if (runs("verify")) results.verification = await timed("verify", () => bench.verifyTimings(keys));
  if (runs("gateway")) results.gateway = await timed("gateway", () => bench.gatewayComparisons());
  if (signingServers) {
    const [off, on] = signingServers;
    results.signing = await timed("signing", () => bench.signingComparison(off.base, on.base));
    await Promise.all([off.stop(), on.stop()]);
  }
  if (runs("dpop")) results.dpop = await timed("dpop", () => bench.dpopComparison());
  Object.assign(results, await claimsParts({ runs, timed, base: first.base, state, envFile, config: BENCH_CONFIG, run, adminToken, settings, log }));
  if (runs("refresh")) results.refresh = await timed("refresh", () => bench.refreshComparisons(REFRESH_CASES, `bench-refresh-${run}-on-`, peers));
  if (runs("race")) {
    results.race = [await raceGateway({ base: first.base, adminToken, name: "this gateway, REFRESH_REUSE_GRACE_SECONDS=10", sub: `bench-race-${run}-grace`, log })];
    for (const peer of peers) {
      log(`race: 50 refreshes of one token at once, ${peer.name}`);
      const open = async () => {
        const session = await peer.openSession(`bench-race-${run}`);
        return { ...session, token: session.refreshToken };
      };
      results.race.push({ name: peer.name, ...(await raceOnOneToken({ open, refresh: (session, token) => peer.refreshWith(session, token) })) });
    }
  }
  await Promise.all(peerServers.map((server) => server.stop()));
  if (runs("login")) results.login = await timed("login", () => bench.loginComparison());
  if (idp) results.federation = await timed("federation", () => federationComparison({ base: first.base, idp: idp.issuer, adminToken, run, settings, log }));
  if (runs("passkey")) results.passkey = await timed("passkey", () => passkeyComparison({ base: first.base, adminToken, run, settings, log }));
  if (runs("curves")) results.curves = await timed("curves", () => curvesFor({ base: first.base, run, adminToken, settings: { ...settings, limits: results.limits }, log }).all());
  if (receiver) results.eventsQueue = await timed("events-queue", () => eventsQueueScenario({ base: first.base, adminToken, run, settings, log, receiver }));
  await first.stop();

  if (runs("events-off") || runs("race")) {
    // A second server of the same worker and state, with per-rotation audit events off and no
    // reuse grace. Neither changes a rotation of the current token (rule 3), all the
    // comparison sends; the race shows what no grace does.
    const second = await benchServer(["AUDIT_REFRESH_EVENTS:false", "REFRESH_REUSE_GRACE_SECONDS:0"]);
    const strict = scenariosFor({ base: second.base, run, adminToken, settings, log });
    if (runs("events-off")) results.refreshWithoutEvents = await timed("events-off", () => strict.refreshComparisons([REFRESH_CASES[1]], `bench-refresh-${run}-off-`));
    if (runs("race")) results.race.splice(1, 0, await raceGateway({ base: second.base, adminToken, name: "this gateway, REFRESH_REUSE_GRACE_SECONDS=0", sub: `bench-race-${run}-strict`, log }));
    await second.stop();
  }

  results.seconds = Math.round((performance.now() - startedAt) / 1000);
  results.loadAverage.atEnd = loadAverage();
  const text = report(results);
  console.log(`\n${text}`);
  if (results.curves) {
    // A smoke run's figures mean nothing: its charts only show that the drawing works.
    const dir = SMOKE ? join(ROOT, ".bench", "charts") : join(ROOT, "docs", "charts");
    writeCharts(results.curves.charts, dir);
    log(`charts written to ${dir}`);
    // The capacity model of docs/scale.md reads the charts: it follows them, or its test fails.
    if (!SMOKE && writeCapacity().changed) log("docs/scale.md: capacity tables rewritten from the new charts");
  }
  if (SMOKE || ONLY !== null) {
    log(`${SMOKE ? "smoke" : "partial"} run: ${ONLY === null ? "every scenario" : ONLY.join(", ")} ran (${results.seconds} s in all); not saved`);
  } else {
    const dir = join(ROOT, ".bench");
    mkdirSync(dir, { recursive: true });
    const stamp = results.at.replace(/[:.]/g, "-");
    writeFileSync(join(dir, `bench-${stamp}.md`), `${text}\n`);
    writeFileSync(join(dir, `bench-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
    log(`saved to .bench/bench-${stamp}.md and .json (${results.seconds} s in all)`);
  }
  const comparisons = [...(results.gateway ?? []), results.signing, results.dpop, results.introspection, results.claimsHook, ...(results.refresh?.comparisons ?? []), ...(results.refreshWithoutEvents?.comparisons ?? []), results.login];
  const errors = comparisons.filter(Boolean).flatMap((pair) => pair.scenarios).filter((scenario) => scenario.errors > 0);
  for (const scenario of errors) log(`${scenario.name}: ${scenario.errors} unexpected answers, e.g. ${scenario.firstError}`);
  if (errors.length > 0) process.exitCode = 1;
} catch (error) {
  console.error(`bench: ${error.message}`);
  console.error(logTails(state));
  process.exitCode = 1;
} finally {
  await stop();
}

/**
 * 6. `wrangler check startup` with the production config (wrangler.toml): builds the deploy
 * bundle, which carries no bench code, and profiles its startup in local workerd, offline.
 */
async function startupProfile() {
  log("wrangler check startup (bundle size and startup profile)");
  const { code, output } = await wranglerOutput(["check", "startup", "--outfile", join(state, "startup.cpuprofile")]);
  const bundle = /Bundle: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  const active = /Active: ([\d.]+) ms/.exec(output);
  if (code !== 0 || !bundle) return { ok: false, problem: `wrangler check startup exited ${code}: ${output.trim().split("\n").slice(-3).join(" ")}` };
  return { ok: true, bundleKiB: Number(bundle[1]), gzipKiB: Number(bundle[2]), startupMs: active ? Number(active[1]) : null };
}

/** The machine's load average over 1, 5 and 15 minutes: the bench shares the machine with whatever else runs. */
function loadAverage() {
  return loadavg().map((value) => Number(value.toFixed(2)));
}

function log(message) {
  console.error(`bench: ${message}`);
}

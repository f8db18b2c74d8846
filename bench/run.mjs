#!/usr/bin/env node
// npm run bench [-- --help]
//
// Measures the gateway against floors from the same run, only over 127.0.0.1, with the bench
// worker (bench/worker.ts: the production worker plus the bench routes, bench/wrangler.toml) under
// `wrangler dev` on a free port with its own temporary state:
//   1. access-token verification inside workerd, ES256 and EdDSA: a bare crypto.subtle.verify of
//      the token's bytes (the floor) vs this gateway's verifier vs Hono's verifyWithJwks;
//   2. the gateway (access token verified, echo origin) vs the same worker's pass-through path
//      (a public path: no verification), at 8 and 32 connections;
//   3. POST /auth/refresh vs its floor (one Durable Object RPC with one SQLite write, plus the
//      access token), with 1, 10 and 100 users refreshing and 50 clients on one user, and the D1
//      statements the refreshes caused;
//   4. POST /auth/login vs its floor (one PBKDF2-SHA256 at the production iteration count);
//   5. again with AUDIT_REFRESH_EVENTS=false (a second wrangler dev, `--var`): refresh vs floor at
//      10 users and its D1 statements;
//   6. the production deploy bundle's size and `wrangler check startup`'s startup profile (offline);
//   7. the gateway with a DPoP-bound access token (Authorization: DPoP plus a proof, RFC 9449) vs
//      the same request with a plain Bearer token, at 8 connections;
//   8. the EVENTS queue: the D1 calls of 1,000 refreshes with per-rotation events on (one per queue
//      batch), and a burst of 1,000 reuse events reaching a local webhook receiver, complete and
//      de-duplicable, with the time it took.
// The scenarios are in bench/scenarios.mjs. Every one is bounded in requests and in seconds, the
// run as a whole to 12 minutes; a run takes four to five on a quiet machine. It prints the report, saves it in .bench/
// (gitignored) as Markdown and JSON, and stops wrangler.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/dev-vars.mjs";
import { newSigningKey } from "../scripts/lib/signing-keys.mjs";
import { freePort, localDevArgs, runWrangler, startWrangler, stopProcessGroup, waitUntilReady, wranglerOutput } from "../scripts/lib/wrangler.mjs";
import { report } from "./report.mjs";
import { startWebhookReceiver } from "./webhook-receiver.mjs";
import { REFRESH_CASES, scenariosFor } from "./scenarios.mjs";

// The bench worker's config; `wrangler check startup` (scenario 6) reads the production one.
const BENCH_CONFIG = join(ROOT, "bench", "wrangler.toml");

// Each option: its default, its value under --smoke, what it bounds.
const OPTIONS = {
  requests: ["3000", "20", "requests per gateway and pass-through scenario"],
  "refresh-requests": ["1000", "20", "requests per refresh and refresh-floor scenario"],
  "login-requests": ["300", "10", "requests per login and PBKDF2 scenario"],
  seconds: ["15", "2", "time bound of each scenario, split over the rounds"],
  rounds: ["20", "1", "turns the two sides of each comparison take (at most; fewer with many clients)"],
  warmup: ["100", "0", "requests before each scenario, not measured"],
  "verify-requests": ["4", "1", "requests to /bench/verify"],
  "verify-batches": ["5", "1", "timed batches per verifier, algorithm and request"],
  "verify-iterations": ["1000", "100", "verifications per batch"],
  "queue-refreshes": ["1000", "20", "refreshes whose D1 calls scenario 8 counts"],
  "burst-users": ["1000", "20", "users whose reuse events scenario 8 sends to the webhook receiver at once"],
};
const { values: options } = parseArgs({
  options: {
    ...Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: "string" }])),
    smoke: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (options.help) {
  console.log(
    "Usage: npm run bench [-- options]\n" +
      `${Object.entries(OPTIONS).map(([name, [fallback, smoke, what]]) => `  --${name} ${fallback} (${smoke} with --smoke): ${what}`).join("\n")}\n` +
      "  --smoke: every scenario once with tiny bounds (about a minute), to check that the bench runs; the figures mean nothing and are not saved",
  );
  process.exit(0);
}
const SMOKE = options.smoke === true;
const number = (name, min, max) => {
  const [fallback, smoke] = OPTIONS[name];
  const value = Number(options[name] ?? (SMOKE ? smoke : fallback));
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`bench: --${name} must be a whole number from ${min} to ${max}.`);
    process.exit(2);
  }
  return value;
};
const REQUESTS = number("requests", 10, 100_000);
const REFRESH_REQUESTS = number("refresh-requests", 10, 100_000);
const LOGIN_REQUESTS = number("login-requests", 10, 100_000);
const SECONDS = number("seconds", 1, 120);
const ROUNDS = number("rounds", 1, 20);
const WARMUP = number("warmup", 0, 10_000);
const VERIFY_REQUESTS = number("verify-requests", 1, 20);
const VERIFY_BATCHES = number("verify-batches", 1, 20);
const VERIFY_ITERATIONS = number("verify-iterations", 10, 5_000);
const QUEUE_REFRESHES = number("queue-refreshes", 10, 100_000);
const BURST_USERS = number("burst-users", 1, 10_000);
const settings = { REQUESTS, REFRESH_REQUESTS, LOGIN_REQUESTS, SECONDS, ROUNDS, WARMUP, VERIFY_REQUESTS, VERIFY_BATCHES, VERIFY_ITERATIONS, QUEUE_REFRESHES, BURST_USERS };

// However the machine behaves, the run ends: past this, wrangler is stopped and the bench fails.
const DEADLINE_SECONDS = 720;

const state = mkdtempSync(join(tmpdir(), "edge-auth-bench-"));
const logPath = join(state, "wrangler.log");
const adminToken = randomBytes(32).toString("hex");
const run = randomBytes(4).toString("hex");
let wrangler = null;
let receiver = null;

process.on("SIGINT", () => void stop().then(() => process.exit(130)));
process.on("SIGTERM", () => void stop().then(() => process.exit(143)));
// Orphaned (npm killed, its `sh -c` gone): stop the detached wrangler instead of leaving it running.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop().then(() => process.exit(143));
}, 1_000).unref();

setTimeout(() => {
  console.error(`bench: still running after ${DEADLINE_SECONDS} s; stopping.`);
  void stop().then(() => process.exit(1));
}, DEADLINE_SECONDS * 1000).unref();

try {
  const startedAt = performance.now();
  const build = await startupProfile();

  // Keys of the bench's own: an ES256 key that signs and an EdDSA key that verifies, so both
  // algorithms can be timed. With --env-file, wrangler reads this file instead of .dev.vars.
  const keys = { ES256: await newSigningKey({ alg: "ES256", kid: `bench-es256-${run}` }), EdDSA: await newSigningKey({ alg: "EdDSA", kid: `bench-eddsa-${run}` }) };
  // The webhook receiver the first server delivers to (scenario 8); its secret goes with the others.
  receiver = await startWebhookReceiver();
  const envFile = join(state, "bench.env");
  writeFileSync(envFile, `SIGNING_KEYS='${JSON.stringify({ keys: [keys.ES256, keys.EdDSA] })}'\nADMIN_API_TOKEN=${adminToken}\nWEBHOOK_SECRET=${receiver.secret}\n`, { mode: 0o600 });

  log(`applying D1 migrations to ${state}`);
  const migrated = await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state, "--config", BENCH_CONFIG], { quiet: true });
  if (migrated !== 0) throw new Error(`wrangler d1 migrations apply failed (exit ${migrated})`);

  let bench = scenariosFor({ base: await startServer(envFile, ["--var", `WEBHOOK_URL:${receiver.url}`]), run, adminToken, settings, log });
  const verification = await bench.verifyTimings(keys);
  const gateway = await bench.gatewayComparisons();
  const dpop = await bench.dpopComparison();
  const refresh = await bench.refreshComparisons(REFRESH_CASES, `bench-refresh-${run}-on-`);
  const login = await bench.loginComparison();
  const eventsQueue = await bench.eventsQueue(receiver);
  await stop({ keepState: true });

  // A second server of the same worker and state, with per-rotation audit events off.
  bench = scenariosFor({ base: await startServer(envFile, ["--var", "AUDIT_REFRESH_EVENTS:false"]), run, adminToken, settings, log });
  const refreshWithoutEvents = await bench.refreshComparisons([REFRESH_CASES[1]], `bench-refresh-${run}-off-`);
  await stop({ keepState: true });

  const results = {
    at: new Date().toISOString(),
    node: process.versions.node,
    seconds: Math.round((performance.now() - startedAt) / 1000),
    settings,
    verification,
    gateway,
    dpop,
    refresh,
    refreshWithoutEvents,
    login,
    eventsQueue,
    build,
  };
  const text = report(results);
  console.log(`\n${text}`);
  if (SMOKE) {
    log(`smoke run: every scenario ran (${results.seconds} s in all); not saved`);
  } else {
    const dir = join(ROOT, ".bench");
    mkdirSync(dir, { recursive: true });
    const stamp = results.at.replace(/[:.]/g, "-");
    writeFileSync(join(dir, `bench-${stamp}.md`), `${text}\n`);
    writeFileSync(join(dir, `bench-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
    log(`saved to .bench/bench-${stamp}.md and .json (${results.seconds} s in all)`);
  }
  const errors = [...gateway, dpop, ...refresh.comparisons, ...refreshWithoutEvents.comparisons, login].flatMap((pair) => pair.scenarios).filter((scenario) => scenario.errors > 0);
  for (const scenario of errors) log(`${scenario.name}: ${scenario.errors} unexpected answers, e.g. ${scenario.firstError}`);
  if (errors.length > 0) process.exitCode = 1;
} catch (error) {
  console.error(`bench: ${error.message}`);
  try {
    console.error(`--- last lines of the wrangler log ---\n${readFileSync(logPath, "utf8").split("\n").slice(-30).join("\n")}`);
  } catch {}
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

/** Starts `wrangler dev` with the bench worker on a free port; `extra` adds arguments (`--var`). */
async function startServer(envFile, extra) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  log(`starting wrangler dev on ${base}${extra.length > 0 ? ` with ${extra.filter((arg) => arg !== "--var").join(" ")}` : ""}`);
  const output = openSync(logPath, "a");
  wrangler = startWrangler(
    [
      ...localDevArgs({ port, inspectorPort, persistTo: state }),
      "--config", BENCH_CONFIG,
      "--env-file", envFile,
      ...extra,
    ],
    { detached: true, stdio: ["ignore", output, output] },
  );
  await waitUntilReady(wrangler, `${base}/.well-known/jwks.json`, 90_000);
  return base;
}

/**
 * Stops the wrangler process group this script started (wrangler and its workerd); then, unless
 * told to keep it, removes its state and stops the webhook receiver.
 */
async function stop({ keepState = false } = {}) {
  const child = wrangler;
  wrangler = null;
  await stopProcessGroup(child);
  if (!keepState) {
    rmSync(state, { recursive: true, force: true });
    await receiver?.close();
    receiver = null;
  }
}

function log(message) {
  console.error(`bench: ${message}`);
}

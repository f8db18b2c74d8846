#!/usr/bin/env node
// npm run bench [-- --help]
//
// Measures the gateway against floors from the same run, only over 127.0.0.1, with `wrangler dev`
// on a free port and its own temporary state, and the bench-only routes on (BENCH_ROUTES=true,
// src/bench/):
//   1. access-token verification inside workerd, ES256 and EdDSA: a bare crypto.subtle.verify of
//      the token's bytes (the floor) vs this gateway's verifier vs Hono's verifyWithJwks;
//   2. the gateway (access token verified, echo origin) vs the same worker's pass-through route
//      (no verification), at 8 and 32 connections;
//   3. POST /auth/refresh vs its floor (one Durable Object RPC with one SQLite write, plus the
//      access token), with 1, 10 and 100 users refreshing and 50 clients on one user, and the D1
//      statements the refreshes caused;
//   4. POST /auth/login vs its floor (one PBKDF2-SHA256 at the production iteration count);
//   5. again with AUDIT_REFRESH_EVENTS=false (a second wrangler): refresh vs floor at 10 users and
//      its D1 statements;
//   6. the deploy bundle size and `wrangler check startup`'s startup profile (offline);
//   7. the gateway with a DPoP-bound access token (Authorization: DPoP plus a proof, RFC 9449) vs
//      the same request with a plain Bearer token, at 8 connections.
// Every scenario is bounded in requests and in seconds, the run as a whole to 8 minutes; a run
// takes three to four. It prints the report, saves it in .bench/ (gitignored) as Markdown
// and JSON, and stops wrangler.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair, importJWK, SignJWT } from "jose";
import { ROOT } from "./lib/dev-vars.mjs";
import { interleaved, median } from "./lib/load.mjs";
import { report } from "./lib/bench-report.mjs";
import { newSigningKey } from "./lib/signing-keys.mjs";
import { freePort, localDevArgs, runWrangler, startWrangler, stopProcessGroup, waitUntilReady, wranglerOutput } from "./lib/wrangler.mjs";

const OPTIONS = {
  requests: ["3000", "requests per gateway and pass-through scenario"],
  "refresh-requests": ["1000", "requests per refresh and refresh-floor scenario"],
  "login-requests": ["300", "requests per login and PBKDF2 scenario"],
  seconds: ["15", "time bound of each scenario, split over the rounds"],
  rounds: ["20", "turns the two sides of each comparison take (at most; fewer with many clients)"],
  warmup: ["100", "requests before each scenario, not measured"],
  "verify-requests": ["4", "requests to /bench/verify"],
  "verify-batches": ["5", "timed batches per verifier, algorithm and request"],
  "verify-iterations": ["1000", "verifications per batch"],
};
const { values: options } = parseArgs({
  options: {
    ...Object.fromEntries(Object.entries(OPTIONS).map(([name, [fallback]]) => [name, { type: "string", default: fallback }])),
    help: { type: "boolean", short: "h" },
  },
});
if (options.help) {
  console.log(`Usage: npm run bench [-- options]\n${Object.entries(OPTIONS).map(([name, [fallback, what]]) => `  --${name} ${fallback}: ${what}`).join("\n")}`);
  process.exit(0);
}
const number = (name, min, max) => {
  const value = Number(options[name]);
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

const GATEWAY_CONNECTIONS = [8, 32];
const REFRESH_CASES = [
  { key: "1 user", users: 1, clients: 1 },
  { key: "10 users", users: 10, clients: 10 },
  { key: "100 users", users: 100, clients: 100 },
  { key: "50 clients, 1 user", users: 1, clients: 50 },
];
const LOGIN_CLIENTS = 8;
const REQUEST_TIMEOUT_MS = 30_000;

// However the machine behaves, the run ends: past this, wrangler is stopped and the bench fails.
const DEADLINE_SECONDS = 480;

const state = mkdtempSync(join(tmpdir(), "edge-auth-bench-"));
const logPath = join(state, "wrangler.log");
const adminToken = randomBytes(32).toString("hex");
const run = randomBytes(4).toString("hex");
let wrangler = null;

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
  const envFile = join(state, "bench.env");
  writeFileSync(envFile, `SIGNING_KEYS='${JSON.stringify({ keys: [keys.ES256, keys.EdDSA] })}'\nADMIN_API_TOKEN=${adminToken}\n`, { mode: 0o600 });

  log(`applying D1 migrations to ${state}`);
  const migrated = await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { quiet: true });
  if (migrated !== 0) throw new Error(`wrangler d1 migrations apply failed (exit ${migrated})`);

  let base = await startServer(envFile, []);
  const verification = await verifyTimings(base, [await accessToken(keys.ES256), await accessToken(keys.EdDSA)]);
  const gateway = await gatewayComparisons(base);
  const dpop = await dpopComparison(base);
  const refresh = await refreshComparisons(base, REFRESH_CASES, `bench-refresh-${run}-on-`);
  const login = await loginComparison(base);
  await stop({ keepState: true });

  base = await startServer(envFile, ["--var", "AUDIT_REFRESH_EVENTS:false"]);
  const refreshWithoutEvents = await refreshComparisons(base, [REFRESH_CASES[1]], `bench-refresh-${run}-off-`);
  await stop({ keepState: true });

  const results = {
    at: new Date().toISOString(),
    node: process.versions.node,
    seconds: Math.round((performance.now() - startedAt) / 1000),
    settings: { REQUESTS, REFRESH_REQUESTS, LOGIN_REQUESTS, SECONDS, ROUNDS, WARMUP, VERIFY_REQUESTS, VERIFY_BATCHES, VERIFY_ITERATIONS },
    verification,
    gateway,
    dpop,
    refresh,
    refreshWithoutEvents,
    login,
    build,
  };
  const text = report(results);
  console.log(`\n${text}`);
  const dir = join(ROOT, ".bench");
  mkdirSync(dir, { recursive: true });
  const stamp = results.at.replace(/[:.]/g, "-");
  writeFileSync(join(dir, `bench-${stamp}.md`), `${text}\n`);
  writeFileSync(join(dir, `bench-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  log(`saved to .bench/bench-${stamp}.md and .json (${results.seconds} s in all)`);
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
 * 1. Microseconds per verification inside workerd, per algorithm and verifier (medians over every
 * batch), and the ratios to the floor as medians of each batch's ratio to the floor batch that
 * ran next to it, which a change in the machine's load between batches does not skew.
 */
async function verifyTimings(base, tokens) {
  log(`verification: ${VERIFY_REQUESTS} requests x ${VERIFY_BATCHES} batches x ${VERIFY_ITERATIONS} verifications per verifier and algorithm`);
  const batches = tokens.map(() => ({ floor: [], gateway: [], hono: [] }));
  for (let request = 0; request < VERIFY_REQUESTS; request += 1) {
    const { results } = await json(await post(`${base}/bench/verify`, { tokens, batches: VERIFY_BATCHES, iterations: VERIFY_ITERATIONS }, 120_000, admin()));
    results.forEach((timings, index) => {
      for (const [verifier, values] of Object.entries(timings)) batches[index][verifier].push(...values);
    });
  }
  const pairedRatio = ({ floor, ...others }, verifier) => median(floor.map((microseconds, index) => others[verifier][index] / microseconds));
  return ["ES256", "EdDSA"].map((alg, index) => ({
    alg,
    batches: batches[index].floor.length,
    iterations: VERIFY_ITERATIONS,
    microseconds: Object.fromEntries(Object.entries(batches[index]).map(([verifier, values]) => [verifier, median(values)])),
    overFloor: { gateway: pairedRatio(batches[index], "gateway"), hono: pairedRatio(batches[index], "hono") },
    gatewayOverHono: median(batches[index].gateway.map((microseconds, batch) => microseconds / batches[index].hono[batch])),
  }));
}

/** 2. The gateway (ES256 access token verified) vs the pass-through route, echo origin behind both. */
async function gatewayComparisons(base) {
  const { access_token: token } = await openSession(base, `bench-gateway-${run}`);
  const comparisons = [];
  for (const connections of GATEWAY_CONNECTIONS) {
    log(`gateway vs pass-through, ${connections} connections`);
    const comparison = await interleaved(
      [
        // The same token in a header the pass-through ignores: both requests and both echoes are the same size.
        { name: "pass-through", concurrency: connections, limit: REQUESTS, send: () => get(`${base}/bench/pass-through/ping`, { "X-Bench-Token": token }) },
        { name: "gateway", concurrency: connections, limit: REQUESTS, send: () => get(`${base}/api/ping`, { Authorization: `Bearer ${token}` }) },
      ],
      { rounds: ROUNDS, warmup: WARMUP, seconds: SECONDS },
    );
    comparisons.push({ key: `${connections} connections`, ...comparison });
  }
  return comparisons;
}

/**
 * 7. What a DPoP-bound token costs the gateway: the proof's signature check and its claims, on
 * top of the access token's. The proof is made once and sent with every request (the gateway
 * keeps no proof ids, RFC 9449 section 11.1), so the client's signing is not measured; it is
 * made again before its `iat` leaves the 60 s window.
 */
async function dpopComparison(base) {
  const bearerSession = await openSession(base, `bench-dpop-bearer-${run}`);
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = await exportJWK(publicKey);
  const proof = async (method, url, claims = {}) =>
    new SignJWT({ htm: method, htu: url, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })
      .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk })
      .sign(privateKey);
  const opened = await post(`${base}/auth/admin/sessions`, { sub: `bench-dpop-bound-${run}` }, REQUEST_TIMEOUT_MS, {
    ...admin(),
    DPoP: await proof("POST", `${base}/auth/admin/sessions`),
  });
  const bound = await json(opened);
  if (bound.token_type !== "DPoP") throw new Error("the DPoP session did not come back bound");
  const url = `${base}/api/ping`;
  const ath = createHash("sha256").update(bound.access_token).digest("base64url");
  let current = { proof: await proof("GET", url, { ath }), madeAt: Date.now() };
  const headers = async () => {
    if (Date.now() - current.madeAt > 30_000) current = { proof: await proof("GET", url, { ath }), madeAt: Date.now() };
    return { Authorization: `DPoP ${bound.access_token}`, DPoP: current.proof };
  };
  log("gateway: DPoP-bound vs Bearer token, 8 connections");
  const comparison = await interleaved(
    [
      { name: "gateway, Bearer token", concurrency: 8, limit: REQUESTS, send: () => get(url, { Authorization: `Bearer ${bearerSession.access_token}` }) },
      { name: "gateway, DPoP-bound token", concurrency: 8, limit: REQUESTS, send: async () => get(url, await headers()) },
    ],
    { rounds: ROUNDS, warmup: WARMUP, seconds: SECONDS },
  );
  return { key: "8 connections", ...comparison };
}

/**
 * 3 and 5. Refresh chains (one session per client, each request presents the token the previous
 * one returned) vs the refresh floor with the same clients and users; then the D1 statements all
 * those refreshes caused, counted in D1 once the outboxes have drained.
 */
async function refreshComparisons(base, cases, prefix) {
  // Every session is opened before D1 is first counted, so only refreshes are counted.
  const chains = [];
  for (const entry of cases) {
    const tokens = [];
    for (let client = 0; client < entry.clients; client += 1) {
      tokens.push((await openSession(base, `${prefix}${entry.users}-${client % entry.users}`)).refresh_token);
    }
    chains.push(tokens);
  }
  const before = await settledD1Writes(base, prefix);
  let refreshes = 0;
  const comparisons = [];
  for (const [index, entry] of cases.entries()) {
    log(`refresh vs floor, ${entry.key}${prefix.endsWith("-off-") ? " (AUDIT_REFRESH_EVENTS=false)" : ""}`);
    const tokens = chains[index];
    const comparison = await interleaved(
      [
        {
          name: "refresh floor",
          concurrency: entry.clients,
          limit: REFRESH_REQUESTS,
          send: async (client) => {
            const response = await post(`${base}/bench/refresh-floor`, { user: `bench-floor-${run}-${entry.users}-${client % entry.users}` }, REQUEST_TIMEOUT_MS, admin());
            if (response.ok) await response.clone().json();
            return response;
          },
        },
        {
          name: "refresh",
          concurrency: entry.clients,
          limit: REFRESH_REQUESTS,
          send: async (client) => {
            const response = await post(`${base}/auth/refresh`, { refresh_token: tokens[client] });
            if (response.ok) {
              tokens[client] = (await response.clone().json()).refresh_token;
              refreshes += 1;
            }
            return response;
          },
        },
      ],
      { rounds: ROUNDS, warmup: WARMUP, seconds: SECONDS },
    );
    comparisons.push({ key: entry.key, ...comparison });
  }
  const after = await settledD1Writes(base, prefix);
  const events = after.events - before.events;
  const records = Object.keys(after.versions).filter((id) => after.versions[id] !== before.versions[id]).length;
  const bytes = after.databaseBytes - before.databaseBytes;
  return { comparisons, d1: { refreshes, events, records, statementsPer1000: ((events + records) / refreshes) * 1000, bytesPerRefresh: bytes / refreshes } };
}

/** 4. Logins with the right password (one account per client) vs one PBKDF2 derivation. */
async function loginComparison(base) {
  log("login vs PBKDF2");
  const password = randomBytes(12).toString("hex");
  const usernames = [];
  for (let client = 0; client < LOGIN_CLIENTS; client += 1) {
    const username = `bench.login.${run}.${client}`;
    const response = await post(`${base}/auth/register`, { username, password });
    if (response.status !== 201) throw new Error(`POST /auth/register answered ${response.status}: ${await response.text()}`);
    usernames.push(username);
  }
  const comparison = await interleaved(
    [
      { name: "PBKDF2 floor", concurrency: LOGIN_CLIENTS, limit: LOGIN_REQUESTS, send: () => post(`${base}/bench/password-floor`, {}, REQUEST_TIMEOUT_MS, admin()) },
      { name: "login", concurrency: LOGIN_CLIENTS, limit: LOGIN_REQUESTS, send: (client) => post(`${base}/auth/login`, { username: usernames[client], password }) },
    ],
    { rounds: ROUNDS, warmup: Math.min(WARMUP, 20), seconds: SECONDS },
  );
  return { key: `${LOGIN_CLIENTS} clients`, ...comparison };
}

/** 6. `wrangler check startup`: builds the deploy bundle and profiles its startup in local workerd, offline. */
async function startupProfile() {
  log("wrangler check startup (bundle size and startup profile)");
  const { code, output } = await wranglerOutput(["check", "startup", "--outfile", join(state, "startup.cpuprofile")]);
  const bundle = /Bundle: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output);
  const active = /Active: ([\d.]+) ms/.exec(output);
  if (code !== 0 || !bundle) return { ok: false, problem: `wrangler check startup exited ${code}: ${output.trim().split("\n").slice(-3).join(" ")}` };
  return { ok: true, bundleKiB: Number(bundle[1]), gzipKiB: Number(bundle[2]), startupMs: active ? Number(active[1]) : null };
}

async function startServer(envFile, extra) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  log(`starting wrangler dev on ${base}${extra.length > 0 ? ` with ${extra.filter((arg) => arg !== "--var").join(" ")}` : ""}`);
  const output = openSync(logPath, "a");
  wrangler = startWrangler(
    [
      ...localDevArgs({ port, inspectorPort, persistTo: state }),
      "--env-file", envFile,
      "--var", "BENCH_ROUTES:true",
      // Every bench request comes from 127.0.0.1: the per-address limits would cut the logins short.
      "--var", "REGISTRATIONS_PER_IP_PER_HOUR:1000",
      "--var", "LOGIN_MAX_FAILURES_PER_IP:1000",
      ...extra,
    ],
    { detached: true, stdio: ["ignore", output, output] },
  );
  await waitUntilReady(wrangler, `${base}/.well-known/jwks.json`, 90_000);
  return base;
}

/** An access token as the gateway signs them (src/tokens/access.ts), under one of the bench's keys. */
async function accessToken(jwk) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: crypto.randomUUID() })
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: "at+jwt" })
    .setIssuer("http://127.0.0.1:8787")
    .setAudience("edge-auth-gateway")
    .setSubject(`bench-verify-${run}`)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(await importJWK(jwk, jwk.alg));
}

/** What reached D1 from the users under `prefix`, once two reads a second apart agree (the outboxes have drained). */
async function settledD1Writes(base, prefix) {
  let last = null;
  for (let attempt = 0; attempt < 30; attempt += 1) {
    const current = await json(await get(`${base}/bench/d1-writes?prefix=${encodeURIComponent(prefix)}`, admin()));
    if (last !== null && JSON.stringify(current) === JSON.stringify(last)) return current;
    last = current;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error("D1 writes did not settle within 30 s");
}

async function openSession(base, sub) {
  const response = await post(`${base}/auth/admin/sessions`, { sub }, REQUEST_TIMEOUT_MS, admin());
  if (response.status !== 201) throw new Error(`POST /auth/admin/sessions answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** The admin token's header: the admin routes and the bench routes but the pass-through require it. */
function admin() {
  return { Authorization: `Bearer ${adminToken}` };
}

function get(url, headers = {}) {
  return fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

function post(url, body, timeoutMs = REQUEST_TIMEOUT_MS, headers = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

async function json(response) {
  if (!response.ok) throw new Error(`${response.url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Stops the wrangler process group this script started (wrangler and its workerd); then, unless told to keep it, removes its state. */
async function stop({ keepState = false } = {}) {
  const child = wrangler;
  wrangler = null;
  await stopProcessGroup(child);
  if (!keepState) rmSync(state, { recursive: true, force: true });
}

function log(message) {
  console.error(`bench: ${message}`);
}

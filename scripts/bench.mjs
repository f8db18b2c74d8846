#!/usr/bin/env node
// npm run bench [-- --concurrency 8 --requests 2000 --seconds 15]
//
// Measures the gateway under `wrangler dev` on this machine, only over 127.0.0.1:
//   a. baseline: a public path (PUBLIC_PATH_PREFIXES=/public) answered by the echo origin, no token
//   b. an authenticated request: the same echo origin behind ES256 access-token verification
//   c. POST /auth/refresh: refresh-token rotation chains (one session per worker, each request uses
//      the token the previous one returned), through the user's Durable Object and its D1 write
//   d. GET /.well-known/jwks.json
//   e. POST /auth/login with the right password: one PBKDF2-SHA256 check at the production
//      iteration count (the cost of a password hash in workerd), then a new session
// and prints requests/s, p50 and p99 latency, and (b) to (e) relative to (a) from the same run.
// Every scenario is bounded in requests and in time; wrangler is started on a free port with its
// own temporary state and stopped at the end.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ensureDevVars, ROOT } from "./lib/dev-vars.mjs";
import { runWrangler, startWrangler } from "./lib/wrangler.mjs";

const { values: options } = parseArgs({
  options: {
    concurrency: { type: "string", default: "8" },
    requests: { type: "string", default: "2000" },
    "refresh-requests": { type: "string", default: "1000" },
    "login-requests": { type: "string", default: "500" },
    seconds: { type: "string", default: "15" },
    warmup: { type: "string", default: "100" },
    rounds: { type: "string", default: "5" },
    help: { type: "boolean", short: "h" },
  },
});
if (options.help) {
  console.log(`Usage: npm run bench [-- --concurrency 8 --requests 2000 --refresh-requests 1000 --login-requests 500 --seconds 15 --warmup 100 --rounds 5]
Each scenario stops at --requests (refresh: --refresh-requests, login: --login-requests) or after --seconds, whichever comes first.
The scenarios take turns in --rounds rounds, so a change in the machine's load hits them all alike.`);
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
const CONCURRENCY = number("concurrency", 1, 64);
const REQUESTS = number("requests", 10, 100_000);
const REFRESH_REQUESTS = number("refresh-requests", 10, 100_000);
const LOGIN_REQUESTS = number("login-requests", 10, 100_000);
const SECONDS = number("seconds", 1, 120);
const WARMUP = number("warmup", 0, 10_000);
const ROUNDS = number("rounds", 1, 50);

const state = mkdtempSync(join(tmpdir(), "edge-auth-bench-"));
const logPath = join(state, "wrangler.log");
const adminToken = randomBytes(32).toString("hex");
let wrangler = null;

process.on("SIGINT", () => void stop().then(() => process.exit(130)));
process.on("SIGTERM", () => void stop().then(() => process.exit(143)));
// Orphaned (npm killed, its `sh -c` gone): stop the detached wrangler instead of leaving it running.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop().then(() => process.exit(143));
}, 1_000).unref();

try {
  await ensureDevVars(); // SIGNING_KEYS for wrangler dev
  const port = await freePort();
  const inspectorPort = await freePort();
  const base = `http://127.0.0.1:${port}`;

  log(`applying D1 migrations to ${state}`);
  const migrated = await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { quiet: true });
  if (migrated !== 0) throw new Error(`wrangler d1 migrations apply failed (exit ${migrated})`);

  log(`starting wrangler dev on ${base}`);
  const output = openSync(logPath, "a");
  wrangler = startWrangler(
    [
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(port),
      "--inspector-port", String(inspectorPort),
      "--persist-to", state,
      "--log-level", "warn",
      "--var", "PUBLIC_PATH_PREFIXES:/public",
      "--var", `ADMIN_API_TOKEN:${adminToken}`,
      // Every bench request comes from 127.0.0.1: the per-address limits would cut (e) short.
      "--var", "REGISTRATIONS_PER_IP_PER_HOUR:1000",
      "--var", "LOGIN_MAX_FAILURES_PER_IP:1000",
    ],
    { detached: true, stdio: ["ignore", output, output] },
  );
  await waitUntilReady(`${base}/.well-known/jwks.json`, 90_000);

  // One session whose access token every worker of (b) presents, and one session per worker for
  // (c), each for its own user, as independent clients would be.
  const access = (await openSession(base, "bench-gateway-user")).access_token;
  const chains = [];
  for (let index = 0; index < CONCURRENCY; index += 1) {
    chains.push((await openSession(base, `bench-refresh-user-${index}`)).refresh_token);
  }
  // One account per worker for (e): logins of one username in flight at once count against its
  // failure limit before their password is checked.
  const password = randomBytes(12).toString("hex");
  const usernames = [];
  for (let index = 0; index < CONCURRENCY; index += 1) {
    usernames.push(await registerUser(base, `bench.login.${index}.${randomBytes(4).toString("hex")}`, password));
  }

  const scenarios = [
    {
      key: "a",
      name: "baseline: public path, echo origin, no token",
      limit: REQUESTS,
      send: () => fetch(`${base}/public/ping`),
    },
    {
      key: "b",
      name: "gateway: Bearer JWT verified (ES256), echo origin",
      limit: REQUESTS,
      send: () => fetch(`${base}/api/ping`, { headers: { Authorization: `Bearer ${access}` } }),
    },
    {
      key: "c",
      name: "POST /auth/refresh: rotation chains (Durable Object + D1)",
      limit: REFRESH_REQUESTS,
      send: async (worker) => {
        const response = await fetch(`${base}/auth/refresh`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: chains[worker] }),
        });
        if (response.ok) {
          chains[worker] = (await response.clone().json()).refresh_token;
        }
        return response;
      },
    },
    {
      key: "d",
      name: "GET /.well-known/jwks.json",
      limit: REQUESTS,
      send: () => fetch(`${base}/.well-known/jwks.json`),
    },
    {
      key: "e",
      name: "POST /auth/login: PBKDF2-SHA256 password check + new session",
      limit: LOGIN_REQUESTS,
      send: (worker) =>
        fetch(`${base}/auth/login`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ username: usernames[worker], password }),
        }),
    },
  ];

  for (const scenario of scenarios) {
    log(`warming up (${scenario.key}) ${scenario.name}`);
    await measure(scenario.send, WARMUP, SECONDS);
  }
  // Round-robin: each round gives every scenario its share of requests and time.
  const samples = new Map(scenarios.map((scenario) => [scenario.key, []]));
  for (let round = 1; round <= ROUNDS; round += 1) {
    log(`round ${round}/${ROUNDS}`);
    for (const scenario of scenarios) {
      samples.get(scenario.key).push(await measure(scenario.send, Math.ceil(scenario.limit / ROUNDS), SECONDS / ROUNDS));
    }
  }
  const results = scenarios.map((scenario) => ({ ...scenario, ...combine(samples.get(scenario.key)) }));
  for (const result of results) {
    if (result.errors > 0) log(`(${result.key}): ${result.errors} unexpected answers, e.g. ${result.firstError}`);
  }

  const report = table(results);
  console.log(`\n${report}`);
  const dir = join(ROOT, ".bench");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(dir, `bench-${stamp}.md`), `${report}\n`);
  writeFileSync(
    join(dir, `bench-${stamp}.json`),
    JSON.stringify({ at: new Date().toISOString(), concurrency: CONCURRENCY, rounds: ROUNDS, results: results.map(({ send, ...rest }) => rest) }, null, 2),
  );
  log(`saved to .bench/bench-${stamp}.md and .json`);
  if (results.some((result) => result.errors > 0)) process.exitCode = 1;
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
 * Sends requests from CONCURRENCY workers until `limit` have been sent or `seconds` have passed.
 * Every response body is read; anything but a 2xx counts as an error.
 */
async function measure(send, limit, seconds) {
  const latencies = [];
  let sent = 0;
  let errors = 0;
  let firstError = null;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  async function worker(index) {
    while (sent < limit && performance.now() < deadline) {
      sent += 1;
      const t0 = performance.now();
      try {
        const response = await send(index);
        await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (!response.ok) {
          errors += 1;
          firstError ??= `HTTP ${response.status}`;
        }
      } catch (error) {
        errors += 1;
        firstError ??= error.message;
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, index) => worker(index)));
  return { latencies, errors, firstError, seconds: (performance.now() - started) / 1000 };
}

/** Merges the samples of one scenario: requests/s over the time it ran, percentiles over all latencies. */
function combine(samples) {
  const latencies = samples.flatMap((sample) => sample.latencies).sort((x, y) => x - y);
  const seconds = samples.reduce((sum, sample) => sum + sample.seconds, 0);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
    firstError: samples.find((sample) => sample.firstError)?.firstError ?? null,
    seconds,
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
  };
}

function table(results) {
  const baseline = results.find((result) => result.key === "a");
  const rows = results.map((result) => {
    const ratio = result.key === "a" ? "1.00 / 1.00" : `${(result.rps / baseline.rps).toFixed(2)} / ${(result.p50 / baseline.p50).toFixed(2)}`;
    return `| (${result.key}) ${result.name} | ${result.requests} | ${result.errors} | ${result.rps.toFixed(0)} | ${result.p50.toFixed(2)} | ${result.p99.toFixed(2)} | ${ratio} |`;
  });
  return [
    `Concurrency ${CONCURRENCY}, ${ROUNDS} interleaved rounds, wrangler dev (local workerd) on 127.0.0.1, Node ${process.versions.node} fetch client on the same machine.`,
    "",
    "| scenario | requests | errors | req/s | p50 ms | p99 ms | vs (a): req/s, p50 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

async function openSession(base, sub) {
  const response = await fetch(`${base}/auth/admin/sessions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ sub }),
  });
  if (response.status !== 201) throw new Error(`POST /auth/admin/sessions answered ${response.status}: ${await response.text()}`);
  return response.json();
}

async function registerUser(base, username, password) {
  const response = await fetch(`${base}/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 201) throw new Error(`POST /auth/register answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
  return username;
}

async function waitUntilReady(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited with code ${wrangler.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`wrangler dev was not ready within ${timeoutMs / 1000} s`);
}

/** A TCP port that is free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Stops the wrangler process group this script started (wrangler and its workerd), then removes its state. */
async function stop() {
  const child = wrangler;
  wrangler = null;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(state, { recursive: true, force: true });
}

function log(message) {
  console.error(`bench: ${message}`);
}

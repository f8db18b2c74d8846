#!/usr/bin/env node
// npm run test:e2e [-- --screenshot docs/demo.png] [-- test/e2e/dpop.test.mjs ...]
//
// The browser tests (test/e2e/*.test.mjs, or the files named; Node's test runner): Debian's
// Chromium, driven by playwright-core, and an OAuth client library (oauth4webapi) over HTTP,
// against a `wrangler dev` that this script starts on a free port of 127.0.0.1
// with temporary state, 5-second access tokens, the demo and the refresh cookie on, ISSUER set to
// its own URL (so an OAuth client's discovery finds the issuer it asked for), and a second origin
// (a small static server here, on another free port) in ALLOWED_ORIGINS. Everything is stopped at
// the end, and the whole run is bounded (--timeout seconds, 480 by default). The gateway signs in
// through the local OpenID provider (scripts/lib/local-idp.mjs, provider "local"), started here on
// another free port as `npm run idp` starts it. A test file that needs other settings starts a
// gateway of its own (test/e2e/own-gateway.mjs): the example origin's, the claims hook's.
//
// Chromium: /usr/bin/chromium (CHROMIUM_PATH to use another), `apt-get install -y chromium` on
// Debian; playwright never downloads a browser. The tests save a screenshot of the demo to
// .e2e/demo.png; --screenshot also copies it where you say (the README's is docs/demo.png).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildClientPackage, buildDemoScript, buildOriginPackage, CLIENT_DIST } from "./lib/build-client.mjs";
import { ensureDevVars, ROOT } from "./lib/dev-vars.mjs";
import { PUBLIC_CLIENT, startLocalIdp } from "./lib/local-idp.mjs";
import { devServerUrl, freePort, localDevArgs, localIssuerArgs, runWrangler, startWrangler, stopProcessGroup, waitUntilReady } from "./lib/wrangler.mjs";

const { values: options, positionals: testFiles } = parseArgs({
  allowPositionals: true,
  options: {
    screenshot: { type: "string" },
    timeout: { type: "string", default: "480" },
  },
});
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ACCESS_TOKEN_TTL_SECONDS = 5;

if (!existsSync(CHROMIUM)) {
  console.error(`e2e: no Chromium at ${CHROMIUM}. On Debian: apt-get install -y chromium (or set CHROMIUM_PATH).`);
  process.exit(1);
}

const state = mkdtempSync(join(tmpdir(), "edge-auth-e2e-"));
const logPath = join(state, "wrangler.log");
const adminToken = randomBytes(32).toString("hex");
let wrangler = null;
let appServer = null;
let idp = null;
let tests = null;

const deadline = setTimeout(() => {
  log(`stopping: the run took longer than ${options.timeout} s`);
  tests?.kill("SIGKILL");
  void stop().then(() => process.exit(124));
}, Number(options.timeout) * 1000);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => void stop().then(() => process.exit(130)));

let status = 1;
try {
  const started = Date.now();
  await ensureDevVars(); // SIGNING_KEYS for wrangler dev
  await buildDemoScript();
  await buildClientPackage({ declarations: false }); // the second origin's page loads dist/client/index.js
  await buildOriginPackage({ declarations: false }); // the example origin (test/e2e/origin-api.test.mjs) imports dist/origin

  const [port, inspectorPort, appPort] = [await freePort(), await freePort(), await freePort()];
  const devArgs = localDevArgs({ port, inspectorPort, persistTo: state });
  // The URL and the ISSUER the way `npm run dev` makes them, so the two cannot drift apart.
  const gateway = devServerUrl(devArgs);
  const appOrigin = `http://127.0.0.1:${appPort}`;
  appServer = await serveAppOrigin(appPort);
  // An upstream OpenID provider for "Sign in with local" (test/e2e/federation.test.mjs), as `npm run idp` starts it.
  idp = await startLocalIdp();

  log(`applying D1 migrations to ${state}`);
  const migrated = await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { quiet: true });
  if (migrated !== 0) throw new Error(`wrangler d1 migrations apply failed (exit ${migrated})`);

  log(`starting wrangler dev on ${gateway} (app origin ${appOrigin})`);
  const output = openSync(logPath, "a");
  wrangler = startWrangler(
    [
      ...devArgs,
      ...localIssuerArgs(devArgs),
      "--var", `ACCESS_TOKEN_TTL_SECONDS:${ACCESS_TOKEN_TTL_SECONDS}`,
      "--var", "DEMO:true",
      "--var", "REFRESH_COOKIE:true",
      "--var", `ALLOWED_ORIGINS:${appOrigin}`,
      "--var", `ADMIN_API_TOKEN:${adminToken}`,
      // Every test registers from 127.0.0.1.
      "--var", "REGISTRATIONS_PER_IP_PER_HOUR:1000",
      "--var", `OIDC_PROVIDERS:${JSON.stringify([{ id: "local", issuer: idp.issuer, client_id: PUBLIC_CLIENT }])}`,
    ],
    { detached: true, stdio: ["ignore", output, output] },
  );
  await waitUntilReady(wrangler, `${gateway}/.well-known/jwks.json`, 90_000);
  log(`ready after ${((Date.now() - started) / 1000).toFixed(1)} s; running the browser tests`);

  const screenshotDir = join(ROOT, ".e2e");
  mkdirSync(screenshotDir, { recursive: true });
  status = await runTests({
    E2E_GATEWAY: gateway,
    E2E_APP_ORIGIN: appOrigin,
    E2E_IDP: idp.issuer,
    E2E_ADMIN_TOKEN: adminToken,
    E2E_ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS),
    E2E_SCREENSHOT: join(screenshotDir, "demo.png"),
    E2E_SCREENSHOT_COPY: options.screenshot ? resolve(options.screenshot) : "",
    CHROMIUM_PATH: CHROMIUM,
  });
  log(`${status === 0 ? "passed" : "failed"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (status !== 0) printWranglerLog();
} catch (error) {
  log(error.message);
  printWranglerLog();
  status = 1;
} finally {
  clearTimeout(deadline);
  await stop();
}
process.exit(status);

function runTests(env) {
  return new Promise((resolveStatus) => {
    const files = testFiles.length > 0 ? testFiles : ["test/e2e/*.test.mjs"];
    tests = spawn(process.execPath, ["--test", "--test-concurrency=1", "--test-timeout=120000", ...files], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: "inherit",
    });
    tests.on("exit", (code, signal) => resolveStatus(code ?? (signal ? 1 : 0)));
  });
}

/**
 * The second origin: an app page (test/e2e/app-origin.html) that loads the client from
 * dist/client/index.js and calls the gateway cross-origin.
 */
function serveAppOrigin(port) {
  const files = {
    "/": ["text/html; charset=utf-8", join(ROOT, "test", "e2e", "app-origin.html")],
    "/client.js": ["text/javascript; charset=utf-8", join(CLIENT_DIST, "index.js")],
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url ?? "/", "http://app").pathname];
    if (!file) return void response.writeHead(404).end();
    response.writeHead(200, { "Content-Type": file[0], "Cache-Control": "no-store" }).end(readFileSync(file[1]));
  });
  return new Promise((resolveServer) => server.listen(port, "127.0.0.1", () => resolveServer(server)));
}

/** Stops the wrangler process group (wrangler and its workerd) and the app server, then removes the state. */
async function stop() {
  const child = wrangler;
  wrangler = null;
  await stopProcessGroup(child);
  appServer?.close();
  appServer = null;
  await idp?.stop();
  idp = null;
  rmSync(state, { recursive: true, force: true });
}

function printWranglerLog() {
  try {
    console.error(`--- last lines of the wrangler log ---\n${readFileSync(logPath, "utf8").split("\n").slice(-30).join("\n")}`);
  } catch {}
}

function log(message) {
  console.error(`e2e: ${message}`);
}

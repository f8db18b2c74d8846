#!/usr/bin/env node
// npm run dev [-- wrangler dev options, e.g. --var REFRESH_REUSE_GRACE_SECONDS:0]
//
// 1. Creates .dev.vars with a fresh ES256 signing key and admin token when missing.
// 2. Applies the D1 migrations to the local database.
// 3. Builds the demo's script (the browser client bundled in) and turns the demo on (DEMO=true,
//    unless a --var DEMO:... says otherwise), and the dev message log (DEV_MESSAGE_LOG=true:
//    without a WEBHOOK_URL, messages to users, codes included, go to this terminal).
// 4. Serves the gateway on http://127.0.0.1:8787 with `wrangler dev` (local only: no Cloudflare
//    account, no login), passing every extra argument through. ISSUER (the `iss` of its tokens,
//    the issuer of its discovery document) is the URL it serves on, e.g. http://127.0.0.1:8931
//    after `--port 8931`, unless a `--var ISSUER:...` or the vars file (.dev.vars) sets it.
import { relative } from "node:path";
import { buildDemoScript } from "./lib/build-client.mjs";
import { DEV_VARS, ensureDevVars, readDevVar } from "./lib/dev-vars.mjs";
import { devDefaults, devServerUrl, devVarsFiles, optionValue, runWrangler, startWrangler, varValue } from "./lib/wrangler.mjs";
import { forgottenDoubleDash } from "./lib/npm-args.mjs";

const extra = process.argv.slice(2);
const shownPath = relative(process.cwd(), DEV_VARS) || DEV_VARS;

// `npm run dev --var X:1` (without `--`) hands `--var` to npm, which keeps it, and only `X:1` to
// this script: say what to type instead of starting with settings the user did not ask for.
const corrected = forgottenDoubleDash(process.env, extra);
if (corrected) {
  console.error(`dev: npm kept ${corrected.options.join(", ")} for itself: options for wrangler go after \`--\`. Type:\n\n    ${corrected.command}\n`);
  process.exit(2);
}

const added = await ensureDevVars();
if (added.length > 0) {
  console.log(`dev: wrote ${added.join(" and ")} to ${shownPath} (local secrets, gitignored).`);
}
console.log(`dev: admin token for /auth/admin/*: the ADMIN_API_TOKEN line of ${shownPath}`);
console.log(`     e.g.  ADMIN=$(grep ^ADMIN_API_TOKEN= .dev.vars | cut -d= -f2)`);

// Migrations go to the same local state wrangler dev will use (its --persist-to, if given).
const persistTo = optionValue(extra, "--persist-to");
const migrate = ["d1", "migrations", "apply", "DB", "--local", ...(persistTo ? ["--persist-to", persistTo] : [])];
console.log("dev: applying D1 migrations locally...");
const migrated = await runWrangler(migrate, { quiet: true });
if (migrated === 0) console.log("dev: local D1 database is up to date.");
if (migrated !== 0) {
  console.error(`dev: \`wrangler ${migrate.join(" ")}\` failed (exit ${migrated}).`);
  process.exit(migrated);
}

await buildDemoScript();

// A blank value reads as unset (the worker falls back to wrangler.toml's), so it sets nothing.
const issuerFile = devVarsFiles(extra).findLast((file) => (readDevVar("ISSUER", file) ?? "") !== "");
const defaults = devDefaults(extra, { issuerInVarsFile: issuerFile !== undefined });
const args = ["dev", ...extra, ...defaults];
const url = devServerUrl(args);
const issuer = varValue(args, "ISSUER") ?? readDevVar("ISSUER", issuerFile);
const issuerSource =
  varValue(extra, "ISSUER") !== undefined ? "from --var" : issuerFile ? `from ${relative(process.cwd(), issuerFile) || issuerFile}` : "the URL it serves on; --var ISSUER:... to choose another";
console.log(`dev: ISSUER is ${issuer} (${issuerSource}).`);
if (varValue(args, "DEMO") === "true") console.log(`dev: demo app at ${url}/demo`);
if (varValue(args, "DEV_MESSAGE_LOG") === "true") console.log("dev: without WEBHOOK_URL, messages to users (codes, reset links) are printed here, marked [dev only].");
const interactive = Boolean(process.stdin.isTTY) && process.env.CI !== "true";
const dev = startWrangler(args, { interactive });

// Ctrl-C reaches wrangler through the terminal's process group; a plain kill of this script is
// passed on so wrangler and workerd never outlive it.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (dev.exitCode === null) dev.kill(signal);
  });
}
// `npm run` starts this script through `sh -c`; if npm is killed, the shell dies without passing
// the signal on. Notice being orphaned and stop wrangler rather than leave it holding the port.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent && dev.exitCode === null) dev.kill("SIGTERM");
}, 1_000).unref();
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 130 : 0)));

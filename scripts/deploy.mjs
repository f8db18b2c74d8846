#!/usr/bin/env node
// npm run deploy [-- wrangler deploy options, e.g. --env production, --var NAME:VALUE, --dry-run]
//
// `wrangler deploy`, after checking the configuration it would deploy: wrangler.toml as wrangler
// reads it (with --env, that environment's section; with --config, that file) and every --var.
// It refuses, exit code 1, before building anything:
//
// - an ISSUER that is unset, not a URL, or still this machine (localhost, 127.0.0.1, ...):
//   tokens name the issuer and discovery sends clients to it, so a deployed gateway would tell
//   everyone to go to the user's own machine;
// - a D1 binding without a database_id or with the all-zero placeholder wrangler.toml ships with;
// - DEV_MESSAGE_LOG on: messages to users, their codes and reset tokens included, would be logged.
//
// With --dry-run (nothing leaves the machine: wrangler only builds the bundle) the same problems
// are printed as warnings and the dry run goes on, so a fresh clone can still measure its bundle.
// Warnings (an http ISSUER, DEMO or BENCH_ROUTES on) never stop a deploy.
//
// Then it builds the demo's script (the worker bundles it) and runs `wrangler deploy` with every
// argument passed through, and exits with wrangler's exit code.
import { buildDemoScript } from "./lib/build-client.mjs";
import { deployProblems } from "./lib/deploy-checks.mjs";
import { startWrangler } from "./lib/wrangler.mjs";
import { deployVars, readWranglerConfig } from "./lib/wrangler-config.mjs";

const args = process.argv.slice(2);
const dryRun = args.includes("--dry-run") || args.includes("--dry-run=true");

// `npm run deploy --dry-run`, without `--`, keeps --dry-run for npm: the script would deploy for
// real. Refuse rather than guess.
if (process.env.npm_config_dry_run !== undefined && !dryRun) {
  console.error("deploy: npm kept --dry-run for itself, so this would be a real deploy. Type:\n\n    npm run deploy -- --dry-run\n");
  process.exit(2);
}

const config = await readWranglerConfig(args);
const { refusals, warnings } = deployProblems({ vars: deployVars(config, args), d1Databases: config.d1_databases ?? [] });
for (const warning of warnings) console.error(`deploy: warning: ${warning}`);
if (refusals.length > 0) {
  if (!dryRun) {
    for (const refusal of refusals) console.error(`deploy: refused: ${refusal}`);
    console.error("deploy: nothing was deployed. `npm run deploy -- --dry-run` builds the bundle anyway.");
    process.exit(1);
  }
  for (const refusal of refusals) console.error(`deploy: warning (a real deploy would be refused): ${refusal}`);
}

await buildDemoScript();
const wrangler = startWrangler(["deploy", ...args], { interactive: Boolean(process.stdin.isTTY) && process.env.CI !== "true" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => wrangler.exitCode === null && wrangler.kill(signal));
wrangler.on("exit", (code, signal) => process.exit(code ?? (signal ? 130 : 0)));

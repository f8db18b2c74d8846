#!/usr/bin/env node
// npm run types [-- --check]
//
// Writes worker-configuration.d.ts, the worker's `Env` (bindings, variables and secrets), from
// wrangler.toml and .dev.vars.example with `wrangler types`; `--check` fails instead when the file
// is out of date (`npm run typecheck` runs it). Run it after adding a binding, a variable or a
// secret. The flags make the output the same on every machine:
// - `--env-file .dev.vars.example`: secret names come from the committed example, never from a
//   developer's .dev.vars (which holds local values and whatever else they put there), nor from the
//   process environment (CLOUDFLARE_INCLUDE_PROCESS_ENV is dropped below);
// - `--strict-vars=false`: every variable is a `string`, not the literal of its wrangler.toml
//   default, since `--var`, .dev.vars and the dashboard set other values;
// - `--include-runtime=false`: the runtime's types come from @cloudflare/workers-types (tsconfig
//   `types`), which @cloudflare/vitest-plugin's types build on; the generated file stays the 3 KB
//   `Env` instead of 600 KB of runtime declarations in every diff.
import { runWrangler } from "./lib/wrangler.mjs";

const check = process.argv.slice(2).includes("--check");
delete process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
const args = ["types", "--env-file", ".dev.vars.example", "--include-runtime=false", "--strict-vars=false"];
const code = await runWrangler(check ? [...args, "--check"] : args, { quiet: true });
if (code !== 0) {
  console.error(check ? "worker-configuration.d.ts is out of date: run `npm run types`." : `wrangler types exited ${code}`);
  process.exit(code);
}
console.log(check ? "worker-configuration.d.ts is up to date." : "Wrote worker-configuration.d.ts.");

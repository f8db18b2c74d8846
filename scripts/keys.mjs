#!/usr/bin/env node
// npm run keys -- <new|rotate|add|promote|retire> [--local | --production | --keys FILE] [options]
//
// The signing keys (SIGNING_KEYS), one command per step of their life: docs/key-rotation.md is the
// runbook. The steps themselves are pure functions (scripts/lib/key-rotation.mjs); this script
// reads the set, checks it with the worker's own rules, applies the step and writes the set back:
//
// - --local: the SIGNING_KEYS line of .dev.vars, which `npm run dev` reads.
// - --production (or --keys FILE): .keys/signing-keys.json (gitignored, mode 600), the copy of the
//   SIGNING_KEYS secret you keep, since Cloudflare never gives a secret back. After each step the
//   file is the secret to put: `npx wrangler secret put SIGNING_KEYS < .keys/signing-keys.json`.
//   It is not piped into wrangler: a refused step prints nothing, and `wrangler secret put` stores
//   an empty stdin as the secret, which would take the gateway down; `&&` after a refused step
//   puts nothing, and putting the unchanged file again is harmless.
//
// `npm run --silent keys` (no command, no place) prints a new one-key set on stdout, as before.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { DEV_VARS, readDevVar, replaceDevVar, ROOT } from "./lib/dev-vars.mjs";
import { addKey, checkedRotationState, JWKS_MAX_AGE_SECONDS, newKeySet, promoteKey, retireKeys, rotateKey } from "./lib/key-rotation.mjs";
import { ALGORITHMS, checkedKeySet, KeySetError, newSigningKey } from "./lib/signing-keys.mjs";
import { deployVars, readWranglerConfig } from "./lib/wrangler-config.mjs";

/** Where `--production` keeps the key set: gitignored (.gitignore lists .keys/). */
const PRODUCTION_KEYS = join(ROOT, ".keys", "signing-keys.json");
const COMMANDS = ["new", "rotate", "add", "promote", "retire"];

const USAGE = `Usage: npm run keys -- <command> [--local | --production | --keys FILE] [options]

Commands (docs/key-rotation.md has the runbook):
  new        a new key set of one key: on stdout, or written to --production / --keys FILE
  rotate     a new key signs from now on; the old keys still verify the tokens they signed
  add        a new key is published and verifies, but does not sign yet (rotation, step 1)
  promote    the key \`add\` published signs from now on (step 2, once JWKS caches saw it: 300 s)
  retire     drops the keys that no longer sign, once every token they signed has expired
             (ACCESS_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS after the signer began to sign)

Where the key set is:
  --local          the SIGNING_KEYS line of .dev.vars (npm run dev)
  --production     .keys/signing-keys.json (gitignored): your copy of the SIGNING_KEYS secret;
                   after each step:  npx wrangler secret put SIGNING_KEYS < .keys/signing-keys.json
  --keys FILE      another copy (another environment, a file from your secret manager)

Options:
  --alg ES256|EdDSA   algorithm of a new key (default ES256)
  --kid NAME          kid of a new key (default: date and thumbprint, e.g. 2026-11-26-3q2Q8Zk1)
  --env NAME          the wrangler environment whose [vars] give retire its wait
  --force             promote or retire without waiting
  --dev-vars FILE     the .dev.vars file of --local (default .dev.vars)
  -h, --help          this text`;

// The options of the one-command-does-all era, and what replaced each.
const REPLACED = {
  "append-to": "`npm run keys -- add --keys FILE` adds a key second to the set in FILE",
  "prepend-to": "`npm run keys -- rotate --keys FILE` puts a new key first in the set in FILE",
  out: "`npm run keys -- new --keys FILE` writes a new set to FILE",
};

let options;
let positionals;
try {
  ({ values: options, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      alg: { type: "string", default: "ES256" },
      kid: { type: "string" },
      local: { type: "boolean", default: false },
      production: { type: "boolean", default: false },
      keys: { type: "string" },
      "dev-vars": { type: "string" },
      env: { type: "string" },
      force: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
      ...Object.fromEntries(Object.keys(REPLACED).map((name) => [name, { type: "string" }])),
    },
  }));
} catch (error) {
  fail(error.message);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
for (const [name, instead] of Object.entries(REPLACED)) {
  if (options[name] !== undefined) fail(`--${name} is gone: ${instead} (docs/key-rotation.md).`);
}
const command = positionals[0] ?? "new";
if (!COMMANDS.includes(command) || positionals.length > 1) fail(`unknown command "${positionals.join(" ")}".`);
if (options.kid !== undefined && !/^[\w.-]{1,64}$/.test(options.kid)) fail("--kid must be 1-64 letters, digits, '.', '_' or '-'.");
if (!ALGORITHMS.includes(options.alg)) fail(`--alg must be one of ${ALGORITHMS.join(", ")}, got "${options.alg}".`);
if ([options.local, options.production, options.keys !== undefined].filter(Boolean).length > 1) fail("use one of --local, --production and --keys.");

const place = options.local
  ? { local: true, path: options["dev-vars"] ?? DEV_VARS }
  : options.production || options.keys !== undefined
    ? { local: false, path: options.keys ?? PRODUCTION_KEYS }
    : null;
const shown = place && (relative(process.cwd(), place.path) || place.path);
const now = Date.now();
const newKey = () => newSigningKey({ alg: options.alg, kid: options.kid, kidPrefix: place?.local ? "dev-" : "" });

try {
  if (command === "new") await makeNewSet();
  else await step();
} catch (error) {
  if (!(error instanceof KeySetError)) throw error;
  refuse(error.message);
}

async function makeNewSet() {
  const set = newKeySet(await newKey(), now);
  if (place === null) {
    console.log(JSON.stringify(set));
    console.error(`\nThe JSON above is a PRIVATE key set: keep it out of git, chat and logs. To install it and rotate it
one command per step, keep it as a file instead:  npm run keys -- new --production  (docs/key-rotation.md).`);
    return;
  }
  if (place.local) fail("new --local would log everyone out of npm run dev: `rotate --local` adds a key and keeps the old one.");
  if (existsSync(place.path)) refuse(`${shown} exists: it holds keys that may be in use. Rotate them (\`rotate\`, or \`add\` then \`promote\`).`);
  writeKeyFile(set);
  console.error(`Wrote a new key set to ${shown} (mode 600; "${set.keys[0].kid}" signs). Install it:\n\n${putCommand()}`);
}

async function step() {
  if (place === null) fail(`${command} needs the key set: --local, --production or --keys FILE.`);
  const set = await currentSet();
  let next;
  let report;
  if (command === "rotate") {
    next = rotateKey(set, await newKey(), now);
    report = `"${next.keys[0].kid}" signs from now on; ${names(set.keys)} still verif${set.keys.length > 1 ? "y" : "ies"} the tokens signed before.`;
  } else if (command === "add") {
    next = addKey(set, await newKey(), now);
    report = `"${next.keys[1].kid}" is published and verifies; "${next.keys[0].kid}" still signs. Once the secret is in place, wait ${JWKS_MAX_AGE_SECONDS} s, then: npm run keys -- promote ${placeFlag()}`;
  } else if (command === "promote") {
    next = promoteKey(set, now, { force: options.force });
    report = `"${next.keys[0].kid}" signs from now on; "${set.keys[0].kid}" still verifies the tokens it signed.`;
  } else {
    const retired = retireKeys(set, now, { waitSeconds: options.force ? 0 : await accessTokenWaitSeconds(), force: options.force });
    next = retired.set;
    report = `dropped ${names(retired.dropped.map((kid) => ({ kid })))}: tokens they signed no longer verify. "${next.keys[0].kid}" signs.`;
  }
  // Never write a set the worker would refuse: it would take the gateway down for every request.
  await checkedKeySet(JSON.stringify(next));
  if (place.local) replaceDevVar("SIGNING_KEYS", JSON.stringify(next), place.path);
  else writeKeyFile(next);
  const retireHint =
    command === "rotate" || command === "promote" ? `\nRetire the old keys once their tokens have expired: npm run keys -- retire ${placeFlag()}` : "";
  if (place.local) console.error(`${shown}: ${report}${retireHint}\nRestart npm run dev if it is running: wrangler reads .dev.vars when it starts.`);
  else console.error(`${shown}: ${report}${retireHint}\nPut it now:\n\n${putCommand()}`);
}

/** The key set at `place`, checked with the worker's rules; refuses (exit 1) when it is missing or unusable. */
async function currentSet() {
  let text;
  if (place.local) {
    text = readDevVar("SIGNING_KEYS", place.path);
    if (!text) refuse(`${shown} has no SIGNING_KEYS line: npm run dev writes one.`);
  } else {
    if (!existsSync(place.path)) {
      refuse(`no key set at ${shown}: \`npm run keys -- new ${placeFlag()}\` makes one, or copy your current SIGNING_KEYS there (mode 600).`);
    }
    text = readFileSync(place.path, "utf8");
  }
  try {
    // `rotate` puts a new signer in front, so the current keys need only verify: a set of public
    // keys (the gateway's published JWKS) will do when the private copy is lost.
    await checkedKeySet(text, { signerMustBePrivate: command !== "rotate" });
    const parsed = JSON.parse(text);
    const set = Array.isArray(parsed) ? { keys: parsed } : parsed;
    checkedRotationState(set);
    return set;
  } catch (error) {
    if (!(error instanceof KeySetError)) throw error;
    refuse(`the key set in ${shown} would take the gateway down: ${error.message}`);
  }
}

/**
 * How long `retire` waits after the signer began to sign: ACCESS_TOKEN_TTL_SECONDS plus
 * CLOCK_SKEW_SECONDS, as the deployment reads them (wrangler.toml's [vars], for --env its
 * [env.NAME.vars]); locally, .dev.vars overrides them as it does for `wrangler dev`.
 */
async function accessTokenWaitSeconds() {
  const vars = deployVars(await readWranglerConfig(options.env ? ["--env", options.env] : []));
  const seconds = (name) => {
    const value = (place.local ? readDevVar(name, place.path) : null) || vars[name];
    if (!/^\d+$/.test(String(value ?? ""))) refuse(`${name} must be a whole number of seconds to know how long to wait, got "${value}".`);
    return Number(value);
  };
  return seconds("ACCESS_TOKEN_TTL_SECONDS") + seconds("CLOCK_SKEW_SECONDS");
}

/** Writes the key set to its file, mode 600 in a 700 directory, through a rename so no reader sees half a set. */
function writeKeyFile(set) {
  mkdirSync(dirname(place.path), { recursive: true, mode: 0o700 });
  const partial = `${place.path}.partial`;
  writeFileSync(partial, `${JSON.stringify(set)}\n`, { mode: 0o600 });
  renameSync(partial, place.path);
}

function putCommand() {
  return `  npx wrangler secret put SIGNING_KEYS${options.env ? ` --env ${options.env}` : ""} < ${shown}`;
}

function placeFlag() {
  if (place.local) return `--local${options["dev-vars"] ? ` --dev-vars ${shown}` : ""}`;
  return options.keys !== undefined ? `--keys ${shown}` : "--production";
}

function names(keys) {
  return keys.map((key) => `"${key.kid}"`).join(", ");
}

// A usage mistake: the message and the usage text, exit code 2.
function fail(message) {
  console.error(`keys: ${message}\n\n${USAGE}`);
  process.exit(2);
}

// The input cannot be used or the step must wait: one line saying why, exit code 1, nothing written.
function refuse(message) {
  console.error(`keys: ${message}`);
  process.exit(1);
}

#!/usr/bin/env node
// npm run keys [-- --alg EdDSA] [--kid NAME] [--prepend-to current.json] [--out FILE]
//
// Prints a new production signing key set (a JSON JWK set of private keys) on stdout and how to
// install and rotate it on stderr, so `npm run --silent keys > keys.json` captures only the JSON.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ALGORITHMS, newSigningKeySet } from "./lib/signing-keys.mjs";

const USAGE = `Usage: npm run keys [-- options]

  --alg ES256|EdDSA     signing algorithm (default ES256)
  --kid NAME            key id (default: today's date and the key's thumbprint, e.g. 2026-11-26-3q2Q8Zk1)
  --prepend-to FILE     rotation: put the new key first and keep the keys of FILE (your current
                        SIGNING_KEYS) after it, so tokens they signed still verify
  --out FILE            write the key set to FILE (mode 600) instead of stdout
  -h, --help            this text`;

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      alg: { type: "string", default: "ES256" },
      kid: { type: "string" },
      "prepend-to": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  fail(error.message);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
if (options.kid !== undefined && !/^[\w.-]{1,64}$/.test(options.kid)) fail("--kid must be 1-64 letters, digits, '.', '_' or '-'.");
if (!ALGORITHMS.includes(options.alg)) fail(`--alg must be one of ${ALGORITHMS.join(", ")}, got "${options.alg}".`);

let previous = [];
if (options["prepend-to"]) {
  try {
    const current = JSON.parse(readFileSync(options["prepend-to"], "utf8"));
    previous = Array.isArray(current) ? current : current.keys;
    if (!Array.isArray(previous) || previous.length === 0) throw new Error('expected a JWK set {"keys":[...]}');
  } catch (error) {
    fail(`cannot read the current key set from ${options["prepend-to"]}: ${error.message}`);
  }
}

const set = await newSigningKeySet({ alg: options.alg, kid: options.kid, previous });
const json = JSON.stringify(set);
const newKid = set.keys[0].kid;

if (options.out) {
  writeFileSync(options.out, `${json}\n`, { mode: 0o600 });
  console.error(`Wrote a ${set.keys.length}-key set to ${options.out} (signing key "${newKid}", ${options.alg}).`);
} else {
  console.log(json);
}

const source = options.out ?? "keys.json";
console.error(`
${options.out ? "It is" : "The JSON above is"} a PRIVATE key set: keep it out of git, chat and logs.${options.out ? "" : `
Save it with:  npm run --silent keys${options.alg === "ES256" ? "" : ` -- --alg ${options.alg}`} > keys.json   (or use --out keys.json)`}

Install it as the worker's secret (wrangler reads the value from stdin):
  npx wrangler secret put SIGNING_KEYS < ${source}

Rotation (no one is logged out):
  1. Make a set whose FIRST key is new and whose second is the current one:
       npm run --silent keys -- --prepend-to current-keys.json --out next-keys.json
  2. npx wrangler secret put SIGNING_KEYS < next-keys.json
     New access tokens are signed with the new key; tokens signed with the old key still verify,
     and /.well-known/jwks.json publishes both public halves.
  3. Once ACCESS_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS have passed, every token the old key
     signed has expired: drop it from the set and put the secret again. Refresh tokens do not
     depend on these keys and keep working throughout.
  If your origin verifies tokens itself from /.well-known/jwks.json (cached up to 300 s), put the
  new key SECOND first, wait 300 s so every origin has seen it, then swap it to the front.`);

function fail(message) {
  console.error(`keys: ${message}\n\n${USAGE}`);
  process.exit(2);
}

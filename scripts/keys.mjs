#!/usr/bin/env node
// npm run keys [-- --alg EdDSA] [--kid NAME] [--prepend-to|--append-to current.json] [--out FILE]
//
// Prints a new production signing key set (a JSON JWK set of private keys) on stdout and how to
// install and rotate it on stderr, so `npm run --silent keys > keys.json` captures only the JSON.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ALGORITHMS, checkedKeySet, KeySetError, newSigningKeySet } from "./lib/signing-keys.mjs";

const USAGE = `Usage: npm run keys [-- options]

  --alg ES256|EdDSA     signing algorithm (default ES256)
  --kid NAME            key id (default: today's date and the key's thumbprint, e.g. 2026-11-26-3q2Q8Zk1)
  --append-to FILE      rotation, step 1: keep the keys of FILE (your current SIGNING_KEYS) and
                        add the new key second: it is published and verifies, but does not sign yet
  --prepend-to FILE     rotation in one step: put the new key first (it signs from now on) and
                        keep the keys of FILE after it, so tokens they signed still verify
  --out FILE            write the key set to FILE (mode 600) instead of stdout
  -h, --help            this text`;

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      alg: { type: "string", default: "ES256" },
      kid: { type: "string" },
      "prepend-to": { type: "string" },
      "append-to": { type: "string" },
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

if (options["prepend-to"] && options["append-to"]) fail("use --prepend-to or --append-to, not both.");
const currentFile = options["prepend-to"] ?? options["append-to"];
const position = options["append-to"] ? "second" : "first";

let previous = [];
if (currentFile) {
  let text;
  try {
    text = readFileSync(currentFile, "utf8");
  } catch (error) {
    refuse(`cannot read the current key set from ${currentFile}: ${error.message}`);
  }
  try {
    previous = await checkedKeySet(text);
  } catch (error) {
    if (!(error instanceof KeySetError)) throw error;
    refuse(`the current key set in ${currentFile} would take the gateway down: ${error.message}`);
  }
}

let set;
try {
  set = await newSigningKeySet({ alg: options.alg, kid: options.kid, previous, position });
} catch (error) {
  if (!(error instanceof KeySetError)) throw error;
  refuse(error.message);
}
const json = JSON.stringify(set);
const newKid = set.keys[position === "first" ? 0 : 1].kid;
const signerKid = set.keys[0].kid;

if (options.out) {
  writeFileSync(options.out, `${json}\n`, { mode: 0o600 });
  const role = position === "first" ? "it signs" : `it verifies; "${signerKid}" still signs`;
  console.error(`Wrote a ${set.keys.length}-key set to ${options.out} (new key "${newKid}", ${options.alg}: ${role}).`);
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
  1. Publish a new key next to the current one: it goes SECOND, verifies and is published at
     /.well-known/jwks.json, but does not sign yet.
       npm run --silent keys -- --append-to current-keys.json --out next-keys.json
       npx wrangler secret put SIGNING_KEYS < next-keys.json
  2. Once everything that caches the JWKS has seen it (up to 300 s), make it the signer: move it
     to the front and put the set again.
       (umask 077 && jq -c '.keys |= [.[1], .[0]] + .[2:]' next-keys.json > signing-keys.json)
       npx wrangler secret put SIGNING_KEYS < signing-keys.json
     Tokens signed with the old key still verify.
  3. Once ACCESS_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS have passed, every token the old key
     signed has expired: drop it from the set and put the secret again. Refresh tokens do not
     depend on these keys and keep working throughout.
  When only the gateway verifies your tokens, --prepend-to does 1 and 2 at once: the new key goes
  first and signs right away.`);

// A usage mistake: the message and the usage text, exit code 2.
function fail(message) {
  console.error(`keys: ${message}\n\n${USAGE}`);
  process.exit(2);
}

// The input cannot be used: one line saying why, exit code 1, nothing written.
function refuse(message) {
  console.error(`keys: ${message}`);
  process.exit(1);
}

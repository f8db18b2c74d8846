#!/usr/bin/env node
// npm run readme:walkthrough [-- --write]
//
// Runs the curl walk-throughs of docs/walkthrough.md and the README's example word for word, as a
// reader would: for each region between `<!-- walkthrough... -->` and `<!-- /walkthrough... -->`,
// starts the `npm run dev ...` command shown last before it in the same file (on 127.0.0.1:8787,
// with a temporary --persist-to shared by the regions of one file: each file is a reader starting
// from empty state), runs the region's ```sh blocks in one bash session (a later region of a file
// starts with the first block of its first one: GW and ADMIN), and compares each block's output
// with the output block that follows it. --write puts the fresh outputs into the files (tokens
// shortened). Exits non-zero when a command fails or an output's shape differs.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ROOT } from "./lib/dev-vars.mjs";
import { stopProcessGroup } from "./lib/wrangler.mjs";

const DOCUMENTS = [join(ROOT, "docs", "walkthrough.md"), join(ROOT, "README.md")];
const write = process.argv.includes("--write");
const GATEWAY = "http://127.0.0.1:8787";

let state = null;
let server = null;
let problems = 0;

try {
  if (await reachable()) fail(`something already answers on ${GATEWAY}; stop it first`);
  for (const document of DOCUMENTS) await runDocument(document);
} finally {
  await stopServer();
  if (state) rmSync(state, { recursive: true, force: true });
}
if (problems > 0) log(`${problems} problem(s)`);
else log(write ? "every walk-through command ran; outputs written" : "every walk-through command ran and its output matched the documents");
process.exit(problems === 0 ? 0 : 1);

/** Runs every walk-through region of one Markdown file against a fresh local state. */
async function runDocument(path) {
  const file = relative(ROOT, path);
  let text = readFileSync(path, "utf8");
  const regions = [...text.matchAll(/<!-- (walkthrough(?::[\w-]+)?) -->([\s\S]*?)<!-- \/\1 -->/g)].map((match) => ({
    name: `${file} ${match[1]}`,
    body: match[2],
    // The server a reader runs for this region: the last `npm run dev` line of a sh block above it.
    devCommand: [...text.slice(0, match.index).matchAll(/```sh\n([\s\S]*?)```/g)]
      .flatMap((block) => block[1].split("\n"))
      .filter((line) => /^npm run dev\b/.test(line))
      .at(-1),
  }));
  if (regions.length === 0) fail(`no <!-- walkthrough --> region in ${file}`);

  state = mkdtempSync(join(tmpdir(), "edge-auth-readme-"));
  let prelude = null;
  for (const { name, body, devCommand } of regions) {
    if (!devCommand) fail(`no \`npm run dev\` block before <!-- ${name} -->`);
    log(`${name}: ${devCommand}`);
    await startServer(devCommand);

    const blocks = codeBlocks(body);
    const commands = blocks.filter((block) => block.lang === "sh");
    const first = prelude === null;
    prelude ??= commands[0].code;
    const script = [
      "set -u",
      ...(first ? [] : [prelude]),
      // A blank line first: the previous block's output may not end with a newline (curl -i).
      ...commands.map((block, index) => `echo; echo '@@${index}@@'\n${block.code}`),
    ].join("\n");
    const run = spawnSync("bash", ["-c", script], { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
    if (run.status !== 0) {
      problems += 1;
      log(`${name}: bash exited ${run.status}: ${run.stderr}`);
    } else if (run.stderr.trim() !== "") {
      log(`${name}: stderr: ${run.stderr.trim()}`);
    }
    const outputs = run.stdout.split(/^@@(\d+)@@\n/m).slice(1);
    const outputOf = new Map();
    for (let index = 0; index < outputs.length; index += 2) outputOf.set(Number(outputs[index]), shorten(outputs[index + 1]));

    const replacements = [];
    commands.forEach((block, index) => {
      const fresh = outputOf.get(index) ?? "";
      const shown = block.output;
      if (!shown) {
        if (fresh.trim() !== "") {
          problems += 1;
          log(`${name}, block ${index + 1}: prints output but ${file} shows none:\n${fresh}`);
        }
        return;
      }
      if (shape(fresh) !== shape(shown.code)) {
        problems += write ? 0 : 1;
        log(`${name}, block ${index + 1} ("${block.code.split("\n")[0]}"): output differs.\n--- ${file}\n${shown.code}\n--- now\n${fresh}`);
      }
      replacements.push({ start: shown.index, end: shown.end, block: `\`\`\`${shown.lang}\n${fresh}\`\`\`` });
    });
    if (write) {
      // By position, last first: several output blocks can read alike ("204").
      let updated = body;
      for (const { start, end, block } of replacements.reverse()) updated = updated.slice(0, start) + block + updated.slice(end);
      text = text.replace(body, () => updated);
    }
    await stopServer();
  }
  rmSync(state, { recursive: true, force: true });
  state = null;
  if (write) {
    writeFileSync(path, text);
    log(`${file} updated with the fresh outputs`);
  }
}

/** The fenced blocks of a region, each ```sh block paired with the non-sh block right after it. */
function codeBlocks(body) {
  const blocks = [...body.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((match) => ({
    lang: match[1],
    code: match[2],
    raw: match[0],
    index: match.index,
    end: match.index + match[0].length,
  }));
  blocks.forEach((block, index) => {
    const next = blocks[index + 1];
    if (block.lang === "sh" && next && next.lang !== "sh" && body.slice(block.end, next.index).trim() === "") block.output = next;
  });
  return blocks;
}

/** Long tokens cut to a recognisable prefix, as the documents show them. */
function shorten(output) {
  return output
    .replace(/\r\n/g, "\n")
    .replace(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/g, (jwt) => `${jwt.slice(0, 24)}…`)
    .replace(/rt1\.([0-9a-f]{64})\.([0-9a-f-]{36})\.(\d+)\.([\w-]{43})/g, (_, object, session, generation, mac) => `rt1.${object.slice(0, 8)}….${session}.${generation}.${mac.slice(0, 6)}…`)
    .replace(/^\n+/, "")
    .replace(/\n*$/, "\n");
}

/** What must stay the same between runs: the text with ids, times, keys and numbers blanked. */
function shape(output) {
  return output
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "<uuid>")
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>")
    .replace(/rt1\.[0-9a-f]{8}…\.<uuid>\.\d+\.[\w-]{6}…/g, "<refresh token>")
    .replace(/eyJ[\w-]{21}…/g, "<jwt>")
    .replace(/"(kid|x|y)": "[^"]*"/g, '"$1": "<key>"')
    .replace(/Content-Length: \d+/g, "Content-Length: <n>")
    .replace(/(Try again in|Retry-After:) \d+/g, "$1 <n>")
    .replace(/curl\/[\d.]+/g, "curl/<version>")
    .trim();
}

async function startServer(command) {
  const args = command.replace(/^npm run dev\s*(--\s*)?/, "").split(/\s+/).filter(Boolean);
  server = spawn(process.execPath, [join(ROOT, "scripts", "dev.mjs"), ...args, "--persist-to", state], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  server.stdout.on("data", (chunk) => (output += chunk));
  server.stderr.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) fail(`npm run dev exited:\n${output}`);
    if (await reachable()) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  fail(`npm run dev was not ready within 90 s:\n${output}`);
}

async function stopServer() {
  const child = server;
  server = null;
  // SIGKILL after 10 s: on a busy machine wrangler has been seen to hang on SIGTERM for good.
  await stopProcessGroup(child);
  // wrangler lets go of the port a moment after it exits.
  for (let tries = 0; tries < 50 && (await reachable()); tries += 1) await new Promise((resolve) => setTimeout(resolve, 200));
}

async function reachable() {
  try {
    const response = await fetch(`${GATEWAY}/.well-known/jwks.json`, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

function log(message) {
  console.error(`readme: ${message}`);
}

function fail(message) {
  log(message);
  if (server) {
    try {
      process.kill(-server.pid, "SIGKILL");
    } catch {}
  }
  if (state) rmSync(state, { recursive: true, force: true });
  process.exit(1);
}

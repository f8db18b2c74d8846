import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { ROOT } from "./dev-vars.mjs";

const BIN = join(ROOT, "node_modules", ".bin");

/**
 * The environment for wrangler children: the project's node_modules/.bin first on PATH (so the
 * `node` devDependency, Node 22, runs wrangler even when this script was started by an older
 * system Node), no usage metrics and no `request.cf` download: nothing leaves the machine.
 * `unattended` also sets CI=true: no prompts, no hotkeys.
 */
export function wranglerEnv({ unattended = false } = {}) {
  const env = {
    ...process.env,
    PATH: `${BIN}${delimiter}${process.env.PATH ?? ""}`,
    WRANGLER_SEND_METRICS: "false",
    // Miniflare would otherwise download the `request.cf` sample from Cloudflare on start.
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
  if (unattended) env.CI = "true";
  return env;
}

/** Runs `wrangler <args>` to completion with no stdin; resolves with its exit code. */
export function runWrangler(args, { quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(BIN, "wrangler"), args, {
      cwd: ROOT,
      env: wranglerEnv({ unattended: true }),
      stdio: ["ignore", quiet ? "pipe" : "inherit", quiet ? "pipe" : "inherit"],
    });
    let output = "";
    child.stdout?.on("data", (chunk) => (output += chunk));
    child.stderr?.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (quiet && code !== 0) process.stderr.write(output);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/** Runs `wrangler <args>` to completion with no stdin; resolves with its exit code and its output (stdout and stderr). */
export function wranglerOutput(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(BIN, "wrangler"), args, { cwd: ROOT, env: wranglerEnv({ unattended: true }), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

/** Starts `wrangler <args>` and returns the child process (stdin closed unless `interactive`). */
export function startWrangler(args, { interactive = false, detached = false, stdio } = {}) {
  return spawn(join(BIN, "wrangler"), args, {
    cwd: ROOT,
    env: wranglerEnv({ unattended: !interactive }),
    stdio: stdio ?? [interactive ? "inherit" : "ignore", "inherit", "inherit"],
    detached,
  });
}

/** The value of `--name VALUE` or `--name=VALUE` in an argument list (the first one), or undefined. */
export function optionValue(args, name) {
  return optionValues(args, name)[0];
}

/** Every value of `--name VALUE` or `--name=VALUE` in an argument list, in order. */
export function optionValues(args, name) {
  return args.flatMap((arg, index) => (arg === name ? [args[index + 1]] : arg.startsWith(`${name}=`) ? [arg.slice(name.length + 1)] : []));
}

/**
 * The NAME:VALUE entries of every `--var` in a `wrangler dev` or `wrangler deploy` argument list.
 * wrangler's `--var` (a greedy yargs array) takes every word up to the next option, after
 * `--var A:1 B:2` and `--var=A:1 B:2` alike.
 */
export function varEntries(args) {
  const entries = [];
  for (const [index, arg] of args.entries()) {
    if (arg !== "--var" && !arg.startsWith("--var=")) continue;
    if (arg !== "--var") entries.push(arg.slice("--var=".length));
    for (const word of args.slice(index + 1)) {
      if (word.startsWith("-")) break;
      entries.push(word);
    }
  }
  return entries;
}

/** The value an argument list gives the variable `name` with `--var NAME:VALUE` (the last one wins, as in wrangler), or undefined. */
export function varValue(args, name) {
  const entry = varEntries(args).findLast((candidate) => candidate.startsWith(`${name}:`));
  return entry === undefined ? undefined : entry.slice(name.length + 1);
}

/**
 * The URL a `wrangler dev` started with `args` serves on, from its `--ip`, `--port` and
 * `--local-protocol` (wrangler's defaults otherwise): what `ISSUER` must be for tokens and
 * discovery to name the server that issued them. A wildcard address (0.0.0.0, ::) is reached
 * through loopback on this machine, so the URL names loopback.
 */
export function devServerUrl(args) {
  const protocol = optionValue(args, "--local-protocol") ?? "http";
  const port = optionValue(args, "--port") ?? "8787";
  let host = (optionValue(args, "--ip") ?? "localhost").replace(/^\[(.*)\]$/, "$1");
  if (host === "0.0.0.0" || host === "*") host = "127.0.0.1";
  if (host === "::") host = "::1";
  return `${protocol}://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** `--var ISSUER:<url>` for a `wrangler dev` started with `args`: the URL it serves on (`devServerUrl`). */
export function localIssuerArgs(args) {
  return ["--var", `ISSUER:${devServerUrl(args)}`];
}

/**
 * What `npm run dev` adds to the user's `wrangler dev` arguments `extra`: loopback and port 8787
 * unless given, the demo and the dev message log (`DEV_MESSAGE_LOG`: messages to users go to the
 * log while there is no `WEBHOOK_URL`) on unless a `--var` says otherwise, and `ISSUER` set to the URL
 * it serves on unless a `--var ISSUER:...` or the vars file wrangler reads (`issuerInVarsFile`)
 * sets it. They go after `extra`: before it, a `--var` of ours would take the user's first
 * positional argument (a script path) as one more variable.
 */
export function devDefaults(extra, { issuerInVarsFile = false } = {}) {
  const defaults = [];
  if (optionValue(extra, "--ip") === undefined) defaults.push("--ip", "127.0.0.1");
  if (optionValue(extra, "--port") === undefined) defaults.push("--port", "8787");
  if (varValue(extra, "DEMO") === undefined) defaults.push("--var", "DEMO:true");
  // Without a WEBHOOK_URL, messages to users (codes, reset links) go to the log: local only.
  if (varValue(extra, "DEV_MESSAGE_LOG") === undefined) defaults.push("--var", "DEV_MESSAGE_LOG:true");
  if (varValue(extra, "ISSUER") === undefined && !issuerInVarsFile) defaults.push(...localIssuerArgs([...extra, ...defaults]));
  return defaults;
}

/**
 * The files `wrangler dev` with `args` reads variables from, in the order it applies them: each
 * `--env-file`, or else `.dev.vars.<env>` (with `--env`, when it exists) or `.dev.vars`, next to
 * the config file.
 */
export function devVarsFiles(args, root = ROOT) {
  const envFiles = optionValues(args, "--env-file");
  if (envFiles.length > 0) return envFiles.map((file) => resolve(root, file));
  const config = optionValue(args, "--config") ?? optionValue(args, "-c");
  const dir = config ? dirname(resolve(root, config)) : root;
  const env = optionValue(args, "--env") ?? optionValue(args, "-e");
  if (env !== undefined && existsSync(join(dir, `.dev.vars.${env}`))) return [join(dir, `.dev.vars.${env}`)];
  return [join(dir, ".dev.vars")];
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `url` answers 2xx from the `wrangler dev` child `wrangler`; throws if it exits or `timeoutMs` pass. */
export async function waitUntilReady(wrangler, url, timeoutMs) {
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

/**
 * Stops a `wrangler dev` started with `startWrangler(..., { detached: true })`: SIGTERM to its
 * process group (wrangler and its workerd), SIGKILL if it is still there 10 s later.
 */
export async function stopProcessGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const signal = (name) => {
    try {
      process.kill(-child.pid, name);
    } catch {}
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The `wrangler dev` arguments of an unattended local server: loopback only, its own state, quiet. */
export function localDevArgs({ port, inspectorPort, persistTo }) {
  return ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persistTo, "--log-level", "warn"];
}

import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
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

/** The value of `--name VALUE` or `--name=VALUE` in an argument list, or undefined. */
export function optionValue(args, name) {
  for (const [index, arg] of args.entries()) {
    if (arg === name) return args[index + 1];
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
  }
  return undefined;
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

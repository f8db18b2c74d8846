// The `wrangler dev` servers of `npm run bench`: the bench worker and the peers' workers, each a
// detached process group (wrangler and its workerd) on a free port of 127.0.0.1 with its state
// under the run's temporary folder, all from this project's wrangler install. Every one started
// is stopped by `stopAll`, whatever way the run ends.
import { openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, localDevArgs, startWrangler, stopProcessGroup, waitUntilReady } from "../scripts/lib/wrangler.mjs";

const READY_TIMEOUT_MS = 90_000;
const running = new Set();

/**
 * Starts `wrangler dev --config <config>` on a free port with state in `persistTo`, its output
 * appended to `logPath`; `extra(base)` gives more arguments once the origin is known (`--var`,
 * `--env-file`). Resolves once `readyPath` answers 2xx, with `{ base, stop }`.
 */
export async function startServer({ config, persistTo, logPath, readyPath, extra = () => [] }) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const output = openSync(logPath, "a");
  const child = startWrangler([...localDevArgs({ port, inspectorPort, persistTo }), "--config", config, ...extra(base)], {
    detached: true,
    stdio: ["ignore", output, output],
  });
  running.add(child);
  const stop = async () => {
    running.delete(child);
    await stopProcessGroup(child);
  };
  try {
    await waitUntilReady(child, `${base}${readyPath}`, READY_TIMEOUT_MS);
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, stop };
}

/** Stops every server still running. */
export async function stopAll() {
  await Promise.all([...running].map((child) => stopProcessGroup(child)));
  running.clear();
}

/** The last lines of every server log in the run's folder `state`, for a failed run's message. */
export function logTails(state, lines = 30) {
  let names = [];
  try {
    names = readdirSync(state).filter((name) => name.endsWith(".log"));
  } catch {}
  return names.map((name) => `--- last lines of ${name} ---\n${readFileSync(join(state, name), "utf8").split("\n").slice(-lines).join("\n")}`).join("\n");
}

/** Where the state and the log of the server `name` (a peer's, a side server's) go under the run's folder `state`. */
export function serverPaths(state, name) {
  return { persistTo: join(state, name), logPath: join(state, `${name}.log`) };
}

/** The bench worker's limits the cost curves go up to, read from its wrangler.toml by wrangler's own reader. */
export async function benchWorkerLimits(config) {
  const { unstable_readConfig } = await import("wrangler");
  const vars = unstable_readConfig({ config }).vars;
  return {
    maxSessionsPerUser: Number(vars.MAX_SESSIONS_PER_USER),
    maxFailuresPerIp: Number(vars.LOGIN_MAX_FAILURES_PER_IP),
    maxFailuresPerUsername: Number(vars.LOGIN_MAX_FAILURES_PER_USERNAME),
  };
}

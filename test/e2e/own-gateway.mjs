// A `wrangler dev` of the gateway of a test file's own, for tests that need settings the shared one
// (scripts/e2e.mjs) does not have: fresh local state in a temporary folder, free ports of
// 127.0.0.1, the D1 migrations applied, the issuer set to its own URL, and the file's `--var`s.
import assert from "node:assert/strict";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devServerUrl, freePort, localDevArgs, localIssuerArgs, runWrangler, startWrangler, stopProcessGroup, waitUntilReady } from "../../scripts/lib/wrangler.mjs";

/** A free port is only free until someone takes it: test files run side by side, each picking ports. */
const PORT_ATTEMPTS = 3;

/**
 * A gateway that `start(vars)` starts with `vars` (`{ NAME: "value" }`), resolving once it answers
 * at `url`; `stop()` ends it and removes its state. A port another process took between being
 * picked and being bound is picked again, so `url` is known once `start` resolved.
 *
 * @example
 * const gateway = ownGateway("claims");
 * await gateway.start({ CLAIMS_HOOK_URL: hookUrl });
 * await fetch(`${gateway.url}/auth/login`, ...);
 * await gateway.stop();
 */
export function ownGateway(label) {
  const state = mkdtempSync(join(tmpdir(), `edge-auth-${label}-e2e-`));
  const logPath = join(state, "wrangler.log");
  let wrangler = null;
  let url = null;
  return {
    get url() {
      assert.ok(url, "the gateway has not started");
      return url;
    },
    async start(vars) {
      const migrated = await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { quiet: true });
      assert.equal(migrated, 0, "wrangler d1 migrations apply failed");
      const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
      for (let attempt = 1; ; attempt += 1) {
        const devArgs = localDevArgs({ port: await freePort(), inspectorPort: await freePort(), persistTo: state });
        const logged = readLog(logPath).length;
        wrangler = startWrangler([...devArgs, ...localIssuerArgs(devArgs), ...varArgs], { detached: true, stdio: ["ignore", openSync(logPath, "a"), openSync(logPath, "a")] });
        try {
          await waitUntilReady(wrangler, `${devServerUrl(devArgs)}/.well-known/jwks.json`, 90_000);
          url = devServerUrl(devArgs);
          return;
        } catch (error) {
          await stopProcessGroup(wrangler);
          const output = readLog(logPath).slice(logged);
          if (attempt < PORT_ATTEMPTS && output.includes("Address already in use")) continue;
          console.error(output.split("\n").slice(-30).join("\n"));
          throw error;
        }
      }
    },
    async stop() {
      if (wrangler !== null) await stopProcessGroup(wrangler);
      rmSync(state, { recursive: true, force: true });
    },
  };
}

function readLog(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

// A `wrangler dev` of the gateway of a test file's own, for tests that need settings the shared one
// (scripts/e2e.mjs) does not have: fresh local state in a temporary folder, free ports of
// 127.0.0.1, the D1 migrations applied, the issuer set to its own URL, and the file's `--var`s.
import assert from "node:assert/strict";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devServerUrl, freePort, localDevArgs, localIssuerArgs, runWrangler, startWrangler, stopProcessGroup, waitUntilReady } from "../../scripts/lib/wrangler.mjs";

/**
 * Reserves a gateway's address (`url` is known before it starts, so servers beside it can be told
 * where it is); `start(vars)` starts it with `vars` (`{ NAME: "value" }`) and resolves once it
 * answers; `stop()` ends it and removes its state.
 *
 * @example
 * const gateway = await ownGateway("claims");
 * await gateway.start({ CLAIMS_HOOK_URL: hookUrl });
 * await fetch(`${gateway.url}/auth/login`, ...);
 * await gateway.stop();
 */
export async function ownGateway(label) {
  const state = mkdtempSync(join(tmpdir(), `edge-auth-${label}-e2e-`));
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const devArgs = localDevArgs({ port, inspectorPort, persistTo: state });
  let wrangler = null;
  return {
    url: devServerUrl(devArgs),
    async start(vars) {
      const migrated = await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { quiet: true });
      assert.equal(migrated, 0, "wrangler d1 migrations apply failed");
      const log = openSync(join(state, "wrangler.log"), "a");
      const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
      wrangler = startWrangler([...devArgs, ...localIssuerArgs(devArgs), ...varArgs], { detached: true, stdio: ["ignore", log, log] });
      try {
        await waitUntilReady(wrangler, `${devServerUrl(devArgs)}/.well-known/jwks.json`, 90_000);
      } catch (error) {
        console.error(readFileSync(join(state, "wrangler.log"), "utf8").split("\n").slice(-30).join("\n"));
        throw error;
      }
    },
    async stop() {
      if (wrangler !== null) await stopProcessGroup(wrangler);
      rmSync(state, { recursive: true, force: true });
    },
  };
}

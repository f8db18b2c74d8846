import { resolve } from "node:path";
import { ROOT } from "./dev-vars.mjs";
import { optionValue, varEntries } from "./wrangler.mjs";

/**
 * The configuration wrangler uses for a command with `args` (its `--config`/`-c` and
 * `--env`/`-e`), read by wrangler itself: `[env.<name>]` sections and JSON configs work as in
 * `wrangler deploy`. Importing wrangler takes a second or two, so only the commands that need
 * the configuration read it.
 */
export async function readWranglerConfig(args = []) {
  const { unstable_readConfig } = await import("wrangler");
  const config = optionValue(args, "--config") ?? optionValue(args, "-c") ?? "wrangler.toml";
  const env = optionValue(args, "--env") ?? optionValue(args, "-e");
  return unstable_readConfig({ config: resolve(ROOT, config), env }, { hideWarnings: true });
}

/** The plain variables a `wrangler deploy` with `args` gives the worker: the config's `vars`, then each `--var NAME:VALUE` (the last one wins). */
export function deployVars(config, args = []) {
  const vars = { ...(config.vars ?? {}) };
  for (const entry of varEntries(args)) {
    const colon = entry.indexOf(":");
    if (colon > 0) vars[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return vars;
}

// `npm run <script> --name value`, without `--` in front, does not reach the script: npm takes
// `--name` as its own config (`npm_config_name=true` in the script's environment) and passes only
// `value` on. Options of `wrangler dev` that npm swallows this way, by npm's config name.
const WRANGLER_OPTIONS = {
  var: "--var",
  port: "--port",
  ip: "--ip",
  persist_to: "--persist-to",
  inspector_port: "--inspector-port",
  log_level: "--log-level",
  local_protocol: "--local-protocol",
};

const VAR_ENTRY = /^[A-Za-z_][A-Za-z0-9_]*:/;

/**
 * When npm swallowed options meant for wrangler, the command the user meant
 * (`npm run dev -- --var A:1 ...`) and the options npm kept; otherwise null. `env` is the
 * script's environment, `args` the arguments it received (the swallowed options' values among
 * them when they were written `--var A:1`; in `env` when written `--var=A:1`).
 */
export function forgottenDoubleDash(env, args, script = "dev") {
  const swallowed = Object.entries(WRANGLER_OPTIONS).filter(([key]) => env[`npm_config_${key}`] !== undefined);
  if (swallowed.length === 0) return null;
  const positional = [...args];
  const take = (matches) => {
    const index = positional.findIndex(matches);
    return index === -1 ? null : positional.splice(index, 1)[0];
  };
  const options = [];
  const rebuilt = [];
  for (const [key, flag] of swallowed) {
    options.push(flag);
    // npm joins the values of a repeated option with a blank line.
    for (const value of String(env[`npm_config_${key}`]).split("\n\n")) {
      // "true": the value came apart and is among the arguments; a var's looks like NAME:VALUE.
      const taken = value !== "true" ? value : key === "var" ? take((arg) => VAR_ENTRY.test(arg)) : take((arg) => !VAR_ENTRY.test(arg) && !arg.startsWith("-"));
      rebuilt.push(flag, ...(taken === null ? [] : [taken]));
    }
  }
  const command = ["npm", "run", script, "--", ...rebuilt, ...positional].map(shellWord).join(" ");
  return { options, command };
}

function shellWord(word) {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

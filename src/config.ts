import { BadValue } from "./config/parsers";
import { Setting, type SettingsTree, type ValuesOf } from "./config/setting";
import { SETTINGS } from "./config/settings";
import { originMatchesRpId } from "./config/webauthn-parsers";
import { misconfigured } from "./errors/auth-error";

/** The validated configuration of the gateway: every row of `SETTINGS` read through its parser. */
export type Config = ValuesOf<typeof SETTINGS>;

/** The settings the UserAuth Durable Object applies to sessions; it reads them from its own env. */
export type SessionSettings = Config["session"];

/** The brute-force limits of the built-in login, applied by the LoginThrottle objects. */
export type LoginLimits = Config["login"];

/** What happens when a used refresh token comes back: revoke every session of the user, or one. */
export type ReuseRevokes = SessionSettings["reuseRevokes"];

export type ConfigResult = { ok: true; config: Config } | { ok: false; variable: string; problem: string };

/**
 * Reads and validates the worker's variables. A bad value is reported with the variable's name,
 * never replaced by a default: a gateway that silently runs with a different TTL than its operator
 * set is worse than one that refuses to run.
 */
export function parseConfig(env: Env): ConfigResult {
  try {
    const config = valuesOf(SETTINGS, env as unknown as Record<string, unknown>) as Config;
    checkAcrossSettings(config);
    return { ok: true, config };
  } catch (error) {
    if (error instanceof BadVariable) return { ok: false, variable: error.variable, problem: error.message };
    throw error;
  }
}

const cache = new WeakMap<Env, ConfigResult>();

/**
 * The configuration of `env`, read once per `env` object (so once per isolate in production), or
 * 503 `server_misconfigured` naming the bad variable. The one way to the settings: the worker's
 * routes, the cron and both Durable Objects (each from its own env) call it, and none of them
 * falls back to a default when it throws.
 *
 * @example
 * const { session } = requireSettings(this.env);
 */
export function requireSettings(env: Env): Config {
  let result = cache.get(env);
  if (!result) {
    result = parseConfig(env);
    cache.set(env, result);
  }
  if (!result.ok) throw misconfigured(result.problem);
  return result.config;
}

class BadVariable extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}

/** The rules that tie one setting to another, checked once each row has read its own. */
function checkAcrossSettings(config: Config): void {
  if (config.webhooks.url !== null && config.webhooks.secret === null) {
    throw new BadVariable("WEBHOOK_SECRET", "must be set when WEBHOOK_URL is: every webhook is signed.");
  }
  // A browser refuses a passkey of one RP ID on a page of another domain: such an entry could never work.
  const stray = config.webauthn.origins.find((origin) => !originMatchesRpId(origin, config.webauthn.rpId));
  if (stray !== undefined) throw new BadVariable("WEBAUTHN_ORIGINS", `entries must be on WEBAUTHN_RP_ID (${config.webauthn.rpId}) or a subdomain of it, got "${stray}".`);
}

function valuesOf(tree: SettingsTree, vars: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(tree).map(([key, node]) => [key, node instanceof Setting ? valueOf(node, vars[node.name]) : valuesOf(node, vars)]),
  );
}

/** One variable through its parser; unset and empty both read as the default. */
function valueOf(setting: Setting, value: unknown): unknown {
  const raw = value === undefined || value === null || value === "" ? setting.defaultValue : value;
  if (typeof raw !== "string" && typeof raw !== "number" && typeof raw !== "boolean") throw new BadVariable(setting.name, "must be a string.");
  try {
    return setting.parser.parse(String(raw).trim());
  } catch (error) {
    if (error instanceof BadValue) throw new BadVariable(setting.name, error.message);
    throw error;
  }
}

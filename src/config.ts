import type { Env } from "./env";
import { parseSigningSecrets } from "./origin/signature-base";

/** What happens when a used refresh token comes back: revoke every session of the user, or one. */
export type ReuseRevokes = "user" | "session";

/** The settings the UserAuth Durable Object applies to sessions; it reads them from its own env. */
export interface SessionSettings {
  refreshIdleTtlSeconds: number;
  sessionMaxTtlSeconds: number;
  refreshReuseGraceSeconds: number;
  reuseRevokes: ReuseRevokes;
  /** How long a revoked or expired session is kept (so its tokens still answer invalid_grant) before it is purged. */
  sessionRetentionSeconds: number;
  /** Active sessions a user may hold; opening one more revokes the least recently used. */
  maxSessionsPerUser: number;
  /** Whether each rotation and grace replay is an audit event; security events always are. */
  auditRefreshEvents: boolean;
}

/** The brute-force limits of the built-in login, applied by the LoginThrottle objects. */
export interface LoginLimits {
  maxFailuresPerUsernameAndIp: number;
  maxFailuresPerUsername: number;
  maxFailuresPerIp: number;
  failureWindowSeconds: number;
  registrationsPerIpPerHour: number;
}

/** The validated configuration of the gateway. */
export interface Config {
  issuer: string;
  audience: string;
  realm: string;
  accessTokenTtlSeconds: number;
  clockSkewSeconds: number;
  session: SessionSettings;
  originUrl: URL | null;
  /** The service binding `ORIGIN`, used instead of `originUrl` when it exists. */
  originService: Fetcher | null;
  /** The secret that signs forwarded requests (the first of `ORIGIN_SIGNING_SECRET`); null: unsigned. */
  originSigningSecret: string | null;
  publicPathPrefixes: string[];
  forwardAuthorization: boolean;
  allowRegistration: boolean;
  refreshCookie: boolean;
  /** `optional`: sessions are bound when the client sends a DPoP proof; `required`: they must be. */
  dpop: "optional" | "required";
  allowedOrigins: string[];
  login: LoginLimits;
  auditRetentionSeconds: number;
  /** Serve the demo app at `/demo` (off by default; `npm run dev` turns it on). */
  demo: boolean;
  /** The raw `SIGNING_KEYS` secret, checked and imported by `keys.ts`; null when unset. */
  signingKeys: string | null;
  adminApiToken: string | null;
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; variable: string; problem: string };

/**
 * Reads and validates the worker's variables. A bad value is reported with the variable's name,
 * never replaced by a default: a gateway that silently runs with a different TTL than its operator
 * set is worse than one that refuses to run.
 */
export function parseConfig(env: Env): ConfigResult {
  try {
    return { ok: true, config: buildConfig(env) };
  } catch (error) {
    if (error instanceof BadVariable) return { ok: false, variable: error.variable, problem: error.message };
    throw error;
  }
}

const cache = new WeakMap<Env, ConfigResult>();

/** `parseConfig`, once per isolate for a given `env` object. */
export function readConfig(env: Env): ConfigResult {
  let result = cache.get(env);
  if (!result) {
    result = parseConfig(env);
    cache.set(env, result);
  }
  return result;
}

class BadVariable extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}

function buildConfig(env: Env): Config {
  const vars = env as unknown as Record<string, unknown>;
  const text = (name: string, fallback: string) => {
    const value = vars[name];
    if (value === undefined || value === null || value === "") return fallback;
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      throw new BadVariable(name, "must be a string.");
    }
    return String(value).trim();
  };
  const seconds = (name: string, fallback: number, { min = 0 } = {}) => {
    const raw = text(name, String(fallback));
    if (!/^\d{1,10}$/.test(raw) || Number(raw) < min) {
      throw new BadVariable(name, `must be a whole number of seconds >= ${min}, got "${raw}".`);
    }
    return Number(raw);
  };
  const count = (name: string, fallback: number) => {
    const raw = text(name, String(fallback));
    if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1) {
      throw new BadVariable(name, `must be a whole number >= 1, got "${raw}".`);
    }
    return Number(raw);
  };
  const flag = (name: string, fallback: boolean) => {
    const raw = text(name, String(fallback)).toLowerCase();
    if (raw !== "true" && raw !== "false") throw new BadVariable(name, `must be "true" or "false", got "${raw}".`);
    return raw === "true";
  };
  const list = (name: string) =>
    text(name, "")
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry !== "");

  const reuseRevokes = text("REUSE_REVOKES", "user");
  if (reuseRevokes !== "user" && reuseRevokes !== "session") {
    throw new BadVariable("REUSE_REVOKES", `must be "user" or "session", got "${reuseRevokes}".`);
  }

  const dpop = text("DPOP", "optional");
  if (dpop !== "optional" && dpop !== "required") throw new BadVariable("DPOP", `must be "optional" or "required", got "${dpop}".`);

  const origin = text("ORIGIN_URL", "");
  let originUrl: URL | null = null;
  if (origin !== "") {
    originUrl = URL.canParse(origin) ? new URL(origin) : null;
    if (!originUrl || (originUrl.protocol !== "https:" && originUrl.protocol !== "http:")) {
      throw new BadVariable("ORIGIN_URL", "must be an http(s) URL.");
    }
  }

  // A binding, not a variable: a `[vars] ORIGIN = "..."` would otherwise be silently ignored.
  let originService: Fetcher | null = null;
  if (vars.ORIGIN !== undefined && vars.ORIGIN !== null && vars.ORIGIN !== "") {
    const binding = vars.ORIGIN as Partial<Fetcher>;
    if (typeof binding !== "object" || typeof binding.fetch !== "function") {
      throw new BadVariable("ORIGIN", 'must be a service binding ([[services]] binding = "ORIGIN" in wrangler.toml), not a variable.');
    }
    originService = binding as Fetcher;
  }

  // Never quoted in the message: it is a secret.
  const signing = text("ORIGIN_SIGNING_SECRET", "");
  const signingSecrets = signing === "" ? null : parseSigningSecrets(signing);
  if (signing !== "" && signingSecrets === null) {
    throw new BadVariable(
      "ORIGIN_SIGNING_SECRET",
      "must be one secret of at least 32 characters, or two separated by a comma during a rotation (the first signs); make one with `openssl rand -base64 32`.",
    );
  }

  const publicPathPrefixes = list("PUBLIC_PATH_PREFIXES").map((prefix) => {
    if (!prefix.startsWith("/")) throw new BadVariable("PUBLIC_PATH_PREFIXES", `entries must start with "/", got "${prefix}".`);
    return prefix.replace(/\/+$/, "");
  });

  const allowedOrigins = list("ALLOWED_ORIGINS").map((entry) => {
    const origin = fullOrigin(entry);
    if (origin === null) {
      throw new BadVariable(
        "ALLOWED_ORIGINS",
        `entries must be full origins like https://app.example.com or http://localhost:3000 (scheme, host, optional port), got "${entry}".`,
      );
    }
    return origin;
  });

  return {
    issuer: text("ISSUER", "http://127.0.0.1:8787"),
    audience: text("AUDIENCE", "edge-auth-gateway"),
    realm: text("REALM", "edge-auth-gateway"),
    accessTokenTtlSeconds: seconds("ACCESS_TOKEN_TTL_SECONDS", 300, { min: 1 }),
    clockSkewSeconds: seconds("CLOCK_SKEW_SECONDS", 30),
    session: {
      refreshIdleTtlSeconds: seconds("REFRESH_IDLE_TTL_SECONDS", 1_209_600),
      sessionMaxTtlSeconds: seconds("SESSION_MAX_TTL_SECONDS", 7_776_000),
      refreshReuseGraceSeconds: seconds("REFRESH_REUSE_GRACE_SECONDS", 10),
      reuseRevokes,
      sessionRetentionSeconds: seconds("SESSION_RETENTION_SECONDS", 604_800),
      maxSessionsPerUser: count("MAX_SESSIONS_PER_USER", 100),
      auditRefreshEvents: flag("AUDIT_REFRESH_EVENTS", true),
    },
    originUrl,
    originService,
    originSigningSecret: signingSecrets?.[0] ?? null,
    publicPathPrefixes,
    forwardAuthorization: flag("FORWARD_AUTHORIZATION", true),
    allowRegistration: flag("ALLOW_REGISTRATION", true),
    refreshCookie: flag("REFRESH_COOKIE", false),
    dpop,
    allowedOrigins,
    login: {
      maxFailuresPerUsernameAndIp: count("LOGIN_MAX_FAILURES_PER_USERNAME_AND_IP", 5),
      maxFailuresPerUsername: count("LOGIN_MAX_FAILURES_PER_USERNAME", 100),
      maxFailuresPerIp: count("LOGIN_MAX_FAILURES_PER_IP", 50),
      failureWindowSeconds: seconds("LOGIN_FAILURE_WINDOW_SECONDS", 900, { min: 1 }),
      registrationsPerIpPerHour: count("REGISTRATIONS_PER_IP_PER_HOUR", 20),
    },
    auditRetentionSeconds: seconds("AUDIT_RETENTION_SECONDS", 7_776_000),
    demo: flag("DEMO", false),
    signingKeys: text("SIGNING_KEYS", "") || null,
    adminApiToken: text("ADMIN_API_TOKEN", "") || null,
  };
}

// Scheme, `//`, host and optional port, and at most a trailing `/`: no path, query, fragment or
// userinfo. `new URL()` alone would take `localhost:3000` as a URL of scheme `localhost:` whose
// origin is the string "null", which is exactly what a sandboxed page sends as its Origin.
const ORIGIN_SHAPE = /^https?:\/\/[^/?#@\\\s]+\/?$/i;
// After `new URL()`: a DNS name (IDN already in punycode), an IPv4 or a bracketed IPv6 address.
const HOSTNAME = /^(?:[a-z0-9_-]+\.)*[a-z0-9_-]+$|^\[[0-9a-f:.]+\]$/;

/** The origin an `ALLOWED_ORIGINS` entry names, as browsers send it in `Origin`; null when it is not one. */
function fullOrigin(entry: string): string | null {
  if (!ORIGIN_SHAPE.test(entry) || !URL.canParse(entry)) return null;
  const url = new URL(entry);
  return HOSTNAME.test(url.hostname) ? url.origin : null;
}

import type { Context } from "hono";
import type { Config } from "../config";
import type { Env } from "../env";
import type { AccessClaims } from "../tokens/access";
import type { ClientInfo } from "../sessions/rpc";

/** The Hono environment of the app: bindings, the validated config and the caller's claims. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
    /** Set by `requireAccessToken`. */
    auth: AccessClaims;
    /** Set by `validBody`. */
    body: unknown;
  };
};

export type AppContext = Context<AppEnv>;

/** The caller's IP (set by Cloudflare's edge, and by `wrangler dev`) and user agent. */
export function clientInfo(c: AppContext): ClientInfo {
  return {
    ip: c.req.header("CF-Connecting-IP") ?? null,
    userAgent: c.req.header("User-Agent")?.slice(0, 512) ?? null,
  };
}

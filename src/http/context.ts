import type { Context } from "hono";
import type { Config } from "../config";
import type { AccessClaims } from "../tokens/access";
import { signingKeysNotSet, type KeyRing } from "../tokens/key-ring";
import type { ClientInfo, PresentedProof } from "../sessions/rpc";

/** The Hono environment of the app: bindings, the validated config, the key ring and the caller's claims. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
    /** The imported `SIGNING_KEYS`, or null when it is unset; read it with `keyRing(c)`. */
    keyRing: KeyRing | null;
    /** Set by `requireAccessToken`. */
    auth: AccessClaims;
    /** Set by `dpopProof`: the request's valid DPoP proof, or null without one. */
    dpop: PresentedProof | null;
    /** Set by `setsRefreshCookie`: the route may set or clear the refresh cookie. */
    setsRefreshCookie: true;
  };
};

export type AppContext = Context<AppEnv>;

/**
 * The request's key ring, loaded once per request in `index.ts`. Throws 503
 * `server_misconfigured` naming `SIGNING_KEYS` when it is unset: call it before anything that
 * must not happen when no token can be issued or verified.
 */
export function keyRing(c: AppContext): KeyRing {
  const ring = c.get("keyRing");
  if (ring === null) throw signingKeysNotSet();
  return ring;
}

/** The caller's IP (set by Cloudflare's edge, and by `wrangler dev`) and user agent. */
export function clientInfo(c: AppContext): ClientInfo {
  return {
    ip: c.req.header("CF-Connecting-IP") ?? null,
    userAgent: c.req.header("User-Agent")?.slice(0, 512) ?? null,
  };
}

import { requireSettings } from "../config";
import { misconfigured } from "../errors/auth-error";
import type { SessionClaims } from "../tokens/access";
import { GATEWAY_CLAIMS } from "../tokens/authentication-claims";
import type { Session } from "./session-store";

/**
 * The claims hook as the worker and the user's object both see it: where it is, and when a
 * session's claims are due to be asked for again. The object decides who asks (it hands the
 * session's one call per `CLAIMS_TTL_SECONDS` to the opening or refresh that finds it due, in the
 * same transaction as the rotation, so two refreshes at once cannot both get it); the worker asks
 * (src/http/claims-hook.ts), outside the object, and the object stores what came back
 * (`UserAuth.replaceClaims`). docs/api.md, "Claims hook", tells the whole story.
 */

/** Where the hook is: a service binding `CLAIMS`, or `CLAIMS_HOOK_URL`. */
export interface ClaimsHook {
  /** The URL the request is made to: `CLAIMS_HOOK_URL`, or with a binding and no URL, `BINDING_URL`. Its path and query are signed. */
  url: URL;
  /** The service binding `CLAIMS`, used instead of the public network when there is one. */
  binding: Fetcher | null;
  /** `CLAIMS_TTL_SECONDS`. */
  ttlSeconds: number;
}

/**
 * The URL of a hook reached through its service binding when `CLAIMS_HOOK_URL` is unset: a
 * binding needs no host, and `.invalid` (RFC 6761) can never name a real one. Path `/`.
 */
export const BINDING_URL = "https://claims.invalid/";

const hooks = new WeakMap<Env, ClaimsHook | null>();

/**
 * The claims hook of `env`, or null when there is none (no `CLAIMS` binding, no
 * `CLAIMS_HOOK_URL`); read once per `env`. Throws 503 `server_misconfigured` naming `CLAIMS`
 * when something that is not a service binding has that name (a `[vars] CLAIMS = "..."`, which
 * would otherwise be ignored without a word).
 */
export function claimsHookOf(env: Env): ClaimsHook | null {
  let hook = hooks.get(env);
  if (hook === undefined) {
    const binding = claimsBinding(env);
    const { claims } = requireSettings(env);
    hook = binding === null && claims.hookUrl === null ? null : { url: claims.hookUrl ?? new URL(BINDING_URL), binding, ttlSeconds: claims.ttlSeconds };
    hooks.set(env, hook);
  }
  return hook;
}

function claimsBinding(env: Env): Fetcher | null {
  // Not in Env: wrangler.toml declares no `[[services]]` of its own, an operator adds one.
  const binding = (env as { CLAIMS?: unknown }).CLAIMS;
  if (binding === undefined || binding === null || binding === "") return null;
  if (typeof binding !== "object" || typeof (binding as Partial<Fetcher>).fetch !== "function") {
    throw misconfigured('CLAIMS must be a service binding ([[services]] binding = "CLAIMS" in wrangler.toml), not a variable.');
  }
  return binding as Fetcher;
}

/**
 * Whether a session's claims are due to be asked for at `now` (Unix ms): `ttlSeconds` or more
 * since the hook was last asked, whatever it answered then. A hook that failed is asked again
 * only a TTL later, so a hook that is down sees at most one call per session per TTL, as a
 * healthy one does, instead of one per refresh.
 *
 * @example
 * claimsDue({ claimsCheckedAt: 0 }, 300, 300_000); // true
 * claimsDue({ claimsCheckedAt: 1 }, 300, 300_000); // false
 */
export function claimsDue(session: Pick<Session, "claimsCheckedAt">, ttlSeconds: number, now: number): boolean {
  return now - session.claimsCheckedAt >= ttlSeconds * 1000;
}

const gatewayClaims = new Set<string>(GATEWAY_CLAIMS);

/**
 * A session's claims in two parts: the custom ones, which the hook is shown and replaces, and the
 * ones the gateway keeps there itself (`idp`, the provider of a federated sign-in), which the hook
 * neither sees nor may name, and which stay whatever it answers. So a hook that answers the claims
 * it was sent plus its own is never refused for a name it did not choose.
 *
 * @example
 * splitClaims({ idp: "google", role: "member" }); // { custom: { role: "member" }, gateway: { idp: "google" } }
 */
export function splitClaims(claims: SessionClaims): { custom: SessionClaims; gateway: SessionClaims } {
  const entries = Object.entries(claims);
  return {
    custom: Object.fromEntries(entries.filter(([name]) => !gatewayClaims.has(name))),
    gateway: Object.fromEntries(entries.filter(([name]) => gatewayClaims.has(name))),
  };
}

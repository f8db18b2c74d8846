import * as oauth from "oauth4webapi";
import { isHttpsOrLoopback } from "../config/federation";
import type { UpstreamReason } from "../errors/refusals";
import type { Verdict } from "../errors/verdict";
import { UpstreamFailure, upstreamOptions } from "./upstream-fetch";

/**
 * The providers' discovery documents (OpenID Connect Discovery 1.0), fetched once per isolate
 * and kept for `DISCOVERY_TTL_MS`, so that a sign-in in steady state fetches none. The JWKS is
 * cached by oauth4webapi itself, keyed by the metadata object this returns (at most 5 minutes,
 * re-fetched early for an unknown `kid`), so keeping one metadata object per issuer keeps its keys
 * too. A provider that cannot be reached is not asked again for `FAILURE_TTL_MS`: a down provider
 * costs each sign-in attempt nothing but the answer `temporarily_unavailable`.
 */

/** How long a discovery document is used before it is fetched again. */
export const DISCOVERY_TTL_MS = 60 * 60 * 1000;
/** How long a failed discovery is remembered: a provider that is down is not hammered. */
export const FAILURE_TTL_MS = 10 * 1000;
// A bound on the cache: one entry per configured issuer in practice; more means the settings
// changed under a long-lived isolate, and the oldest entry goes.
const MAX_ENTRIES = 64;

type Discovered = Verdict<{ as: oauth.AuthorizationServer }, Extract<UpstreamReason, "unreachable" | "timeout" | "too_large" | "not_json" | "bad_metadata">>;

const cache = new Map<string, { at: number; result: Promise<Discovered> }>();

/**
 * The metadata of the provider at `issuer`, from the cache when it is fresh. `now` in ms.
 *
 * @example
 * const found = await discover("https://accounts.google.com", Date.now());
 * if (!found.ok) return refuse(found.reason);
 */
export function discover(issuer: string, now: number): Promise<Discovered> {
  const entry = cache.get(issuer);
  if (entry && now - entry.at < DISCOVERY_TTL_MS) return entry.result;
  const result = fetchMetadata(issuer);
  cache.delete(issuer);
  cache.set(issuer, { at: now, result });
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  // A failure is kept only briefly: the next attempt after that asks the provider again.
  void result.then((found) => {
    if (!found.ok && cache.get(issuer)?.result === result) cache.set(issuer, { at: now - DISCOVERY_TTL_MS + FAILURE_TTL_MS, result });
  });
  return result;
}

async function fetchMetadata(issuer: string): Promise<Discovered> {
  const url = new URL(issuer);
  try {
    const response = await oauth.discoveryRequest(url, { ...upstreamOptions(issuer), algorithm: "oidc" });
    // Checks that the document is the issuer's own (`issuer` equal to the configured one).
    const as = await oauth.processDiscoveryResponse(url, response);
    // The endpoints the browser and the gateway will use: present, and as safe as the issuer (an
    // https issuer's endpoints are https; plain http is for a local provider alone).
    const endpoints = [as.authorization_endpoint, as.token_endpoint, as.jwks_uri];
    if (!endpoints.every((endpoint) => typeof endpoint === "string" && URL.canParse(endpoint) && isHttpsOrLoopback(new URL(endpoint)))) {
      return { ok: false, reason: "bad_metadata" };
    }
    if (url.protocol === "https:" && endpoints.some((endpoint) => !endpoint!.startsWith("https://"))) return { ok: false, reason: "bad_metadata" };
    return { ok: true, as };
  } catch (error) {
    if (error instanceof UpstreamFailure) return { ok: false, reason: error.reason };
    if (error instanceof oauth.OperationProcessingError && (error.code === oauth.PARSE_ERROR || error.code === oauth.RESPONSE_IS_NOT_JSON)) {
      return { ok: false, reason: "not_json" };
    }
    return { ok: false, reason: "bad_metadata" };
  }
}

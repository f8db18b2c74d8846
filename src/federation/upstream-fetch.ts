import * as oauth from "oauth4webapi";
import { readAtMost } from "../bounded-read";
import type { UpstreamReason } from "../errors/refusals";

/**
 * How the gateway talks to an upstream provider: every request oauth4webapi makes for it
 * (discovery, JWKS, the token request) goes through `upstreamOptions`, so one place bounds what a
 * slow, huge or hostile provider can cost a sign-in: 5 seconds per request, 256 KiB per answer,
 * no redirects followed. A failure is thrown as `UpstreamFailure` with its reason.
 */

/** Long enough for a provider on another continent, short enough that the user is told, not left waiting. */
export const UPSTREAM_TIMEOUT_MS = 5_000;
/** Discovery documents and JWKS are a few KiB, token answers less: anything far bigger is not one. */
export const MAX_UPSTREAM_BYTES = 256 * 1024;

/** A request to a provider that failed before its answer could be judged. */
export class UpstreamFailure extends Error {
  constructor(readonly reason: Extract<UpstreamReason, "unreachable" | "timeout" | "too_large">) {
    super(`upstream ${reason}`);
    this.name = "UpstreamFailure";
  }
}

/**
 * The transport options of every oauth4webapi call to the provider at `issuer`: the capped fetch,
 * a timeout per request, and plain http allowed only for a local provider (the settings admit
 * `http://` issuers on 127.0.0.1 and localhost alone).
 */
export function upstreamOptions(issuer: string) {
  return {
    [oauth.customFetch]: cappedFetch,
    [oauth.allowInsecureRequests]: issuer.startsWith("http://"),
    signal: () => AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
  };
}

/** `fetch`, with an answer read whole into memory up to `MAX_UPSTREAM_BYTES`, or `UpstreamFailure`. */
async function cappedFetch(url: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: "manual" });
  } catch (error) {
    throw new UpstreamFailure(isTimeout(error) ? "timeout" : "unreachable");
  }
  // A status without a body (204, 304) must be rebuilt without one.
  if (response.body === null) return new Response(null, { status: response.status, statusText: response.statusText, headers: response.headers });
  let body: Uint8Array | null;
  try {
    body = await readAtMost(response, MAX_UPSTREAM_BYTES);
  } catch (error) {
    throw new UpstreamFailure(isTimeout(error) ? "timeout" : "unreachable");
  }
  if (body === null) throw new UpstreamFailure("too_large");
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

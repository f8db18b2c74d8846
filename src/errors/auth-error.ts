import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorBody, ErrorCode } from "../wire";

/**
 * The one error type of the gateway: an RFC-style code, an HTTP status and a description that is
 * safe to send to the client. `app.onError` turns it into the JSON body of the contract. Every
 * layer throws it (the key ring, D1, the login limits, the routes); it imports nothing of them.
 *
 * @example
 * throw new AuthError("invalid_grant", 400, "The refresh token is not valid.");
 */
export class AuthError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: ContentfulStatusCode,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${code}: ${description}`);
    this.name = "AuthError";
  }
}

/** 400 invalid_request, for a body that parsed but is not what the route takes. */
export const invalidRequest = (description: string) =>
  new AuthError("invalid_request", 400, description);

/** 400 invalid_grant (RFC 6749 section 5.2): one answer for every unusable refresh token. */
export const invalidGrant = () =>
  new AuthError("invalid_grant", 400, "The refresh token is invalid, expired, revoked or already used.");

/** 503 server_misconfigured, naming the variable so the operator knows what to fix. */
export const misconfigured = (description: string) =>
  new AuthError("server_misconfigured", 503, description);

/** 404 not_found. */
export const notFound = (description = "Not found.") => new AuthError("not_found", 404, description);

/** 400 invalid_dpop_proof (RFC 9449 section 5): the `DPoP` header is missing where required, or not a valid proof. */
export const invalidDpopProof = (description: string) => new AuthError("invalid_dpop_proof", 400, description);

/** 503 temporarily_unavailable with `Retry-After`: a store the request cannot do without is away. */
export function temporarilyUnavailable(description: string, retryAfterSeconds: number) {
  return new AuthError("temporarily_unavailable", 503, description, { "Retry-After": String(retryAfterSeconds) });
}

/** The JSON error body of the contract. */
export function errorBody(error: AuthError): ErrorBody {
  return { error: error.code, error_description: error.description };
}

/** 429 too_many_requests with `Retry-After`: a rate limit was reached. */
export function tooManyRequests(what: string, retryAfterSeconds: number) {
  return new AuthError("too_many_requests", 429, `${what} Try again in ${retryAfterSeconds} seconds.`, {
    "Retry-After": String(retryAfterSeconds),
  });
}

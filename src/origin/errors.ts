/**
 * Why a request was refused, as `err.code`:
 * - `missing`: no `X-Auth-Timestamp` or no `X-Auth-Signature`, so it did not come through the gateway;
 * - `expired`: a genuine signature, but its timestamp is more than `maxAgeSeconds` away from now
 *   (a replay, a stale request, or clocks apart);
 * - `bad_signature`: a signature that does not prove the request: malformed, re-cased, truncated,
 *   made with another secret, or over another method, path, query, user or session;
 * - `invalid_token`: with `accessToken` set, the forwarded access token is missing, does not
 *   verify, or names another user or session than the signed headers;
 * - `jwks_unavailable`: with `accessToken` set, the gateway's JWKS could not be fetched, so no token
 *   can be checked (the request's fault only if the origin cannot reach the gateway).
 */
export type GatewayVerificationCode = "missing" | "expired" | "bad_signature" | "invalid_token" | "jwks_unavailable";

/**
 * The one error `verifyGatewayRequest` and `verifyNodeRequest` throw for a request they refuse.
 * Switch on `code`, never on `message`; answer 401 for every code but `jwks_unavailable` (503).
 *
 * @example
 * try {
 *   const { user } = await verifyGatewayRequest(request, { secret });
 * } catch (error) {
 *   if (error instanceof GatewayVerificationError) return new Response(error.code, { status: error.status });
 *   throw error;
 * }
 */
export class GatewayVerificationError extends Error {
  override readonly name = "GatewayVerificationError";

  constructor(
    readonly code: GatewayVerificationCode,
    message: string,
  ) {
    super(message);
  }

  /** The HTTP status an origin should answer with: 401, or 503 for `jwks_unavailable`. */
  get status(): 401 | 503 {
    return this.code === "jwks_unavailable" ? 503 : 401;
  }
}

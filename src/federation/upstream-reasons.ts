import * as oauth from "oauth4webapi";
import type { UpstreamReason } from "../errors/refusals";

/**
 * oauth4webapi's errors, named as the gateway's reasons: one place reads its error codes (and,
 * where one code covers several checks, the claim or message it gives), as jose's are read in
 * src/tokens/jwt-refusal.ts. `step` says which call threw: the token request and the ID token's
 * claims, or the ID token's signature.
 *
 * @example
 * upstreamReason(error, "signature"); // "unknown_key" when no key of the JWKS matches the token's header
 */
export function upstreamReason(error: unknown, step: "token" | "signature"): UpstreamReason {
  // The token endpoint answered an OAuth error (`invalid_grant`, `invalid_client`, ...), or a
  // challenge: it refused the code.
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError) return "token_error";
  if (error instanceof oauth.UnsupportedOperationError) return step === "signature" ? "alg_not_allowed" : "bad_response";
  if (!(error instanceof oauth.OperationProcessingError)) return "bad_response";
  const cause = error.cause as { claim?: unknown; status?: unknown } | undefined;
  switch (error.code) {
    case oauth.KEY_SELECTION:
      return "unknown_key";
    case oauth.PARSE_ERROR:
    case oauth.RESPONSE_IS_NOT_JSON:
      return step === "token" && /JWT/.test(error.message) ? "malformed" : "not_json";
    case oauth.RESPONSE_IS_NOT_CONFORM:
      // Not the answer the protocol says; a 5xx is the provider failing, for now.
      return typeof cause?.status === "number" && cause.status >= 500 ? "provider_failed" : "bad_response";
    case oauth.JWT_TIMESTAMP_CHECK:
      return cause?.claim === "nbf" ? "not_yet_valid" : "expired";
    case oauth.JWT_CLAIM_COMPARISON:
      switch (cause?.claim) {
        case "iss":
          return "wrong_issuer";
        case "aud":
          return "wrong_audience";
        case "azp":
          return "wrong_azp";
        case "nonce":
          return "wrong_nonce";
        default:
          return "bad_claim";
      }
    case oauth.INVALID_RESPONSE:
      if (step === "signature") return "bad_signature";
      return invalidResponseReason(error.message);
    default:
      return "bad_response";
  }
}

// OAUTH_INVALID_RESPONSE covers several checks of the token answer and the ID token; its message
// says which.
function invalidResponseReason(message: string): UpstreamReason {
  if (/"id_token"/.test(message)) return "no_id_token";
  if (/claim missing/.test(message)) return "missing_claim";
  if (/"alg"/.test(message)) return "alg_not_allowed";
  if (/Invalid JWT|JWT Header|JWT Payload/.test(message)) return "malformed";
  if (/claim/.test(message)) return "bad_claim";
  return "bad_response";
}

import { errors } from "jose";
import type { JwtReason } from "../errors/refusals";

/**
 * The named reason of an error jose's `jwtVerify` threw, read from its stable `code` and, for a
 * claim check, from the claim (`claim`) and what was wrong with it (`reason`). The one place
 * jose's errors are mapped, for every JWT this gateway verifies (access tokens, DPoP proofs).
 * Anything else, jose's or not, is `malformed`: what cannot be checked is refused.
 *
 * @example
 * try { await jwtVerify(token, key, options); } catch (error) { return { ok: false, reason: jwtRefusalReason(error) }; }
 */
export function jwtRefusalReason(error: unknown): JwtReason {
  if (!(error instanceof errors.JOSEError)) return "malformed";
  switch (error.code) {
    case errors.JWTExpired.code:
      // jose's `maxTokenAge` throws JWTExpired on `iat`: a token older than any we issue.
      return (error as errors.JWTExpired).claim === "iat" ? "too_old" : "expired";
    case errors.JWTClaimValidationFailed.code:
      return claimReason(error as errors.JWTClaimValidationFailed);
    case errors.JOSEAlgNotAllowed.code:
      return "alg_not_allowed";
    case errors.JWSSignatureVerificationFailed.code:
      return "bad_signature";
    default:
      return "malformed";
  }
}

function claimReason({ claim, reason }: errors.JWTClaimValidationFailed): JwtReason {
  if (reason === "missing") return "missing_claim";
  if (reason === "invalid") return "bad_claim";
  switch (claim) {
    case "typ":
      return "wrong_typ";
    case "iss":
      return "wrong_issuer";
    case "aud":
      return "wrong_audience";
    case "nbf":
      return "not_yet_valid";
    case "iat":
      return "issued_in_future";
    default:
      return "bad_claim";
  }
}

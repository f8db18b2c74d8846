import { AuthError, invalidDpopProof } from "./auth-error";

/**
 * Every named reason a verifier refuses for, and the one place each becomes what the client is
 * told. The reasons are for the log (src/errors/verdict.ts); the wire keeps to the few answers of
 * the contract: an access token is `expired` or `invalid`, a DPoP proof says which claim failed
 * only where it always has.
 */

/** Why jose refused a JWT, named from its errors (src/tokens/jwt-refusal.ts). */
export const JWT_REASONS = [
  "malformed", // not a compact JWS, or its header or claims are not JSON objects
  "alg_not_allowed", // an `alg` that is not one of the allowed ones (`none` and HS256 included)
  "bad_signature",
  "wrong_typ",
  "missing_claim",
  "bad_claim", // a registered claim of the wrong type, e.g. a string `exp`
  "wrong_issuer",
  "wrong_audience",
  "not_yet_valid", // `nbf` ahead of now, beyond the clock skew
  "issued_in_future", // `iat` ahead of now, beyond the clock skew
  "too_old", // `iat` further back than the access-token lifetime allows
  "expired",
] as const;
export type JwtReason = (typeof JWT_REASONS)[number];

/** Why `verifyAccessToken` refused a token. */
export const ACCESS_TOKEN_REASONS = [
  ...JWT_REASONS,
  "too_large", // refused before parsing
  "not_canonical", // not the one spelling of the token (padding, stray low bits, not three parts)
  "unknown_kid",
  "key_alg_mismatch", // a known `kid` with another algorithm than its key's
  "not_a_session", // signed by us, but `sub`, `sid`, `jti`, `aud` or `cnf` are not a session's
] as const;
export type AccessTokenReason = (typeof ACCESS_TOKEN_REASONS)[number];

/** Why a request's access token was refused: the token, or how it came (`authenticate`). */
export const ACCESS_REFUSALS = [
  ...ACCESS_TOKEN_REASONS,
  "no_token",
  "dpop_scheme_unbound", // `Authorization: DPoP` with a token of an unbound session
  "bearer_scheme_bound", // `Authorization: Bearer` with a token of a DPoP-bound session
  "no_dpop_proof", // a bound token without a `DPoP` header
  "dpop_proof_refused", // a bound token with a proof `verifyDpopProof` refused
  "dpop_proof_of_another_key",
] as const;
export type AccessRefusal = (typeof ACCESS_REFUSALS)[number];

/** Why `verifyDpopProof` refused a proof (RFC 9449 section 4.3). */
export const DPOP_PROOF_REASONS = [
  ...JWT_REASONS,
  "too_large",
  "not_a_jwt", // no protected header to read the key from
  "no_jwk",
  "private_jwk",
  "bad_jti",
  "wrong_htm",
  "wrong_htu",
  "iat_out_of_window",
  "wrong_ath",
] as const;
export type DpopProofReason = (typeof DPOP_PROOF_REASONS)[number];

/** Why a session request's `DPoP` header was refused: the proof, none where one is required, or one the session saw before. */
export const DPOP_REFUSALS = [...DPOP_PROOF_REASONS, "required", "replayed"] as const;
export type DpopRefusal = (typeof DPOP_REFUSALS)[number];

type AccessAnswer = { code: "unauthorized" | "invalid_token" | "invalid_dpop_proof"; description: string };

const INVALID: AccessAnswer = { code: "invalid_token", description: "The access token is invalid" };
// RFC 6750 section 3.1: the client is told `expired` so that it knows to refresh.
const EXPIRED: AccessAnswer = { code: "invalid_token", description: "The access token expired" };
const NO_BOUND_PROOF: AccessAnswer = { code: "invalid_dpop_proof", description: "A DPoP proof of the bound key is required" };

const ACCESS_ANSWERS: Record<AccessRefusal, AccessAnswer> = {
  malformed: INVALID,
  alg_not_allowed: INVALID,
  bad_signature: INVALID,
  wrong_typ: INVALID,
  missing_claim: INVALID,
  bad_claim: INVALID,
  wrong_issuer: INVALID,
  wrong_audience: INVALID,
  not_yet_valid: INVALID,
  issued_in_future: INVALID,
  too_old: EXPIRED,
  expired: EXPIRED,
  too_large: INVALID,
  not_canonical: INVALID,
  unknown_kid: INVALID,
  key_alg_mismatch: INVALID,
  not_a_session: INVALID,
  no_token: { code: "unauthorized", description: "An access token is required." },
  dpop_scheme_unbound: { code: "invalid_token", description: "The access token is not bound to a DPoP key" },
  bearer_scheme_bound: { code: "invalid_token", description: "The access token is bound to a DPoP key: send it as Authorization: DPoP with a proof" },
  no_dpop_proof: NO_BOUND_PROOF,
  dpop_proof_refused: NO_BOUND_PROOF,
  dpop_proof_of_another_key: NO_BOUND_PROOF,
};

/** The `WWW-Authenticate` challenge of a refusal (RFC 6750 section 3, RFC 9449 section 7.1). */
export interface Challenge {
  /** `DPoP` when the token came as DPoP or is bound to a key, else `Bearer`. */
  scheme: "Bearer" | "DPoP";
  realm: string;
  /** The proof algorithms a DPoP challenge names (`algs`). */
  dpopAlgorithms: readonly string[];
}

/**
 * The 401 of a refused access token: `WWW-Authenticate` with the scheme's realm, bare when no
 * token came (RFC 6750 section 3.1), else with `error` and `error_description`, and `algs` on a
 * DPoP challenge.
 *
 * @example
 * throw accessRefusal("expired", { scheme: "Bearer", realm: "api", dpopAlgorithms: ["ES256"] });
 * // 401, WWW-Authenticate: Bearer realm="api", error="invalid_token", error_description="The access token expired"
 */
export function accessRefusal(reason: AccessRefusal, challenge: Challenge): AuthError {
  const { code, description } = ACCESS_ANSWERS[reason];
  const realm = `${challenge.scheme} realm="${quoted(challenge.realm)}"`;
  if (code === "unauthorized") return new AuthError(code, 401, description, { "WWW-Authenticate": realm });
  const algs = challenge.scheme === "DPoP" ? `, algs="${challenge.dpopAlgorithms.join(" ")}"` : "";
  return new AuthError(code, 401, description, {
    "WWW-Authenticate": `${realm}, error="${code}", error_description="${description}"${algs}`,
  });
}

// What the client of a session request reads after "The DPoP proof is not valid: ". The checks
// jose runs share one text, as they always have; the gateway's own checks name their claim.
const JOSE_CHECKS = "the proof's header, signature or claims are not valid";
const PROOF_PROBLEMS: Record<DpopProofReason, string> = {
  ...(Object.fromEntries(JWT_REASONS.map((reason) => [reason, JOSE_CHECKS])) as Record<JwtReason, string>),
  not_a_jwt: "the proof is not a JWT",
  too_large: "the proof is too large",
  no_jwk: "the proof has no jwk header",
  private_jwk: "the proof's jwk holds a private key",
  bad_jti: "the proof's jti is not valid",
  wrong_htm: "the proof's htm is not the request method",
  wrong_htu: "the proof's htu is not the request URL",
  iat_out_of_window: "the proof's iat is too far from now",
  wrong_ath: "the proof's ath is not the access token's hash",
};

/**
 * The 400 `invalid_dpop_proof` of a session request (login, refresh, logout, admin sessions)
 * whose `DPoP` header was refused (RFC 9449 section 5).
 */
export function dpopRefusal(reason: DpopRefusal): AuthError {
  if (reason === "required") return invalidDpopProof("A DPoP proof is required (DPOP=required).");
  // A replayed proof is the proof's fault, not the token's: the token still works with a fresh one.
  if (reason === "replayed") return invalidDpopProof("The DPoP proof was used before: send a fresh one.");
  return invalidDpopProof(`The DPoP proof is not valid: ${PROOF_PROBLEMS[reason]}.`);
}

// RFC 7235 section 2.2: quoted-string; backslash-escape quotes and backslashes.
function quoted(value: string) {
  return value.replace(/[\\"]/g, "\\$&");
}

/**
 * Why the upstream half of a sign-in failed, as the callback names it (src/federation/): the
 * authorization response, reaching the provider, its answers, and the checks of its ID token.
 */
export const UPSTREAM_REASONS = [
  // The authorization response (RFC 6749 section 4.1.2, RFC 9207).
  "state_mismatch", // no `state`, two, or not the one this browser's transaction holds
  "wrong_iss_parameter", // `iss` names another issuer: a mix-up (RFC 9207 section 2.4)
  "missing_iss_parameter", // the provider says it sends `iss`, and did not
  "provider_error", // the provider answered `error` (the user declined, say)
  "bad_authorization_response",
  // Reaching the provider: discovery, JWKS, the token endpoint.
  "unreachable",
  "timeout",
  "provider_failed", // a 5xx from the provider
  "too_large", // an answer over the size the gateway reads
  "not_json",
  "bad_metadata", // discovery that is not the issuer's, or not usable
  "bad_response", // a token or JWKS answer that is not what the protocol says
  "token_error", // the token endpoint refused the code
  // The ID token (OpenID Connect Core section 3.1.3.7).
  "no_id_token",
  "malformed",
  "alg_not_allowed",
  "bad_signature",
  "unknown_key", // no key of the provider's JWKS matches its header
  "wrong_issuer",
  "wrong_audience",
  "wrong_azp",
  "expired",
  "not_yet_valid",
  "wrong_nonce",
  "missing_claim",
  "bad_claim",
] as const;
export type UpstreamReason = (typeof UPSTREAM_REASONS)[number];

/** Why a callback did not end in a code or a link: the upstream reasons, and the gateway's own. */
export const CALLBACK_REFUSALS = [
  ...UPSTREAM_REASONS,
  "unknown_provider", // the transaction's provider is no longer configured
  "users_unavailable", // D1, where identities live, did not answer
  "too_many_sign_ups", // REGISTRATIONS_PER_IP_PER_HOUR: first sign-ins create users
  "identity_taken", // a link to an identity that belongs to another user
] as const;
export type CallbackRefusal = (typeof CALLBACK_REFUSALS)[number];

/** The `error` of an authorization response (RFC 6749 section 4.1.2.1) that a callback redirects with. */
export type AuthorizationErrorCode = "access_denied" | "server_error" | "temporarily_unavailable" | "identity_taken";

// The provider or this gateway may be back in a moment: the app may offer to try again. An answer
// that breaks the protocol is the provider's fault, not the user's. Everything else is a refusal.
const RETRY_LATER = new Set<CallbackRefusal>(["unreachable", "timeout", "provider_failed", "users_unavailable", "too_many_sign_ups"]);
const BROKEN = new Set<CallbackRefusal>(["too_large", "not_json", "bad_metadata", "bad_response", "unknown_provider"]);

/**
 * What the app is told of a callback that failed: `temporarily_unavailable` when trying again
 * later may work, `server_error` when a provider broke the protocol, `identity_taken` for a link
 * to another user's identity, `access_denied` for every refusal (state, issuer, ID token, the
 * provider's own `error`). The reason itself goes only to the log.
 */
export function callbackAnswer(reason: CallbackRefusal): AuthorizationErrorCode {
  if (reason === "identity_taken") return "identity_taken";
  if (RETRY_LATER.has(reason)) return "temporarily_unavailable";
  return BROKEN.has(reason) ? "server_error" : "access_denied";
}

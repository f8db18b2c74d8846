// What every error answer carries.

/** The error codes that go on the wire (RFC 6749 section 5.2, RFC 6750 section 3.1, and ours). */
export type ErrorCode =
  | "invalid_request"
  | "invalid_grant"
  | "invalid_dpop_proof"
  | "invalid_token"
  | "invalid_credentials"
  | "username_taken"
  | "too_many_requests"
  | "request_too_large"
  | "unsupported_media_type"
  | "forbidden_origin"
  | "unauthorized"
  | "not_found"
  | "method_not_allowed"
  | "temporarily_unavailable"
  | "bad_gateway"
  | "server_misconfigured"
  | "server_error"
  | "invalid_client"
  | "unsupported_grant_type"
  | "identity_taken"
  | "last_sign_in_method"
  | "invalid_passkey"
  | "passkey_limit"
  | "mfa_required"
  | "invalid_code"
  | "invalid_mfa_token"
  | "mfa_already_enabled"
  | "email_taken"
  | "breached_password"
  | "reauthentication_required";

/** The body of every error answer. */
export interface ErrorBody {
  error: ErrorCode;
  error_description: string;
}

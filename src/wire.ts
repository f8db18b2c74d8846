/**
 * The JSON the gateway sends, as types: one set for the worker that writes it (each route checks
 * its answer with `satisfies`), the browser client that reads it, and the tests. It imports
 * nothing, so that both builds take it as it is: the worker's and the client's
 * (tsconfig.client.json emits it beside the client's declarations). Types only, but for the list
 * of event types the admin route validates against. docs/api.md describes each.
 */

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

/**
 * What login, refresh and `POST /auth/admin/sessions` answer (RFC 6749 section 5.1, with the
 * session's id). `token_type` is `DPoP` for a session bound to a DPoP key (RFC 9449 section 5).
 */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer" | "DPoP";
  /** Seconds the access token lives. */
  expires_in: number;
  refresh_token: string;
  session_id: string;
}

/**
 * `POST /auth/login` of a user with TOTP on, when the password was right: 401 with this body
 * instead of a session. `mfa_token` (single use, five minutes) goes to `POST /auth/mfa/verify`
 * with a code.
 */
export interface MfaRequiredBody extends ErrorBody {
  error: "mfa_required";
  mfa_token: string;
}

/** `POST /auth/mfa/totp`: the pending secret (base32) and the `otpauth://` URI an authenticator app scans. */
export interface TotpEnrolment {
  secret: string;
  otpauth_uri: string;
}

/** `POST /auth/mfa/totp/confirm` and `POST /auth/mfa/recovery-codes`: ten recovery codes, shown once. */
export interface RecoveryCodes {
  recovery_codes: string[];
}

/**
 * `POST /auth/register`: the new user's id, the `sub` of their tokens. Registering does not log
 * in. `breached` (true) only with `PWNED_PASSWORDS=warn`, when the password is in a known breach.
 */
export interface RegisterResponse {
  user_id: string;
  breached?: true;
}

/** `GET /auth/account`: who the caller is and how they can sign in. Times ISO 8601. */
export interface AccountResponse {
  user_id: string;
  /** Null for an account without a password (an upstream provider's, or the admin route's). */
  username: string | null;
  email: string | null;
  email_verified: boolean;
  /** Null for a user the gateway only knows by sessions the admin route opened. */
  created_at: string | null;
  mfa: { totp: boolean; recovery_codes_left: number };
  passkeys: number;
  identities: LinkedIdentity[];
}

/** One account in `GET /auth/admin/users`. */
export type AdminUserItem = Pick<AccountResponse, "user_id" | "username" | "email" | "email_verified" | "created_at">;

/** `GET /auth/admin/users?username=` or `?email=`: 0 or 1 user. */
export interface AdminUserList {
  users: AdminUserItem[];
}

/** `GET /auth/admin/users/:sub`: the account and its active sessions. */
export interface AdminUserDetail extends AccountResponse {
  sessions: SessionListItem[];
}

/** One active session in `GET /auth/sessions`. Times are ISO 8601. */
export interface SessionListItem {
  id: string;
  created_at: string;
  last_used_at: string;
  /** When the session ends at the latest; null when sessions do not expire. */
  expires_at: string | null;
  user_agent: string | null;
  ip: string | null;
  /** How the user signed in (RFC 8176); null for a session opened before it was stored. */
  amr: string[] | null;
  /** When the user proved who they are for this session. */
  auth_time: string;
  /** Whether this is the session of the access token that asked. */
  current: boolean;
}

/** `GET /auth/sessions`. */
export interface SessionList {
  sessions: SessionListItem[];
}

/** The audit event types. */
export const EVENT_TYPES = [
  "login",
  "login_failed",
  "session_created",
  "refresh",
  "refresh_grace_replay",
  "refresh_token_reuse",
  "logout",
  "logout_all",
  "session_revoked",
  "admin_revoke",
  "session_expired",
  "dpop_proof_failed",
  "identity_linked",
  "identity_unlinked",
  "passkey_added",
  "passkey_removed",
  "passkey_counter_regressed",
  "mfa_enabled",
  "mfa_disabled",
  "recovery_code_used",
  "email_verified",
  "password_changed",
  "password_reset",
  "account_deleted",
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/**
 * The audit types a webhook may carry (`WEBHOOK_EVENTS`): those recorded today (`EVENT_TYPES`), and
 * those the account features (passkeys, TOTP, linked identities, e-mail, password change and reset,
 * deletion) will record, so that a list written for them today is not refused as a bad value. The
 * one list of those names until each is recorded and joins `EVENT_TYPES`.
 */
export const WEBHOOK_EVENT_TYPES = [
  ...EVENT_TYPES,
  "identity_linked",
  "identity_unlinked",
  "email_verified",
  "password_changed",
  "password_reset",
  "account_deleted",
] as const;

/**
 * The messages to users the gateway hands to the team's mailer as webhooks: a verification code,
 * a reset link. They always go to the receiver (`WEBHOOK_EVENTS` does not select them) and are
 * never written to D1.
 */
export const USER_MESSAGE_TYPES = ["message.email_verification", "message.password_reset"] as const;

export type UserMessageType = (typeof USER_MESSAGE_TYPES)[number];

/** A message's `data`: `code` (verification) or `token` (reset), secrets both. Times ISO 8601. */
export interface UserMessageData {
  to: string;
  user_id: string;
  code?: string;
  token?: string;
  expires_at: string;
}

/**
 * The body of every webhook (Standard Webhooks): `type` is an audit type or a `message.*` type,
 * `timestamp` when the event happened (ISO 8601), `data` the audit event (`AuditEventItem`) or
 * the message (`UserMessageData`).
 */
export interface WebhookBody {
  type: string;
  timestamp: string;
  data: AuditEventItem | UserMessageData;
}

/** One audit event in `GET /auth/admin/events`. `at` is ISO 8601. */
export interface AuditEventItem {
  type: EventType;
  sub: string | null;
  session_id: string | null;
  at: string;
  ip: string | null;
  detail: Record<string, unknown> | null;
}

/** `GET /auth/admin/events`, newest first. */
export interface EventList {
  events: AuditEventItem[];
}

/** `POST /auth/identities`: the one-time URL (10 minutes) whose flow links an upstream identity to the caller. */
export interface IdentityLinkResponse {
  authorize_url: string;
}

/** An upstream identity of the caller, as `GET /auth/account` lists it. */
export interface LinkedIdentity {
  provider: string;
  /** The address the provider gave at the first sign-in or link, as it gave it; null without one. Never used to link. */
  email: string | null;
}

/**
 * `POST /auth/passkeys/registration` and `POST /auth/passkeys/authentication`: the sealed ceremony
 * to send back with the authenticator's response, and the WebAuthn options to hand to
 * `navigator.credentials.create()` or `.get()` (`PublicKeyCredentialCreationOptionsJSON`,
 * `PublicKeyCredentialRequestOptionsJSON`: binary fields are base64url).
 */
export interface PasskeyCeremony<Options> {
  ceremony: string;
  options: Options;
}

/** A credential named by its base64url id, as the options list them. */
export interface PasskeyDescriptor {
  id: string;
  /** Always `public-key`. */
  type: string;
  transports?: string[];
}

/** `PublicKeyCredentialCreationOptionsJSON` (WebAuthn Level 3), as the gateway fills it in. */
export interface PasskeyCreationOptions {
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  challenge: string;
  pubKeyCredParams: { type: string; alg: number }[];
  timeout?: number;
  excludeCredentials?: PasskeyDescriptor[];
  authenticatorSelection?: { authenticatorAttachment?: string; residentKey?: string; requireResidentKey?: boolean; userVerification?: string };
  attestation?: string;
  extensions?: object;
  hints?: string[];
}

/** `PublicKeyCredentialRequestOptionsJSON` (WebAuthn Level 3): `allowCredentials` is always empty. */
export interface PasskeyRequestOptions {
  challenge: string;
  timeout?: number;
  rpId?: string;
  allowCredentials?: PasskeyDescriptor[];
  userVerification?: string;
  extensions?: object;
  hints?: string[];
}

/** `POST /auth/passkeys`: the passkey just added. `id` is the credential id (base64url). */
export interface AddedPasskey {
  id: string;
  name: string | null;
  created_at: string;
}

/** One passkey in `GET /auth/passkeys`. Times ISO 8601. */
export interface PasskeyListItem {
  id: string;
  name: string | null;
  created_at: string;
  last_used_at: string | null;
  /** Whether the authenticator says the key is backed up (synced to the user's other devices). */
  backed_up: boolean;
  transports: string[];
}

/** `GET /auth/passkeys`, oldest first. */
export interface PasskeyList {
  passkeys: PasskeyListItem[];
}

/** `GET /.well-known/oauth-authorization-server` (RFC 8414 section 2). */
export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
  introspection_endpoint: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  dpop_signing_alg_values_supported: string[];
  code_challenge_methods_supported: string[];
  /** RFC 9207: every authorization response carries `iss`. */
  authorization_response_iss_parameter_supported: boolean;
}

/**
 * `POST /auth/introspect` (RFC 7662 section 2.2): `{"active": false}` alone for a token that is
 * not active; for an active one, who and which session it is, its times (epoch seconds), how the
 * user signed in, and for a DPoP-bound token its key's thumbprint (RFC 9449 section 6.2).
 */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      sub: string;
      sid: string;
      exp: number;
      iat: number;
      /** Absent only for a session opened before the gateway stored how users signed in. */
      amr?: string[];
      auth_time?: number;
      token_type: "Bearer" | "DPoP";
      cnf?: { jkt: string };
    };

/** What the built-in echo origin answers when `ORIGIN_URL` is empty: the request it would have forwarded. */
export interface EchoResponse {
  method: string;
  path: string;
  /** Each key's value, or all its values in order when repeated. */
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
}

// What the account routes answer: registration, the second factor, the account, linked identities, the admin user lookup.
import type { ErrorBody } from "./errors.js";
import type { SessionListItem } from "./tokens.js";

/**
 * `POST /auth/register`: the new user's id, the `sub` of their tokens. Registering does not log
 * in. `breached` (true) only with `PWNED_PASSWORDS=warn`, when the password is in a known breach.
 */
export interface RegisterResponse {
  user_id: string;
  breached?: true;
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

/** An upstream identity of the caller, as `GET /auth/account` lists it. */
export interface LinkedIdentity {
  provider: string;
  /** The address the provider gave at the first sign-in or link, as it gave it; null without one. Never used to link. */
  email: string | null;
}

/** `POST /auth/identities`: the one-time URL (10 minutes) whose flow links an upstream identity to the caller. */
export interface IdentityLinkResponse {
  authorize_url: string;
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

// The audit trail and what leaves the gateway: event types, the admin listing, messages to users, webhook bodies.

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

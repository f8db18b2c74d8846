import type { AuditEvent } from "../db/events";
import type { SessionRecord } from "../db/sessions";
import type { UserMessageData, UserMessageType, WebhookBody } from "../wire";

/** A message to a user, with the id its webhook keeps on every retry. `at` is Unix ms. */
export interface UserMessage {
  id: string;
  type: UserMessageType;
  at: number;
  data: UserMessageData;
}

/**
 * A message to a user, ready for an outbox (`{ kind: "message", message }`): it reaches the
 * mailer as a signed webhook once the object's commit is done, or, in local dev without
 * `WEBHOOK_URL`, the worker's log. Check `canDeliverMessages` first (src/events/webhook-settings.ts).
 *
 * @example
 * outbox.enqueue({ kind: "message", message: userMessage("message.password_reset", { to, user_id, token, expires_at }, now) });
 */
export function userMessage(type: UserMessageType, data: UserMessageData, now: number): UserMessage {
  return { id: crypto.randomUUID(), type, at: now, data };
}

/**
 * A webhook as the receiver gets it: the Standard Webhooks id (`webhook-id`, the same on every
 * retry) and the body's members (`timestamp` is when the event happened, ISO 8601).
 */
export interface Webhook extends WebhookBody {
  id: string;
}

/**
 * One message of the EVENTS queue. D1 writes and webhooks are separate messages, acknowledged
 * and retried each on its own: a receiver that is down never holds back the audit trail, and a
 * D1 outage never sends a delivered webhook again.
 */
export type EventMessage =
  /** A session's D1 record; `version` orders the writes of one Durable Object (its outbox's sequence). */
  | { kind: "session"; record: SessionRecord; version: number }
  /** An audit event for D1. */
  | { kind: "event"; event: AuditEvent }
  /** A webhook for the receiver at `WEBHOOK_URL`. */
  | { kind: "webhook"; webhook: Webhook };

import type { Config } from "../config";
import { eventOnTheWire, type AuditEvent } from "../db/events";
import type { SessionRecord } from "../db/sessions";
import type { EventMessage, UserMessage } from "../events/messages";
import { canDeliverMessages, isWebhookSelected } from "../events/webhook-settings";

/**
 * What leaves a Durable Object, waiting in its outbox (src/durable/outbox.ts): a session's D1
 * record, an audit event (for D1, and for the webhook receiver when `WEBHOOK_EVENTS` selects it),
 * or a message to a user (a webhook only). Build a message with `userMessage`
 * (src/events/messages.ts).
 */
export type OutboxEntry =
  | { kind: "session"; record: SessionRecord }
  | { kind: "event"; event: AuditEvent }
  | { kind: "message"; message: UserMessage };

/**
 * The queue messages of one outbox entry, by the settings of the object that sends it: a session
 * record or an audit event for D1 (`seq`, the outbox's sequence, orders one object's writes of a
 * session), plus a webhook for an audit event `WEBHOOK_EVENTS` selects; a message to a user is a
 * webhook only, never D1, and nothing at all when it could reach nobody (`canDeliverMessages`).
 * Each webhook's id comes from its entry, so an entry sent twice (an object that died between the
 * send and the delete) is one webhook to the receiver. Pure.
 */
export function queueMessagesOf(entry: OutboxEntry, seq: number, config: Config): EventMessage[] {
  switch (entry.kind) {
    case "session":
      return [{ kind: "session", record: entry.record, version: seq }];
    case "event": {
      const webhook = webhookOf(entry.event, config);
      return [{ kind: "event", event: entry.event }, ...(webhook === null ? [] : [webhook])];
    }
    case "message": {
      const { message } = entry;
      if (!canDeliverMessages(config)) return [];
      return [{ kind: "webhook", webhook: { id: `msg_${message.id}`, type: message.type, timestamp: new Date(message.at).toISOString(), data: message.data } }];
    }
  }
}

/** The webhook of an audit event, when `WEBHOOK_EVENTS` selects its type; its id is the event's, so a resend is one webhook. Pure. */
export function webhookOf(event: AuditEvent, config: Config): EventMessage | null {
  if (!isWebhookSelected(config, event.type)) return null;
  return { kind: "webhook", webhook: { id: `evt_${event.id}`, type: event.type, timestamp: new Date(event.at).toISOString(), data: eventOnTheWire(event) } };
}

/**
 * Sends the webhook of an event that the worker wrote to D1 itself, in the same statement batch
 * as the change it records (an identity linked or unlinked: D1 is their authority, so they need
 * no object's outbox). Called once D1 has committed; a queue that refuses the send is logged and
 * costs that one webhook, never the request, which has already happened.
 */
export async function sendWebhookOf(env: Env, config: Config, event: AuditEvent): Promise<void> {
  const webhook = webhookOf(event, config);
  if (webhook === null) return;
  try {
    await env.EVENTS.send(webhook, { contentType: "json" });
  } catch (error) {
    console.warn(JSON.stringify({ event: "webhook_not_queued", type: event.type, event_id: event.id, problem: (error as Error).message }));
  }
}

/** At most this many messages per `sendBatch` (a Queues limit). */
const MAX_MESSAGES_PER_SEND = 100;
/**
 * At most this many bytes of bodies per `sendBatch`: Queues takes 256 KB (of 1,000 bytes) per
 * call, each message with up to about 100 bytes of its own metadata. An entry's message is a few
 * KB at most (the largest, a reuse event, lists at most `MAX_SESSIONS_PER_USER` session ids), far
 * under the 128 KB of one message.
 */
const MAX_BYTES_PER_SEND = 200_000;

/** `messages` as `sendBatch` calls within the Queues limits, in order, each body sent as JSON. */
export function sendBatches(messages: EventMessage[]): MessageSendRequest<EventMessage>[][] {
  const batches: MessageSendRequest<EventMessage>[][] = [];
  let current: MessageSendRequest<EventMessage>[] = [];
  let bytes = 0;
  for (const body of messages) {
    const size = new TextEncoder().encode(JSON.stringify(body)).byteLength;
    if (current.length > 0 && (current.length === MAX_MESSAGES_PER_SEND || bytes + size > MAX_BYTES_PER_SEND)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push({ body, contentType: "json" });
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

import { requireSettings, type Config } from "../config";
import { insertEvent } from "../db/events";
import { ensureSchema } from "../db/schema";
import { upsertSession } from "../db/sessions";
import { AuthError } from "../errors/auth-error";
import { firstTimeFilter } from "../log-once";
import { USER_MESSAGE_TYPES, type UserMessageData } from "../wire";
import { keepInDevInbox } from "./dev-inbox";
import type { EventMessage, Webhook } from "./messages";
import { DEAD_LETTER_RETRY_SECONDS, retryDelaySeconds } from "./retry-schedule";
import { deliverWebhook, importWebhookKey } from "./webhook-delivery";
import { webhookTarget } from "./webhook-settings";

type Delivery = Message<EventMessage>;
type D1Message = Delivery & { body: Exclude<EventMessage, { kind: "webhook" }> };
type WebhookMessage = Delivery & { body: Extract<EventMessage, { kind: "webhook" }> };

/** A queue whose name ends so is a dead-letter queue (wrangler.toml names both). */
const DEAD_LETTER_SUFFIX = "-dlq";
/**
 * Webhooks of one batch in flight at once: a Worker keeps at most six connections open, and one
 * started beyond that would wait for a connection with its 10 s already running.
 */
const CONCURRENT_DELIVERIES = 6;

const firstTimeMisconfigured = firstTimeFilter(16);

/**
 * The queue handler of the worker (wrangler.toml `[[queues.consumers]]`), for the EVENTS queue
 * and its dead-letter queue. Every batch's D1 messages (audit events, session records) are
 * written in one `db.batch`, one D1 transaction, and acknowledged together; if D1 refuses, each
 * is retried with back-off. Its webhooks are delivered meanwhile, each acknowledged or retried on
 * its own, so neither side waits for or repeats the other. Never throws: every message leaves
 * acknowledged or retried.
 */
export async function consumeEvents(batch: MessageBatch<EventMessage>, env: Env): Promise<void> {
  const deadLetters = batch.queue.endsWith(DEAD_LETTER_SUFFIX);
  let config: Config;
  try {
    config = requireSettings(env);
  } catch (error) {
    // The worker refuses every request meanwhile; the messages wait for the setting to be fixed.
    if (!(error instanceof AuthError)) throw error;
    if (firstTimeMisconfigured(error.description)) console.error(`server_misconfigured: ${error.description}`);
    for (const message of batch.messages) message.retry({ delaySeconds: retryDelaySeconds(message.attempts, Math.random()) });
    return;
  }
  const toD1: D1Message[] = [];
  const webhooks: WebhookMessage[] = [];
  for (const message of batch.messages) {
    const kind = (message.body as { kind?: unknown } | null)?.kind;
    if (kind === "session" || kind === "event") toD1.push(message as D1Message);
    else if (kind === "webhook") webhooks.push(message as WebhookMessage);
    else {
      console.error(`queue message ${message.id} of unknown kind dropped`);
      message.ack();
    }
  }
  await Promise.all([writeToD1(env.DB, toD1, deadLetters), deadLetters ? dropDeadWebhooks(webhooks) : sendWebhooks(webhooks, config)]);
}

/** One D1 call for every record and event of the batch; idempotent, so a retried batch is harmless. */
async function writeToD1(db: D1Database, messages: D1Message[], deadLetters: boolean): Promise<void> {
  if (messages.length === 0) return;
  await ensureSchema(db);
  try {
    await db.batch(messages.map(({ body }) => (body.kind === "session" ? upsertSession(db, body.record, body.version) : insertEvent(db, body.event))));
  } catch (error) {
    // The D1 message only: the rows hold session ids and addresses.
    console.warn(`D1 write failed, ${messages.length} queue messages retried: ${(error as Error).message}`);
    for (const message of messages) {
      message.retry({ delaySeconds: deadLetters ? DEAD_LETTER_RETRY_SECONDS : retryDelaySeconds(message.attempts, Math.random()) });
    }
    return;
  }
  for (const message of messages) message.ack();
}

/** Delivers each webhook to `WEBHOOK_URL`; one log line per batch for what failed, never a body. */
async function sendWebhooks(messages: WebhookMessage[], config: Config): Promise<void> {
  if (messages.length === 0) return;
  const target = webhookTarget(config);
  if (target === null) return withoutReceiver(messages, config);
  const key = await importWebhookKey(target.key);
  const failures = new Map<string, number>();
  let next = 0;
  const deliverNext = async (): Promise<void> => {
    for (let message = messages[next++]; message !== undefined; message = messages[next++]) {
      const outcome = await deliverWebhook(target.url, key, message.body.webhook, Date.now());
      if (outcome.delivered) {
        message.ack();
        continue;
      }
      failures.set(outcome.reason, (failures.get(outcome.reason) ?? 0) + 1);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, Math.random(), outcome.retryAfterSeconds) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_DELIVERIES, messages.length) }, deliverNext));
  if (failures.size > 0) {
    const reasons = [...failures].map(([reason, count]) => `${count} ${reason}`).join(", ");
    console.warn(`webhooks not delivered, retried later: ${reasons}`);
  }
}

/**
 * No receiver (its URL unset since the webhooks were queued, or local dev). In local dev with
 * `DEV_MESSAGE_LOG` a message to a user goes to the log, whole: the one place a code or reset
 * token is ever logged, and only there, so a developer can follow a verification or reset link;
 * the demo's dev inbox shows the same (src/events/dev-inbox.ts).
 */
function withoutReceiver(messages: WebhookMessage[], config: Config): void {
  for (const message of messages) {
    const { webhook } = message.body;
    if (config.devMessageLog && isUserMessage(webhook)) {
      console.log(`[dev only: DEV_MESSAGE_LOG, never in production] ${webhook.type} ${JSON.stringify(webhook.data)}`);
      keepInDevInbox({ id: webhook.id, type: webhook.type, at: webhook.timestamp, data: webhook.data as UserMessageData });
    } else {
      console.warn(`webhook ${webhook.id} (${webhook.type}) dropped: WEBHOOK_URL is unset`);
    }
    message.ack();
  }
}

/** Webhooks that ran out of retries: their ids and types logged for the operator, then dropped. */
function dropDeadWebhooks(messages: WebhookMessage[]): void {
  if (messages.length === 0) return;
  const named = messages.map(({ body }) => `${body.webhook.id} (${body.webhook.type})`).join(", ");
  console.error(`webhooks dead-lettered after every retry, dropped: ${named}`);
  for (const message of messages) message.ack();
}

function isUserMessage(webhook: Webhook): boolean {
  return (USER_MESSAGE_TYPES as readonly string[]).includes(webhook.type);
}

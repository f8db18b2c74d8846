import type { Config } from "../config";
import { misconfigured } from "../errors/auth-error";

/** Where webhooks go and the key that signs them; null when `WEBHOOK_URL` is unset. */
export function webhookTarget(config: Config): { url: URL; key: Uint8Array } | null {
  const { url, secret } = config.webhooks;
  // parseConfig refuses a WEBHOOK_URL without a WEBHOOK_SECRET, so a URL always comes with its key.
  return url === null || secret === null ? null : { url, key: secret };
}

/** Whether an audit event of `type` goes to the receiver as well as to D1 (`WEBHOOK_EVENTS`). */
export function isWebhookSelected(config: Config, type: string): boolean {
  return config.webhooks.url !== null && config.webhooks.events.includes(type);
}

/**
 * Whether a message to a user (a code, a reset link) reaches anyone: a webhook receiver is set,
 * or this is local dev (`DEV_MESSAGE_LOG`), where it goes to the worker's log.
 */
export function canDeliverMessages(config: Config): boolean {
  return config.webhooks.url !== null || config.devMessageLog;
}

/**
 * For a route that sends a message to a user (forgot password): 503 `server_misconfigured` when
 * it could reach nobody, rather than a silent drop.
 *
 * @example
 * requireMessageDelivery(c.get("config"));
 */
export function requireMessageDelivery(config: Config): void {
  if (!canDeliverMessages(config)) {
    throw misconfigured("WEBHOOK_URL is unset, so messages to users (verification codes, reset links) cannot be delivered.");
  }
}

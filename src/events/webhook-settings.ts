import { BadValue, listOf, type Parser } from "../config/parsers";
import type { Config } from "../config";
import { EVENT_TYPES } from "../db/events";
import { misconfigured } from "../http/errors";
import { USER_MESSAGE_TYPES } from "./messages";

/**
 * The audit types `WEBHOOK_EVENTS` may name: those recorded today, and those the account
 * features (passkeys, TOTP, linked identities, e-mail, password change and reset, deletion) will
 * record, so that a list written for them today is not refused as a bad value. The one list of
 * those names until each is recorded and joins `EVENT_TYPES`.
 */
export const WEBHOOK_EVENT_TYPES = [
  ...EVENT_TYPES,
  "passkey_added",
  "passkey_removed",
  "passkey_counter_regressed",
  "mfa_enabled",
  "mfa_disabled",
  "recovery_code_used",
  "identity_linked",
  "identity_unlinked",
  "email_verified",
  "password_changed",
  "password_reset",
  "account_deleted",
] as const;

/** The events a team most likely acts on at once: a stolen token, a forged proof or passkey, a lost account. */
export const DEFAULT_WEBHOOK_EVENTS =
  "refresh_token_reuse,dpop_proof_failed,passkey_counter_regressed,password_changed,password_reset,mfa_disabled,account_deleted";

const selectable = new Set<string>([...WEBHOOK_EVENT_TYPES, ...USER_MESSAGE_TYPES]);

/**
 * `WEBHOOK_EVENTS`: audit types, each one the gateway records or will record. `message.*` types
 * may be listed and change nothing (they always go), so a list of only those selects no audit type.
 */
export const webhookEvents: Parser<readonly string[]> = listOf("audit event types", (type) => {
  if (!selectable.has(type)) throw new BadValue(`entries must be audit event types (${WEBHOOK_EVENT_TYPES.join(", ")}), got "${type}".`);
  return type;
});

const SECRET_PREFIX = "whsec_";
// The Standard Webhooks spec: a random secret of at least 24 bytes (192 bits); 64 is plenty.
const SECRET_BYTES = { min: 24, max: 64 };
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * `WEBHOOK_SECRET`: `whsec_` and the base64 of 24 to 64 random bytes, as Standard Webhooks (and
 * Svix) print their secrets; the key is the decoded bytes. Refused without repeating the value.
 */
export const webhookSecret: Parser<Uint8Array | null> = {
  accepts: `\`${SECRET_PREFIX}\` + base64 of ${SECRET_BYTES.min} to ${SECRET_BYTES.max} random bytes`,
  parse(raw) {
    if (raw === "") return null;
    const encoded = raw.startsWith(SECRET_PREFIX) ? raw.slice(SECRET_PREFIX.length) : null;
    if (encoded === null || encoded === "" || !BASE64.test(encoded)) {
      throw new BadValue(`must be "${SECRET_PREFIX}" followed by base64 (the Standard Webhooks format), e.g. from \`openssl rand -base64 32\`.`);
    }
    const bytes = Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0));
    if (bytes.length < SECRET_BYTES.min || bytes.length > SECRET_BYTES.max) {
      throw new BadValue(`must encode ${SECRET_BYTES.min} to ${SECRET_BYTES.max} bytes after "${SECRET_PREFIX}", not ${bytes.length}.`);
    }
    return bytes;
  },
};

/** Where webhooks go and the key that signs them; null when `WEBHOOK_URL` is unset. */
export function webhookTarget(config: Config): { url: URL; key: Uint8Array } | null {
  const { url, secret } = config.webhooks;
  // parseConfig refuses a WEBHOOK_URL without a WEBHOOK_SECRET, so a URL always comes with its key.
  return url === null || secret === null ? null : { url, key: secret };
}

/** Whether an audit event of `type` goes to the receiver as well as to D1. */
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
 */
export function requireMessageDelivery(config: Config): void {
  if (!canDeliverMessages(config)) {
    throw misconfigured("WEBHOOK_URL is unset, so messages to users (verification codes, reset links) cannot be delivered.");
  }
}

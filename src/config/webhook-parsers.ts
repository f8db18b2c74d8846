import { EVENT_TYPES, USER_MESSAGE_TYPES } from "../wire";
import { BadValue, listOf, type Parser } from "./parsers";

/** The events a team most likely acts on at once: a stolen token, a forged proof or passkey, a lost account. */
export const DEFAULT_WEBHOOK_EVENTS =
  "refresh_token_reuse,dpop_proof_failed,passkey_counter_regressed,password_changed,password_reset,mfa_disabled,account_deleted";

const selectable = new Set<string>([...EVENT_TYPES, ...USER_MESSAGE_TYPES]);

/**
 * `WEBHOOK_EVENTS`: audit types, each one the gateway records or will record. `message.*` types
 * may be listed and change nothing (they always go), so a list of only those selects no audit type.
 */
export const webhookEvents: Parser<readonly string[]> = listOf("audit event types", (type) => {
  if (!selectable.has(type)) throw new BadValue(`entries must be audit event types (${EVENT_TYPES.join(", ")}), got "${type}".`);
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

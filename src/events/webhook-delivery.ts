import type { Webhook } from "./messages";
import { retryAfterSeconds } from "./retry-schedule";

/** A receiver that has not answered (status and headers) within this long has failed the attempt. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** How one delivery attempt ended: a 2xx, or why not (for the log) and the receiver's `Retry-After`. */
export type DeliveryOutcome =
  | { delivered: true; status: number }
  | { delivered: false; reason: string; retryAfterSeconds: number | null };

/**
 * POSTs one webhook, signed for this attempt (Standard Webhooks: `webhook-id` stays, the
 * timestamp and signature are the attempt's, so a receiver's 5-minute replay window accepts a
 * retry hours later). A 2xx delivers it; any other status, a redirect (never followed: the
 * receiver's URL is the operator's to fix), a network error or no answer within `timeoutMs`
 * fails it. The answer's body is never read: a huge or endless one costs nothing. Never throws.
 */
export async function deliverWebhook(url: URL, key: CryptoKey, webhook: Webhook, now: number, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<DeliveryOutcome> {
  const body = JSON.stringify({ type: webhook.type, timestamp: webhook.timestamp, data: webhook.data });
  const timestamp = Math.floor(now / 1000);
  const headers = {
    "Content-Type": "application/json",
    "User-Agent": "edge-auth-gateway-webhooks",
    "webhook-id": webhook.id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await signatureHeader(key, webhook.id, timestamp, body),
  };
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return { delivered: false, reason: timedOut ? `no answer within ${timeoutMs / 1000} s` : `unreachable (${(error as Error).message})`, retryAfterSeconds: null };
  }
  await response.body?.cancel().catch(() => {});
  if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
  return { delivered: false, reason: `answered ${response.status}`, retryAfterSeconds: retryAfterSeconds(response.headers.get("Retry-After"), now) };
}

/** The HMAC-SHA256 key of a `WEBHOOK_SECRET`'s decoded bytes, for `signatureHeader`. */
export function importWebhookKey(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/**
 * The `webhook-signature` header of Standard Webhooks: `v1,` and the base64 HMAC-SHA256 of
 * `{webhook-id}.{webhook-timestamp}.{body}`, the body byte for byte as sent. The id and the
 * timestamp never hold a `.` (ids are ours, timestamps digits), so the signed text is unambiguous.
 */
export async function signatureHeader(key: CryptoKey, id: string, timestampSeconds: number, body: string): Promise<string> {
  const signed = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`));
  return `v1,${btoa(String.fromCharCode(...new Uint8Array(signed)))}`;
}

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

import { encodeBase64url } from "../origin/base64url";
import { hmacKey } from "../origin/hmac";
import { SESSION_HEADER, SIGNATURE_HEADER, SIGNATURE_VERSION, TIMESTAMP_HEADER, USER_HEADER, signatureBase } from "../origin/signature-base";

const utf8 = new TextEncoder();

/**
 * Signs a request for the origin (`ORIGIN_SIGNING_SECRET`): sets `X-Auth-Timestamp` to `nowSeconds`
 * and `X-Auth-Signature` to `v1=` and the base64url HMAC-SHA256, under `secret`, of the string
 * `signatureBase` builds from the method, the path and query as forwarded, and the
 * `X-Auth-User`/`X-Auth-Session` already in `headers` (so it runs after they are set, and
 * nothing may change them after). The key is imported once per isolate and secret.
 *
 * @example
 * await signForOrigin(headers, secret, { method: "GET", pathAndQuery: "/api/me?x=1" }, Date.now() / 1000);
 */
export async function signForOrigin(
  headers: Headers,
  secret: string,
  request: { method: string; pathAndQuery: string },
  nowSeconds: number,
): Promise<void> {
  const timestamp = String(Math.floor(nowSeconds));
  const signed = signatureBase({
    timestamp,
    method: request.method,
    pathAndQuery: request.pathAndQuery,
    user: headers.get(USER_HEADER),
    session: headers.get(SESSION_HEADER),
  });
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret, "sign"), utf8.encode(signed));
  headers.set(TIMESTAMP_HEADER, timestamp);
  headers.set(SIGNATURE_HEADER, `${SIGNATURE_VERSION}=${encodeBase64url(new Uint8Array(mac))}`);
}

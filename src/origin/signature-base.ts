// The string the gateway signs for the origin, shared by the gateway (src/http/origin-signature.ts)
// and the origin SDK (this folder): one definition, so the two can never disagree about a byte.
// Pure and dependency-free, like everything under src/origin/.

/** The header carrying the signing time, in whole seconds since the epoch. */
export const TIMESTAMP_HEADER = "X-Auth-Timestamp";
/** The header carrying `v1=<base64url of the HMAC-SHA256>`. */
export const SIGNATURE_HEADER = "X-Auth-Signature";
/** The header carrying the user id the gateway verified (absent without one). */
export const USER_HEADER = "X-Auth-User";
/** The header carrying the session id the gateway verified (absent without one). */
export const SESSION_HEADER = "X-Auth-Session";

/** The version prefix of the signature header's value, and the first line of the signed string. */
export const SIGNATURE_VERSION = "v1";

/** What a signature covers: the request line as forwarded and the identity the gateway added. */
export interface SignedFields {
  /** Whole seconds since the epoch, as written in `X-Auth-Timestamp`. */
  timestamp: string;
  /** The method as sent on the request line (`GET`, `POST`, ...). */
  method: string;
  /** The path with its query (`/v1/orders?page=2`), exactly as forwarded: no decoding, no normalising. */
  pathAndQuery: string;
  /** `X-Auth-User`, or null when the request carries none. */
  user: string | null;
  /** `X-Auth-Session`, or null when the request carries none. */
  session: string | null;
}

/**
 * The signed string: `v1`, timestamp, method, path with query, user and session, one per line
 * (`\n`), a missing user or session as the empty string.
 *
 * @example
 * signatureBase({ timestamp: "1764547200", method: "GET", pathAndQuery: "/api/me?x=1", user: "u1", session: "s1" });
 * // "v1\n1764547200\nGET\n/api/me?x=1\nu1\ns1"
 */
export function signatureBase(fields: SignedFields): string {
  return [SIGNATURE_VERSION, fields.timestamp, fields.method, fields.pathAndQuery, fields.user ?? "", fields.session ?? ""].join("\n");
}

/** The shortest secret the gateway and the SDK accept: 32 characters. */
export const MIN_SECRET_LENGTH = 32;

/**
 * The secrets of an `ORIGIN_SIGNING_SECRET`-style value: one secret, or two separated by a comma
 * during a rotation (the first signs, both verify), each trimmed. Null when the value is not
 * that: empty, a half empty, more than two, or a secret shorter than 32 characters.
 */
export function parseSigningSecrets(value: string): [string] | [string, string] | null {
  const secrets = value.split(",").map((secret) => secret.trim());
  if (secrets.length > 2 || secrets.some((secret) => secret.length < MIN_SECRET_LENGTH)) return null;
  return secrets as [string] | [string, string];
}

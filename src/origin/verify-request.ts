import { verifyForwardedToken, type AccessTokenClaims, type AccessTokenOptions } from "./access-token";
import { decodeBase64url } from "./base64url";
import { GatewayVerificationError } from "./errors";
import { secretsOf, verifyHmac } from "./hmac";
import { SESSION_HEADER, SIGNATURE_HEADER, SIGNATURE_VERSION, TIMESTAMP_HEADER, USER_HEADER, signatureBase } from "./signature-base";

/** How to check a request the gateway forwarded. */
export interface VerifyOptions {
  /**
   * The gateway's `ORIGIN_SIGNING_SECRET`: one secret, or during a rotation the two of it separated
   * by a comma (or as an array). A request signed with either verifies.
   */
  secret: string | readonly string[];
  /** How far the signing time may be from now, either way, in seconds. Default 60. */
  maxAgeSeconds?: number;
  /** Also verify the forwarded access token against the gateway's JWKS, and return its claims. */
  accessToken?: AccessTokenOptions;
  /** The current time in milliseconds since the epoch; default `Date.now()`. */
  now?: number;
}

/** Who the gateway says made the request. */
export interface GatewayIdentity {
  /** `X-Auth-User`: the user id of the verified access token, or null (a public path without one). */
  user: string | null;
  /** `X-Auth-Session`: the session id of the verified access token, or null. */
  session: string | null;
  /** With `accessToken`: the access token's verified claims (custom claims included); otherwise null. */
  claims: AccessTokenClaims | null;
}

/** The parts of a request a signature is checked against, however the runtime represents them. */
export interface RequestParts {
  method: string;
  /** The path and query exactly as received on the request line. */
  pathAndQuery: string;
  /** A header's value (repeated headers joined by `, `), or null when absent. */
  header(name: string): string | null;
}

const DEFAULT_MAX_AGE_SECONDS = 60;
const TIMESTAMP = /^[0-9]{1,12}$/;
// `v1=` then the 43 base64url characters of 32 bytes: nothing before, after or in between, and
// that case only. Two signature headers arrive joined by `, ` and fail here.
const SIGNATURE = new RegExp(`^${SIGNATURE_VERSION}=([A-Za-z0-9_-]{43})$`);

/**
 * Verifies that a Fetch-API request (Workers, Node 18+ `Request`, Bun, Deno) came through the
 * gateway: its `X-Auth-Signature` is the HMAC of the method, the path and query this request
 * arrived with, the signed time and the identity headers, under `secret`, made within
 * `maxAgeSeconds` of now. Returns the identity, or throws a `GatewayVerificationError` whose
 * `code` is `missing`, `expired` or `bad_signature` (and, with `accessToken`, `invalid_token` or
 * `jwks_unavailable`).
 *
 * @example
 * export default {
 *   async fetch(request, env) {
 *     const { user } = await verifyGatewayRequest(request, { secret: env.ORIGIN_SIGNING_SECRET });
 *     return Response.json({ hello: user });
 *   },
 * };
 */
export function verifyGatewayRequest(request: Request, options: VerifyOptions): Promise<GatewayIdentity> {
  return verifyRequestParts(
    { method: request.method, pathAndQuery: pathAndQueryOf(request.url), header: (name) => request.headers.get(name) },
    options,
  );
}

/**
 * The check behind `verifyGatewayRequest` and `verifyNodeRequest`, on a request's parts. Options
 * are checked first: a bad `secret` or `maxAgeSeconds` throws a TypeError, whatever the request.
 */
export async function verifyRequestParts(request: RequestParts, options: VerifyOptions): Promise<GatewayIdentity> {
  if (typeof crypto === "undefined" || typeof crypto.subtle === "undefined") {
    throw new TypeError("No WebCrypto (globalThis.crypto.subtle): use Node 20 or newer, or Node 18 with --experimental-global-webcrypto.");
  }
  const secrets = secretsOf(options.secret);
  const maxAgeSeconds = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  if (typeof maxAgeSeconds !== "number" || !(maxAgeSeconds > 0) || !Number.isFinite(maxAgeSeconds)) {
    throw new TypeError("maxAgeSeconds must be a positive number of seconds.");
  }
  const now = options.now ?? Date.now();

  const timestamp = request.header(TIMESTAMP_HEADER);
  const signature = request.header(SIGNATURE_HEADER);
  if (timestamp === null || signature === null) {
    throw new GatewayVerificationError("missing", `No ${timestamp === null ? TIMESTAMP_HEADER : SIGNATURE_HEADER}: the request did not come through the gateway.`);
  }
  const mac = SIGNATURE.exec(signature)?.[1];
  const bytes = mac === undefined ? null : decodeBase64url(mac);
  if (!TIMESTAMP.test(timestamp) || bytes === null || bytes.length !== 32) {
    throw new GatewayVerificationError("bad_signature", `${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} is malformed.`);
  }
  const user = nonEmpty(request.header(USER_HEADER));
  const session = nonEmpty(request.header(SESSION_HEADER));
  const signed = signatureBase({ timestamp, method: request.method, pathAndQuery: request.pathAndQuery, user, session });
  // The signature first: `expired` then only ever describes a request the gateway really signed.
  if (!(await verifyHmac(secrets, bytes, signed))) {
    throw new GatewayVerificationError("bad_signature", "The signature does not match this request (method, path and query, identity) under the secret.");
  }
  if (Math.abs(now / 1000 - Number(timestamp)) > maxAgeSeconds) {
    throw new GatewayVerificationError("expired", `The request was signed more than ${maxAgeSeconds} s away from now.`);
  }
  const claims = options.accessToken && user !== null ? await verifyForwardedToken(request.header("Authorization"), { user, session }, options.accessToken, now) : null;
  return { user, session, claims };
}

/**
 * The path and query of a request URL as the runtime gives it, cut from the text and never
 * parsed: a `URL` object would re-encode what the gateway signed as it was. An origin-form target
 * (`/a?b`) is itself; an absolute one (`http://host/a?b`) loses scheme and authority; a fragment
 * (never sent on the wire) is dropped.
 */
export function pathAndQueryOf(target: string): string {
  let start = 0;
  if (!target.startsWith("/")) {
    const scheme = target.indexOf("://");
    const slash = scheme === -1 ? -1 : target.indexOf("/", scheme + 3);
    const query = scheme === -1 ? -1 : target.indexOf("?", scheme + 3);
    if (slash === -1 || (query !== -1 && query < slash)) {
      // `http://host?x` has an empty path, sent as `/?x`.
      return scheme === -1 ? target : `/${query === -1 ? "" : target.slice(query)}`.replace(/#.*$/, "");
    }
    start = slash;
  }
  const fragment = target.indexOf("#", start);
  return target.slice(start, fragment === -1 ? undefined : fragment);
}

function nonEmpty(value: string | null): string | null {
  return value === null || value === "" ? null : value;
}

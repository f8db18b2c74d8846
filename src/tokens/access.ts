import { SignJWT, base64url, jwtVerify, type JWTPayload } from "jose";
import type { AccessTokenReason } from "../errors/refusals";
import type { Verdict } from "../errors/verdict";
import { keyForHeader, keyOfSignedHeader, signedHeader, verifySignature, type KeyRing } from "./key-ring";
import { jwtRefusalReason } from "./jwt-refusal";
import { isUserId } from "./user-id";

/** Custom claims an origin attached to a session (`POST /auth/admin/sessions`). */
export type SessionClaims = Record<string, string | number | boolean | Array<string | number | boolean>>;

/** The verified claims of an access token, as the gateway and the Bearer routes see them. */
export interface AccessClaims {
  /** Set for a DPoP-bound session: the thumbprint of its key (RFC 9449 section 6.1). */
  cnf?: { jkt: string };
  /** How the user signed in (RFC 8176) and when (epoch seconds): set by every way in, kept by refreshes. Not checked: ordinary claims to the verifier. */
  amr?: string[];
  auth_time?: number;
  /** The session's custom claims. */
  [claim: string]: unknown;
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface AccessTokenSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  clockSkewSeconds: number;
}

/**
 * The claims of a token that verified, or why it did not (src/errors/refusals.ts says what the
 * client is told). `expiredClaims` is set for a token that passed every check but its lifetime:
 * signature, `typ`, `iss` and `aud` are verified before `exp`, so they are claims this gateway
 * issued (logout accepts them).
 */
export type AccessTokenResult = Verdict<{ claims: AccessClaims }, AccessTokenReason, { expiredClaims?: AccessClaims }>;

/** Claims the gateway sets itself; a session's custom claims may not name them. */
export const REGISTERED_CLAIMS = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid"] as const;

// A real access token is a few hundred bytes; refusing big ones before parsing keeps the
// verifier's work bounded.
const MAX_TOKEN_LENGTH = 8192;

/**
 * Signs an access token (RFC 9068: `typ: at+jwt`) for a session with the key ring's signing key.
 *
 * @example
 * const jwt = await signAccessToken(ring, settings, { sub: "u1", sid: "s1", claims: {} }, Date.now() / 1000);
 */
export async function signAccessToken(
  ring: KeyRing,
  settings: AccessTokenSettings,
  session: { sub: string; sid: string; claims: SessionClaims; jkt?: string | null; amr?: readonly string[] | null; authTime?: number },
  nowSeconds: number,
): Promise<string> {
  const iat = Math.floor(nowSeconds);
  const cnf = session.jkt ? { cnf: { jkt: session.jkt } } : {};
  // `authTime` is Unix ms like every time of a session; `auth_time` is epoch seconds (OpenID Connect Core section 2).
  const amr = session.amr ? { amr: [...session.amr] } : {};
  const authTime = session.authTime === undefined ? {} : { auth_time: Math.floor(session.authTime / 1000) };
  return new SignJWT({ ...session.claims, ...cnf, ...amr, ...authTime, sid: session.sid })
    .setProtectedHeader(signedHeader(ring.signer))
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(session.sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(iat)
    .setExpirationTime(iat + settings.accessTokenTtlSeconds)
    .sign(ring.signer.key);
}

/**
 * Verifies an access token statelessly: signature under a known `kid` with that key's algorithm,
 * `typ`, `iss`, `aud`, `exp`, `nbf` and `iat` with `clockSkewSeconds` of tolerance. Fails closed:
 * anything it cannot parse or check, or that is not in its one canonical compact form, is refused,
 * with the reason named. The one verification used by the gateway and by every Bearer route.
 *
 * A token with a header this gateway writes takes a fast path (`verifySignedHeader`); any other
 * token, and any the fast path does not accept outright, is judged by jose's `jwtVerify`.
 */
export async function verifyAccessToken(
  token: string,
  ring: KeyRing,
  settings: AccessTokenSettings,
  nowSeconds: number,
): Promise<AccessTokenResult> {
  if (token.length > MAX_TOKEN_LENGTH) return refused("too_large");
  const parts = canonicalParts(token);
  if (parts === null) return refused("not_canonical");
  return (await verifySignedHeader(token, parts, ring, settings, nowSeconds)) ?? verifyWithJose(token, ring, settings, nowSeconds);
}

const refused = (reason: AccessTokenReason): AccessTokenResult => ({ ok: false, reason });

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const ascii = new TextEncoder();

/**
 * The fast path, for a token whose header is byte for byte one this gateway signs with
 * (`keyOfSignedHeader`): the key comes with the header, so there is nothing to parse before one
 * signature check, then the claims. It decides on its own only what jose would decide the same
 * way from the same inputs: a bad signature is `bad_signature`, and a token whose every claim
 * passes is accepted. For anything else (another header, a claim that fails, so that jose names
 * which) it answers null and `jwtVerify` decides: jose stays the reference, and the path nearly
 * every request takes skips its generality (see docs/scale.md, "The bench").
 */
async function verifySignedHeader(
  token: string,
  [encodedHeader, encodedPayload, encodedSignature]: [string, string, string],
  ring: KeyRing,
  settings: AccessTokenSettings,
  nowSeconds: number,
): Promise<AccessTokenResult | null> {
  const key = keyOfSignedHeader(ring, encodedHeader);
  if (!key) return null;
  const signingInput = ascii.encode(token.slice(0, encodedHeader.length + 1 + encodedPayload.length));
  let verified = false;
  try {
    verified = await verifySignature(key, base64url.decode(encodedSignature), signingInput);
  } catch {
    // A canonical part always decodes; were one not to, it is a signature that does not verify.
  }
  if (!verified) return refused("bad_signature");
  const claims = jsonObject(encodedPayload);
  return claims !== null && passesEveryClaimCheck(claims, settings, nowSeconds) ? { ok: true, claims } : null;
}

/**
 * Whether jose's `jwtVerify`, with the options of `verifyWithJose`, would accept these claims and
 * `hasSessionClaims` too. Only ever used to accept: a token that fails here goes to jose.
 */
function passesEveryClaimCheck(claims: Record<string, unknown>, settings: AccessTokenSettings, nowSeconds: number): claims is AccessClaims {
  const { iat, exp, nbf } = claims;
  // jose reads the clock as whole seconds of a Date.
  const now = Math.floor(Math.trunc(nowSeconds * 1000) / 1000);
  const skew = settings.clockSkewSeconds;
  return (
    claims.iss === settings.issuer &&
    claims.aud === settings.audience &&
    hasSessionClaims(claims) &&
    typeof iat === "number" &&
    typeof exp === "number" &&
    (nbf === undefined || (typeof nbf === "number" && nbf <= now + skew)) &&
    exp > now - skew &&
    now - iat - skew <= settings.accessTokenTtlSeconds &&
    now - iat >= -skew
  );
}

/** The base64url JSON object of a token part, or null when it is not one (jose's rules: strict UTF-8, a plain object). */
function jsonObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(strictUtf8.decode(base64url.decode(part)));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The general path: jose's `jwtVerify` with every rule of the contract as an option. */
async function verifyWithJose(token: string, ring: KeyRing, settings: AccessTokenSettings, nowSeconds: number): Promise<AccessTokenResult> {
  // jose asks for the key after its header checks; when there is none, the reason is kept here.
  let keyRefusal: AccessTokenReason | null = null;
  const keyFor = (header: { kid?: unknown; alg?: unknown }) => {
    const selected = keyForHeader(ring, header);
    if (selected.ok) return selected.key.key;
    keyRefusal = selected.reason;
    throw new Error(selected.reason);
  };
  try {
    const { payload } = await jwtVerify(token, keyFor, {
      algorithms: ring.algorithms,
      issuer: settings.issuer,
      audience: settings.audience,
      typ: "at+jwt",
      clockTolerance: settings.clockSkewSeconds,
      // Also refuses an `iat` in the future, and caps a token's life at the configured TTL.
      maxTokenAge: settings.accessTokenTtlSeconds,
      requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
      currentDate: new Date(nowSeconds * 1000),
    });
    if (!hasSessionClaims(payload)) return refused("not_a_session");
    return { ok: true, claims: payload };
  } catch (error) {
    if (keyRefusal !== null) return refused(keyRefusal);
    const reason = jwtRefusalReason(error);
    if (reason !== "expired" && reason !== "too_old") return refused(reason);
    const { payload } = error as { payload: JWTPayload };
    return hasSessionClaims(payload) ? { ok: false, reason, expiredClaims: payload } : refused(reason);
  }
}

// One token, one spelling (RFC 7515 section 2: base64url without padding). Decoders forgive
// `=` padding and set low bits in the last character, so `${token}==` or a token with another
// last letter would verify as the same token: a different string the gateway would accept, which
// breaks anything that compares, caches or deny-lists tokens as strings. Checked on the text
// alone, before anything is decoded.
function canonicalParts(token: string): [string, string, string] | null {
  if (!COMPACT.test(token)) return null;
  const parts = token.split(".") as [string, string, string];
  return parts.every(isCanonicalBase64url) ? parts : null;
}

const COMPACT = /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// By length mod 4, the low bits of the last character that carry no data: RFC 4648 section 3.5
// wants them zero. A length of 4n+1 is not base64 at all.
const UNUSED_LOW_BITS = [0, null, 0b1111, 0b11] as const;

function isCanonicalBase64url(part: string): boolean {
  const unused = UNUSED_LOW_BITS[(part.length % 4) as 0 | 1 | 2 | 3];
  if (unused === null) return false;
  return unused === 0 || (BASE64URL_ALPHABET.indexOf(part.at(-1)!) & unused) === 0;
}

function hasSessionClaims(payload: JWTPayload | Record<string, unknown>): payload is AccessClaims {
  // `sub` and `sid` become X-Auth-User and X-Auth-Session: only ids that can be one pass, even
  // in a token signed with our key.
  return (
    isUserId(payload.sub) &&
    isUserId(payload.sid) &&
    typeof payload.jti === "string" &&
    typeof payload.aud === "string" &&
    (payload.cnf === undefined || (typeof payload.cnf === "object" && payload.cnf !== null && typeof (payload.cnf as { jkt?: unknown }).jkt === "string"))
  );
}

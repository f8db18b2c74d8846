import { SignJWT, base64url, errors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from "jose";
import type { KeyRing } from "./key-ring";
import { isUserId } from "./user-id";

/** Custom claims an origin attached to a session (`POST /auth/admin/sessions`). */
export type SessionClaims = Record<string, string | number | boolean | Array<string | number | boolean>>;

/** The verified claims of an access token, as the gateway and the Bearer routes see them. */
export interface AccessClaims {
  /** Set for a DPoP-bound session: the thumbprint of its key (RFC 9449 section 6.1). */
  cnf?: { jkt: string };
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

/** Why a presented access token was refused. Only `expired` is told apart on the wire. */
export type AccessTokenProblem = "expired" | "invalid";

/**
 * `expiredClaims` is set for a token that passed every check but its lifetime: signature, `typ`,
 * `iss` and `aud` are verified before `exp`, so they are claims this gateway issued (logout
 * accepts them).
 */
export type AccessTokenResult =
  | { ok: true; claims: AccessClaims }
  | { ok: false; problem: AccessTokenProblem; expiredClaims?: AccessClaims };

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
  session: { sub: string; sid: string; claims: SessionClaims; jkt?: string | null },
  nowSeconds: number,
): Promise<string> {
  const iat = Math.floor(nowSeconds);
  const cnf = session.jkt ? { cnf: { jkt: session.jkt } } : {};
  return new SignJWT({ ...session.claims, ...cnf, sid: session.sid })
    .setProtectedHeader({ alg: ring.signer.alg, kid: ring.signer.kid, typ: "at+jwt" })
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
 * anything it cannot parse or check, or that is not in its one canonical compact form, is
 * `invalid`. The one verification used by the gateway and by
 * every Bearer route.
 */
export async function verifyAccessToken(
  token: string,
  ring: KeyRing,
  settings: AccessTokenSettings,
  nowSeconds: number,
): Promise<AccessTokenResult> {
  if (token.length > MAX_TOKEN_LENGTH || !isCanonicalCompact(token)) return { ok: false, problem: "invalid" };
  try {
    const { payload } = await jwtVerify(token, (header) => keyFor(ring, header), {
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
    if (!hasSessionClaims(payload)) return { ok: false, problem: "invalid" };
    return { ok: true, claims: payload };
  } catch (error) {
    if (!(error instanceof errors.JWTExpired)) return { ok: false, problem: "invalid" };
    return hasSessionClaims(error.payload) ? { ok: false, problem: "expired", expiredClaims: error.payload } : { ok: false, problem: "expired" };
  }
}

// The key is chosen by `kid` alone and must be used with the algorithm it was configured for:
// a token that names an ES256 key but says HS256 (algorithm confusion) finds no key. `jku`,
// `x5u` and `jwk` header parameters are never looked at.
function keyFor(ring: KeyRing, header: JWTHeaderParameters): CryptoKey {
  const entry = typeof header.kid === "string" ? ring.byKid.get(header.kid) : undefined;
  if (!entry || entry.alg !== header.alg) throw new errors.JWKSNoMatchingKey();
  return entry.key;
}

// One token, one spelling (RFC 7515 section 2: base64url without padding). Decoders forgive
// `=` padding and set low bits in the last character, so `${token}==` or a token with another
// last letter would verify as the same token: a different string the gateway would accept, which
// breaks anything that compares, caches or deny-lists tokens as strings.
function isCanonicalCompact(token: string): boolean {
  const parts = token.split(".");
  return parts.length === 3 && parts.every(isCanonicalBase64url);
}

function isCanonicalBase64url(part: string): boolean {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return false;
  try {
    return base64url.encode(base64url.decode(part)) === part;
  } catch {
    return false;
  }
}

function hasSessionClaims(payload: JWTPayload): payload is AccessClaims {
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

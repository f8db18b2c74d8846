import { decodeBase64url } from "./base64url";
import { GatewayVerificationError } from "./errors";
import { ALGORITHMS, gatewayKey, type Algorithm } from "./jwks";

/** How to verify the access token the gateway forwards in `Authorization`. */
export interface AccessTokenOptions {
  /** The gateway's `ISSUER` (its URL): the `iss` its tokens carry. */
  issuer: string;
  /** The gateway's `AUDIENCE`: the `aud` its tokens carry. */
  audience: string;
  /** Where the gateway publishes its keys; default `<issuer>/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Tolerance for `exp`, `nbf` and `iat`, in seconds; default 30 (the gateway's `CLOCK_SKEW_SECONDS`). */
  clockToleranceSeconds?: number;
}

/** The verified claims of a gateway access token: the registered ones and the session's custom claims. */
export interface AccessTokenClaims {
  [claim: string]: unknown;
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  /** Set for a DPoP-bound session: the thumbprint of its key (RFC 9449 section 6.1). */
  cnf?: { jkt: string };
}

const MAX_TOKEN_LENGTH = 8192;
const DEFAULT_TOLERANCE_SECONDS = 30;
// RFC 9068 section 2.1; the media type's `application/` prefix may be left out, and its case does not matter (RFC 7515 section 4.1.9).
const ACCESS_TOKEN_TYPES = new Set(["at+jwt", "application/at+jwt"]);
// The header parameters a gateway token has. `crit`, `jku`, `jwk`, `x5u`, `b64` and the rest are
// never acted on, and a token that carries one is not the gateway's.
const HEADER_PARAMETERS = new Set(["alg", "kid", "typ"]);

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const ascii = new TextEncoder();

/**
 * Verifies the access token of a signed request (`Authorization: Bearer` or `DPoP`, RFC 9449; the
 * gateway checked the proof already) and that it names the request's `user` and `session`:
 * signature under a `kid` of the gateway's JWKS with that key's one algorithm (ES256 or EdDSA),
 * `typ: at+jwt`, `iss`, `aud`, `exp`, `nbf` and `iat`. Anything else is `invalid_token`.
 */
export async function verifyForwardedToken(
  authorization: string | null,
  identity: { user: string; session: string | null },
  options: AccessTokenOptions,
  now: number,
): Promise<AccessTokenClaims> {
  if (typeof options.issuer !== "string" || options.issuer === "" || typeof options.audience !== "string" || options.audience === "") {
    throw new TypeError("accessToken needs the gateway's issuer and audience.");
  }
  const token = /^(?:Bearer|DPoP) ([A-Za-z0-9_.-]+)$/i.exec(authorization ?? "")?.[1];
  if (token === undefined) throw invalid("The request has no access token (is FORWARD_AUTHORIZATION off?).");
  const claims = await verifyAccessToken(token, options, now);
  if (claims.sub !== identity.user || claims.sid !== identity.session) throw invalid("The access token names another user or session than the signed headers.");
  return claims;
}

async function verifyAccessToken(token: string, options: AccessTokenOptions, now: number): Promise<AccessTokenClaims> {
  const parts = token.length <= MAX_TOKEN_LENGTH ? token.split(".") : [];
  if (parts.length !== 3) throw invalid("The access token is not a compact JWS.");
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = jsonObject(encodedHeader);
  const signature = decodeBase64url(encodedSignature);
  if (header === null || signature === null) throw invalid("The access token is malformed.");
  const { alg, kid, typ } = header;
  if (!Object.keys(header).every((name) => HEADER_PARAMETERS.has(name))) throw invalid("The access token's header has parameters a gateway token never has.");
  if (typeof alg !== "string" || !Object.hasOwn(ALGORITHMS, alg)) throw invalid("The access token's alg is not ES256 or EdDSA.");
  if (typeof typ !== "string" || !ACCESS_TOKEN_TYPES.has(typ.toLowerCase())) throw invalid("The access token's typ is not at+jwt.");
  if (typeof kid !== "string" || kid === "") throw invalid("The access token has no kid.");

  const jwksUrl = options.jwksUrl ?? `${options.issuer.replace(/\/+$/, "")}/.well-known/jwks.json`;
  const key = await gatewayKey(jwksUrl, kid, now);
  // The key decides the algorithm: a token naming an ES256 key with another alg finds none.
  if (key === null || key.alg !== (alg as Algorithm)) throw invalid("No key of the gateway's JWKS matches the access token's kid and alg.");
  let verified = false;
  try {
    const signingInput = ascii.encode(`${encodedHeader}.${encodedPayload}`);
    verified = await crypto.subtle.verify(ALGORITHMS[key.alg].verifyAs, key.key, signature, signingInput);
  } catch {
    // A signature WebCrypto cannot even check is a bad signature.
  }
  if (!verified) throw invalid("The access token's signature does not verify.");

  const claims = jsonObject(encodedPayload);
  if (claims === null) throw invalid("The access token's payload is not a JSON object.");
  checkClaims(claims, options, now);
  return claims as AccessTokenClaims;
}

function checkClaims(claims: Record<string, unknown>, options: AccessTokenOptions, now: number): void {
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const seconds = now / 1000;
  const { iss, aud, sub, sid, jti, iat, exp, nbf } = claims;
  if (iss !== options.issuer) throw invalid("The access token's iss is not the gateway's issuer.");
  if (aud !== options.audience && !(Array.isArray(aud) && aud.includes(options.audience))) throw invalid("The access token's aud is not the audience.");
  if (typeof sub !== "string" || typeof sid !== "string" || typeof jti !== "string") throw invalid("The access token lacks sub, sid or jti.");
  if (typeof exp !== "number" || typeof iat !== "number") throw invalid("The access token lacks exp or iat.");
  if (exp <= seconds - tolerance) throw invalid("The access token expired.");
  if (iat > seconds + tolerance) throw invalid("The access token was issued in the future.");
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > seconds + tolerance)) throw invalid("The access token is not valid yet.");
}

/** The base64url JSON object of a token part, or null (strict UTF-8, a plain object, canonical base64url). */
function jsonObject(part: string): Record<string, unknown> | null {
  const bytes = decodeBase64url(part);
  if (bytes === null) return null;
  try {
    const value: unknown = JSON.parse(strictUtf8.decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function invalid(message: string): GatewayVerificationError {
  return new GatewayVerificationError("invalid_token", message);
}

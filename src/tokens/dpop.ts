import { EmbeddedJWK, base64url, calculateJwkThumbprint, decodeProtectedHeader, jwtVerify, type JWK } from "jose";
import type { DpopProofReason } from "../errors/refusals";
import type { Verdict } from "../errors/verdict";
import { jwtRefusalReason } from "./jwt-refusal";
import { holdsPrivateMembers } from "./key-ring";

/**
 * DPoP proofs (RFC 9449): a JWT the client signs with a private key it never hands out, for one
 * request. A session bound to that key's thumbprint (`jkt`) is useless to whoever copies its
 * tokens without the key.
 */

/** The algorithms a proof may use: asymmetric only (RFC 9449 section 4.2), as for access tokens. */
export const DPOP_ALGORITHMS = ["ES256", "EdDSA"] as const;

/** How far a proof's `iat` may be from now, on top of `CLOCK_SKEW_SECONDS`. */
export const DPOP_IAT_WINDOW_SECONDS = 60;

/** A proof that checked out: the key's thumbprint, and what the session must remember of it. */
export interface DpopProof {
  jkt: string;
  jti: string;
  iat: number;
}

/** What a proof must match: the request it came with. */
export interface DpopExpectations {
  method: string;
  /** The request URL; its query and fragment are ignored (RFC 9449 section 4.3). */
  url: string;
  /** The access token sent with the proof, whose SHA-256 the proof's `ath` must be. */
  accessToken?: string;
  nowSeconds: number;
  clockSkewSeconds: number;
}

/** The proof that checked out, or why it did not (src/errors/refusals.ts says what the client is told). */
export type DpopResult = Verdict<{ proof: DpopProof }, DpopProofReason>;

// Proofs are a few hundred bytes; an oversized header is refused before any parsing.
const MAX_PROOF_LENGTH = 4096;

const refused = (reason: DpopProofReason): DpopResult => ({ ok: false, reason });

/**
 * Checks a `DPoP` header against the request (RFC 9449 section 4.3): `typ: dpop+jwt`, an
 * asymmetric `alg`, a public `jwk` and nothing private, a valid signature by that key, `htm`,
 * `htu`, `iat` within the window, a `jti`, and `ath` when an access token came along. Replay of
 * a `jti` is for the caller to check: only the session's Durable Object remembers them. Fails
 * closed: anything it cannot parse or check is refused, with the reason named.
 *
 * @example
 * const result = await verifyDpopProof(c.req.header("DPoP")!, { method: "POST", url: c.req.url, nowSeconds, clockSkewSeconds: 30 });
 * if (result.ok) bindSessionTo(result.proof.jkt);
 */
export async function verifyDpopProof(header: string, expected: DpopExpectations): Promise<DpopResult> {
  if (header.length > MAX_PROOF_LENGTH) return refused("too_large");
  let jwk: JWK;
  try {
    jwk = decodeProtectedHeader(header).jwk as JWK;
  } catch {
    return refused("not_a_jwt");
  }
  if (typeof jwk !== "object" || jwk === null) return refused("no_jwk");
  // A proof carries a public key; one with a private member is refused before jose imports it.
  if (holdsPrivateMembers(jwk)) return refused("private_jwk");

  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(header, EmbeddedJWK, {
      typ: "dpop+jwt",
      algorithms: [...DPOP_ALGORITHMS],
      requiredClaims: ["jti", "htm", "htu", "iat"],
      // `iat` is checked below, both ways; a proof has no `exp`.
      currentDate: new Date(expected.nowSeconds * 1000),
    }));
  } catch (error) {
    return refused(jwtRefusalReason(error));
  }

  const { jti, htm, htu, iat, ath } = payload;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > 256) return refused("bad_jti");
  if (htm !== expected.method) return refused("wrong_htm");
  if (typeof htu !== "string" || !sameTarget(htu, expected.url)) return refused("wrong_htu");
  if (typeof iat !== "number" || Math.abs(expected.nowSeconds - iat) > expected.clockSkewSeconds + DPOP_IAT_WINDOW_SECONDS) {
    return refused("iat_out_of_window");
  }
  if (expected.accessToken !== undefined && ath !== (await accessTokenHash(expected.accessToken))) return refused("wrong_ath");
  return { ok: true, proof: { jkt: await calculateJwkThumbprint(jwk, "sha256"), jti, iat } };
}

/** `ath`: base64url of the SHA-256 of the access token (RFC 9449 section 4.2). */
export async function accessTokenHash(accessToken: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken))));
}

// RFC 9449 section 4.3: the URI without query and fragment, compared after the usual
// normalisation (scheme and host case, default port), which the URL parser does.
function sameTarget(htu: string, requestUrl: string): boolean {
  if (!URL.canParse(htu)) return false;
  const proof = new URL(htu);
  const request = new URL(requestUrl);
  return proof.origin === request.origin && proof.pathname === request.pathname;
}

/** A DPoP key (RFC 9449): the private key signs proofs in place and can never be exported. */
export interface DpopKey {
  privateKey: CryptoKey;
  /** The public key as the proof's `jwk` header carries it: members of RFC 7518 section 6.2.1 only. */
  jwk: { kty: string; crv: string; x: string; y: string };
}

/** What a proof is for: one request, and the access token it carries (API calls only). */
export interface ProofTarget {
  method: string;
  url: string;
  accessToken: string | null;
}

/** An ES256 (P-256) key pair whose private key is not extractable: script can use it, not copy it. */
export async function generateDpopKey(): Promise<DpopKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])) as CryptoKeyPair;
  // A public key is always extractable, whatever `extractable` says for the pair.
  const { kty, crv, x, y } = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  return { privateKey: pair.privateKey, jwk: { kty: kty!, crv: crv!, x: x!, y: y! } };
}

/**
 * A DPoP proof for one request (RFC 9449 section 4.2): `typ: dpop+jwt`, `alg: ES256`, the public
 * `jwk`; `htm`, `htu` (the URL without query and fragment), `iat` (`nowMs`, this machine's
 * clock), a random `jti`, and with an access token its hash as `ath`.
 */
export async function createDpopProof(key: DpopKey, target: ProofTarget, nowMs: number): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: target.method,
    htu: target.url.replace(/[?#].*$/, ""),
    iat: Math.floor(nowMs / 1000),
    jti: crypto.randomUUID(),
  };
  if (target.accessToken !== null) {
    claims.ath = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(target.accessToken))));
  }
  const input = `${base64url(utf8(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk: key.jwk })))}.${base64url(utf8(JSON.stringify(claims)))}`;
  // WebCrypto's ECDSA signature is r || s, 32 bytes each: already the JWS form (RFC 7518 section 3.4).
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, utf8(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/** Base64url without padding (RFC 7515 section 2). */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const utf8 = (text: string) => new TextEncoder().encode(text);

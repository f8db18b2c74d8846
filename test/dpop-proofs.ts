import { SignJWT, base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import { BASE } from "./helpers";

/** A client's DPoP key pair (RFC 9449), with the proofs it signs for requests to the test gateway. */
export interface DpopClient {
  jwk: JWK;
  jkt: string;
  privateKey: CryptoKey;
  /** A proof for `method` and `path` (on the test gateway's origin), for `accessToken` when given. */
  proof(method: string, path: string, options?: ProofOptions): Promise<string>;
}

export interface ProofOptions {
  accessToken?: string;
  /** Overrides of the proof's claims (iat, jti, htm, htu, ath). */
  claims?: Record<string, unknown>;
  /** Overrides of its protected header. */
  header?: Record<string, unknown>;
}

export async function dpopClient(alg: "ES256" | "EdDSA" = "ES256"): Promise<DpopClient> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    jwk,
    jkt: await calculateJwkThumbprint(jwk, "sha256"),
    privateKey,
    async proof(method, path, options = {}) {
      const ath = options.accessToken
        ? base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(options.accessToken))))
        : undefined;
      return new SignJWT({
        htm: method,
        htu: new URL(path, BASE).href.replace(/[?#].*$/, ""),
        jti: crypto.randomUUID(),
        iat: Math.floor(Date.now() / 1000),
        ...(ath ? { ath } : {}),
        ...options.claims,
      })
        .setProtectedHeader({ alg, typ: "dpop+jwt", jwk, ...options.header })
        .sign(privateKey);
    },
  };
}

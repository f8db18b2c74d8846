import { base64url } from "jose";
import * as z from "zod/mini";
import { deriveKey, type KeyRing } from "../tokens/key-ring";

/**
 * A sign-in in progress, between `/auth/authorize` and `/auth/oidc/callback`: everything the
 * callback needs, kept in the browser that started it, in the cookie `__Host-oidc_transaction`,
 * encrypted and authenticated (AES-256-GCM). Nobody but the gateway can read its PKCE verifier
 * and nonce or make one it would accept, and only that browser sends it back, so a callback URL
 * carried to another browser (login CSRF, a leaked code) finds no transaction there.
 *
 * The key is derived with HKDF from the signing key (`deriveKey` in src/tokens/key-ring.ts): no
 * secret of its own to manage, and it rotates with `SIGNING_KEYS`. The sealed value names the
 * `kid` it was sealed under, so a transaction started just before a rotation still opens while the
 * old key is in the ring with its private half. Nothing is stored on the gateway: what one client
 * can make it keep for a sign-in in progress is nothing at all.
 */

export const TRANSACTION_COOKIE = "__Host-oidc_transaction";
/** The contract's ten minutes: long enough to sign in at a provider, short enough to be useless later. */
export const TRANSACTION_TTL_SECONDS = 600;

const INFO = "edge-auth-gateway oidc transaction v1";
const PREFIX = "t1";

/** Where the callback's answer goes: a code for one of the team's apps, or a link to a signed-in user. */
export type TransactionPurpose =
  | { kind: "sign_in"; client_id: string; redirect_uri: string; code_challenge: string; state: string | null }
  | { kind: "link"; sub: string };

export interface Transaction {
  provider: string;
  /** What went to the provider: `state`, `nonce` and the PKCE verifier of its code. */
  state: string;
  nonce: string;
  verifier: string;
  /** Unix ms after which the callback refuses it. */
  expiresAt: number;
  purpose: TransactionPurpose;
}

const TransactionShape = z.object({
  provider: z.string(),
  state: z.string(),
  nonce: z.string(),
  verifier: z.string(),
  expiresAt: z.number(),
  purpose: z.union([
    z.object({ kind: z.literal("sign_in"), client_id: z.string(), redirect_uri: z.string(), code_challenge: z.string(), state: z.nullable(z.string()) }),
    z.object({ kind: z.literal("link"), sub: z.string() }),
  ]),
});

/** The cookie value of `transaction`, sealed under the signing key. */
export async function sealTransaction(ring: KeyRing, transaction: Transaction): Promise<string> {
  const kid = ring.signer.kid;
  const key = await keyFor(ring, kid);
  if (!key) throw new Error("the signing key has no private half to derive from");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plaintext = new TextEncoder().encode(JSON.stringify(transaction));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(kid) }, key, plaintext));
  return `${PREFIX}.${base64url.encode(kid)}.${base64url.encode(concat(iv, sealed))}`;
}

/**
 * The transaction a cookie value holds, or null when it is not one the gateway sealed (forged,
 * altered, truncated, of a key no longer in the ring) or it expired by `now` (Unix ms).
 */
export async function openTransaction(ring: KeyRing, value: string | undefined, now: number): Promise<Transaction | null> {
  const parts = value?.split(".");
  if (!parts || parts.length !== 3 || parts[0] !== PREFIX) return null;
  try {
    const kid = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(base64url.decode(parts[1]!));
    const key = await keyFor(ring, kid);
    const bytes = base64url.decode(parts[2]!);
    if (!key || bytes.byteLength < 12 + 16) return null;
    const plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: aad(kid) }, key, bytes.slice(12));
    const parsed = z.safeParse(TransactionShape, JSON.parse(new TextDecoder().decode(plaintext)));
    if (!parsed.success || parsed.data.expiresAt <= now) return null;
    return parsed.data;
  } catch {
    // Not base64url, not JSON, or the tag did not verify: not ours.
    return null;
  }
}

const keys = new WeakMap<CryptoKey, Promise<CryptoKey | undefined>>();

/** The derived key of `kid`, once per isolate and key. */
function keyFor(ring: KeyRing, kid: string): Promise<CryptoKey | undefined> {
  const secret = ring.secrets.get(kid);
  if (!secret) return Promise.resolve(undefined);
  let key = keys.get(secret);
  if (!key) {
    key = deriveKey(ring, kid, INFO);
    keys.set(secret, key);
  }
  return key;
}

// The kid is authenticated with the value, so a sealed value cannot be moved under another key's name.
function aad(kid: string): Uint8Array {
  return new TextEncoder().encode(`${INFO}\n${kid}`);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

import { base64url } from "jose";
import { deriveKey, type KeyRing } from "./key-ring";

/**
 * A value the gateway hands a client and reads back later, sealed (AES-256-GCM) under a key
 * derived from the signing key for one purpose (`deriveKey`, HKDF with `info`): nobody else can
 * read it or make one the gateway would open, and a value sealed for one purpose never opens as
 * another's. No secret of its own to manage, and it rotates with `SIGNING_KEYS`: the value names
 * the `kid` it was sealed under, so one sealed just before a rotation still opens while the old
 * key is in the ring with its private half. Nothing is stored: the client holds it.
 *
 * Users: the OpenID sign-in in progress (src/federation/transaction.ts) and the passkey
 * ceremonies (src/passkeys/ceremony.ts).
 *
 * @example
 * const sealed = await sealValue(ring, { info: "edge-auth-gateway x v1", prefix: "x1" }, { a: 1 });
 * await openValue(ring, { info: "edge-auth-gateway x v1", prefix: "x1" }, sealed); // { a: 1 }
 */
export interface SealPurpose {
  /** HKDF `info` of the key: one per purpose and version. */
  info: string;
  /** The value's first part, so a value of one purpose is told from another's at a glance. */
  prefix: string;
}

/** `payload` as JSON, sealed under the ring's signing key: `<prefix>.<kid>.<iv and ciphertext>`, all base64url. */
export async function sealValue(ring: KeyRing, purpose: SealPurpose, payload: unknown): Promise<string> {
  const kid = ring.signer.kid;
  const key = await keyFor(ring, kid, purpose.info);
  if (!key) throw new Error("the signing key has no private half to derive from");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plaintext = new TextEncoder().encode(JSON.stringify(payload));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(purpose, kid) }, key, plaintext));
  return `${purpose.prefix}.${base64url.encode(kid)}.${base64url.encode(concat(iv, sealed))}`;
}

/**
 * The JSON a sealed value holds, or undefined when it is not one the gateway sealed for this
 * purpose (forged, altered, truncated, of a key no longer in the ring). The caller checks its shape.
 */
export async function openValue(ring: KeyRing, purpose: SealPurpose, value: string | undefined): Promise<unknown> {
  const parts = value?.split(".");
  if (!parts || parts.length !== 3 || parts[0] !== purpose.prefix) return undefined;
  try {
    const kid = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(base64url.decode(parts[1]!));
    const key = await keyFor(ring, kid, purpose.info);
    const bytes = base64url.decode(parts[2]!);
    if (!key || bytes.byteLength < 12 + 16) return undefined;
    const plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: aad(purpose, kid) }, key, bytes.slice(12));
    return JSON.parse(new TextDecoder().decode(plaintext));
  } catch {
    // Not base64url, not JSON, or the tag did not verify: not ours.
    return undefined;
  }
}

const keys = new WeakMap<CryptoKey, Map<string, Promise<CryptoKey | undefined>>>();

/** The derived key of `kid` for `info`, once per isolate, key and purpose. */
function keyFor(ring: KeyRing, kid: string, info: string): Promise<CryptoKey | undefined> {
  const secret = ring.secrets.get(kid);
  if (!secret) return Promise.resolve(undefined);
  let byInfo = keys.get(secret);
  if (!byInfo) keys.set(secret, (byInfo = new Map()));
  let key = byInfo.get(info);
  if (!key) {
    key = deriveKey(ring, kid, info);
    byInfo.set(info, key);
  }
  return key;
}

// The kid is authenticated with the value, so a sealed value cannot be moved under another key's name.
function aad(purpose: SealPurpose, kid: string): Uint8Array {
  return new TextEncoder().encode(`${purpose.info}\n${kid}`);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

import * as z from "zod/mini";
import type { KeyRing } from "../tokens/key-ring";
import { openValue, sealValue } from "../tokens/sealed-value";

/**
 * A sign-in in progress, between `/auth/authorize` and `/auth/oidc/callback`: everything the
 * callback needs, kept in the browser that started it, in the cookie `__Host-oidc_transaction`,
 * encrypted and authenticated (AES-256-GCM). Nobody but the gateway can read its PKCE verifier
 * and nonce or make one it would accept, and only that browser sends it back, so a callback URL
 * carried to another browser (login CSRF, a leaked code) finds no transaction there.
 *
 * Sealed under a key derived from the signing key (src/tokens/sealed-value.ts), so it rotates
 * with `SIGNING_KEYS`. Nothing is stored on the gateway: what one client can make it keep for a
 * sign-in in progress is nothing at all.
 */

export const TRANSACTION_COOKIE = "__Host-oidc_transaction";
/** The contract's ten minutes: long enough to sign in at a provider, short enough to be useless later. */
export const TRANSACTION_TTL_SECONDS = 600;

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

const PURPOSE = { info: "edge-auth-gateway oidc transaction v1", prefix: "t1" };

/** The cookie value of `transaction`, sealed under the signing key. */
export function sealTransaction(ring: KeyRing, transaction: Transaction): Promise<string> {
  return sealValue(ring, PURPOSE, transaction);
}

/**
 * The transaction a cookie value holds, or null when it is not one the gateway sealed (forged,
 * altered, truncated, of a key no longer in the ring) or it expired by `now` (Unix ms).
 */
export async function openTransaction(ring: KeyRing, value: string | undefined, now: number): Promise<Transaction | null> {
  const parsed = z.safeParse(TransactionShape, await openValue(ring, PURPOSE, value));
  return parsed.success && parsed.data.expiresAt > now ? parsed.data : null;
}

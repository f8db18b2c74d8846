import { base64url } from "jose";
import * as z from "zod/mini";
import type { KeyRing } from "../tokens/key-ring";
import { openValue, sealValue } from "../tokens/sealed-value";

/**
 * A WebAuthn ceremony in progress: the challenge the gateway handed out with its options, what
 * kind of ceremony it is for, whose (registration only) and until when. The client holds it,
 * sealed (src/tokens/sealed-value.ts), and sends it back with the authenticator's response, so
 * handing out options stores nothing: a stranger asking for login options a million times makes
 * the gateway keep nothing. Single use is the user's object's business: it keeps the ids of
 * ceremonies spent there until they expire (src/passkeys/passkey-store.ts).
 */

/** The contract's five minutes. */
export const CEREMONY_TTL_MS = 5 * 60_000;

export type CeremonyKind = "registration" | "authentication";

export interface Ceremony {
  kind: CeremonyKind;
  /** Random, unique: what the user's object remembers once the ceremony is spent. */
  id: string;
  /** The WebAuthn challenge (base64url of 32 random bytes). */
  challenge: string;
  /** The user a registration is for; null for an authentication, whose user is not known before the assertion. */
  sub: string | null;
  /** Unix ms after which it is refused. */
  expiresAt: number;
}

const CeremonyShape = z.object({
  kind: z.enum(["registration", "authentication"]),
  id: z.string(),
  challenge: z.string(),
  sub: z.nullable(z.string()),
  expiresAt: z.number(),
});

const PURPOSE = { info: "edge-auth-gateway passkey ceremony v1", prefix: "pk1" };

/** A fresh ceremony of `kind`, living five minutes from `now` (Unix ms). */
export function newCeremony(kind: CeremonyKind, sub: string | null, now: number): Ceremony {
  return { kind, id: crypto.randomUUID(), challenge: base64url.encode(crypto.getRandomValues(new Uint8Array(32))), sub, expiresAt: now + CEREMONY_TTL_MS };
}

/** The value handed to the client as `ceremony`. */
export function sealCeremony(ring: KeyRing, ceremony: Ceremony): Promise<string> {
  return sealValue(ring, PURPOSE, ceremony);
}

/** Why a presented ceremony is refused (logs only). */
export type CeremonyRefusal = "not_a_ceremony" | "wrong_kind" | "expired" | "another_user";

/**
 * The ceremony a client sent back, if it is one the gateway sealed, of `kind`, not expired by
 * `now`, and (for a registration) the caller's own; else why not.
 */
export async function openCeremony(
  ring: KeyRing,
  value: string,
  expected: { kind: CeremonyKind; sub?: string },
  now: number,
): Promise<{ ok: true; ceremony: Ceremony } | { ok: false; reason: CeremonyRefusal }> {
  const parsed = z.safeParse(CeremonyShape, await openValue(ring, PURPOSE, value));
  if (!parsed.success) return { ok: false, reason: "not_a_ceremony" };
  const ceremony = parsed.data;
  if (ceremony.kind !== expected.kind) return { ok: false, reason: "wrong_kind" };
  if (ceremony.expiresAt <= now) return { ok: false, reason: "expired" };
  if (expected.sub !== undefined && ceremony.sub !== expected.sub) return { ok: false, reason: "another_user" };
  return { ok: true, ceremony };
}

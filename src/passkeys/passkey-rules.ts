/**
 * The rules of a user's passkeys, pure: how many a user may hold, how many spent ceremonies the
 * user's object may be asked to remember, and the sign counter rule. The user's object applies
 * them (src/sessions/passkeys-rpc.ts).
 */

/** The contract's limit: a 21st passkey is refused (409 `passkey_limit`). */
export const MAX_PASSKEYS_PER_USER = 20;

/**
 * Spent ceremonies (registrations and logins of the last five minutes) one user's object keeps
 * to refuse a second use. A spent one is never forgotten before it expires, or it could be used
 * again: past this many, further ceremonies are refused until the oldest expire. Only the user
 * (with their own authenticator) can spend ceremonies here, and 100 in five minutes is far past
 * any person's pace.
 */
export const MAX_SPENT_CEREMONIES = 100;

/** A passkey name's longest, in characters (the contract's 64). */
export const MAX_PASSKEY_NAME_LENGTH = 64;

/**
 * The sign counter rule (WebAuthn section 6.1.1, as the contract words it): an authenticator that
 * counts reports a higher number each time; a non-zero count that is not greater than the stored
 * one means two authenticators share the key (a clone), and the login is refused. A count of 0 is
 * an authenticator that does not count (synced passkeys), and passes.
 *
 * @example
 * signCounterVerdict(5, 6); // { ok: true, stored: 6 }
 * signCounterVerdict(5, 5); // { ok: false }
 * signCounterVerdict(5, 0); // { ok: true, stored: 5 }
 */
export function signCounterVerdict(stored: number, presented: number): { ok: true; stored: number } | { ok: false } {
  if (presented !== 0 && presented <= stored) return { ok: false };
  return { ok: true, stored: Math.max(stored, presented) };
}

/** Why the user's object refuses to add a passkey (logs only, but `limit`: 409 `passkey_limit`). */
export type AddRefusal = "ceremony_spent" | "too_many_ceremonies" | "already_registered" | "limit";

/**
 * Whether a verified registration may be stored: its ceremony not spent before, room to remember
 * it, the credential not already someone's here, and fewer than 20 passkeys.
 */
export function decideAdd(state: { ceremonySpent: boolean; spentCeremonies: number; exists: boolean; passkeys: number }): AddRefusal | null {
  if (state.ceremonySpent) return "ceremony_spent";
  if (state.spentCeremonies >= MAX_SPENT_CEREMONIES) return "too_many_ceremonies";
  if (state.exists) return "already_registered";
  if (state.passkeys >= MAX_PASSKEYS_PER_USER) return "limit";
  return null;
}

/** Why a passkey login is refused (logs only: the client is told `invalid_credentials` for every one). */
export type LoginRefusal =
  | "unknown_credential"
  | "not_verified"
  | "ceremony_spent"
  | "too_many_ceremonies"
  | "counter_regressed";

/** Whether a verified assertion opens a session: the ceremony unspent, room to remember it, and the counter rule. */
export function decideLogin(state: { ceremonySpent: boolean; spentCeremonies: number; storedCounter: number; presentedCounter: number }):
  | { ok: true; counter: number }
  | { ok: false; reason: Exclude<LoginRefusal, "unknown_credential" | "not_verified"> } {
  if (state.ceremonySpent) return { ok: false, reason: "ceremony_spent" };
  if (state.spentCeremonies >= MAX_SPENT_CEREMONIES) return { ok: false, reason: "too_many_ceremonies" };
  const counter = signCounterVerdict(state.storedCounter, state.presentedCounter);
  if (!counter.ok) return { ok: false, reason: "counter_regressed" };
  return { ok: true, counter: counter.stored };
}

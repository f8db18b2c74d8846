/**
 * The second factor's decisions, pure (`now` in Unix ms): how long an `mfa_token` lives and how
 * many wrong codes it survives, how many wrong codes the Bearer routes take before they refuse
 * to check more, and which DPoP key the session opened at `POST /auth/mfa/verify` is bound to.
 * The user's object (src/sessions/mfa-rpc.ts) applies them.
 */

/** The contract's five minutes for an `mfa_token`. */
export const MFA_TOKEN_TTL_MS = 5 * 60_000;
/** Wrong codes an `mfa_token` survives: the fifth kills it. */
export const WRONG_CODES_PER_MFA_TOKEN = 5;
/** `mfa_token`s one user's object keeps at once (each needs the right password); the oldest go first. */
export const MAX_PENDING_MFA_LOGINS = 10;
/**
 * Wrong codes the Bearer routes (confirm, disable, regenerate) and a password reset take per
 * window before they answer 429: whoever holds a stolen access token cannot try codes until one
 * disables the second factor.
 */
export const CODE_FAILURES_PER_WINDOW = 5;
export const CODE_FAILURE_WINDOW_MS = 15 * 60_000;

/** Wrong codes counted since `since` (Unix ms), the start of the current window. */
export interface CodeFailureTally {
  count: number;
  since: number | null;
}

/** Whether a code may be checked now, or how many seconds until one may. */
export function codeCheckAllowed(tally: CodeFailureTally, now: number): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
  if (tally.since === null || tally.since + CODE_FAILURE_WINDOW_MS <= now || tally.count < CODE_FAILURES_PER_WINDOW) return { allowed: true };
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((tally.since + CODE_FAILURE_WINDOW_MS - now) / 1000)) };
}

/** The tally after one more wrong code: a window that ran out starts again. */
export function withWrongCode(tally: CodeFailureTally, now: number): CodeFailureTally {
  if (tally.since === null || tally.since + CODE_FAILURE_WINDOW_MS <= now) return { count: 1, since: now };
  return { count: tally.count + 1, since: tally.since };
}

/** A DPoP proof's key thumbprint, `jti` and `iat`, as the worker checked it (`PresentedProof`). */
export interface ProofOfKey {
  jkt: string;
  jti: string;
  iat: number;
}

/**
 * The proof that binds the session opened at verify: the `mfa_token` carries the binding of the
 * login (RFC 9449: the key that proved possession there), so verify binds to that key, with its own
 * proof when it brought one of that key and with the login's otherwise. A login without a proof
 * leaves verify, the request that opens the session, to bind it with its own proof if any. A
 * proof of another key than the login's is refused: whoever sends it does not hold the login's key.
 */
export function verifyBinding(atLogin: ProofOfKey | null, atVerify: ProofOfKey | null): { ok: true; proof: ProofOfKey | null } | { ok: false } {
  if (atLogin === null) return { ok: true, proof: atVerify };
  if (atVerify === null) return { ok: true, proof: atLogin };
  return atVerify.jkt === atLogin.jkt ? { ok: true, proof: atVerify } : { ok: false };
}

/**
 * The rules of the account lifecycle's one-time secrets, pure: how long a verification code and a
 * reset token live, how many a user's object keeps and sends, and what a presented code gets.
 * The store (account-store.ts) holds them; the RPC (account-rpc.ts) applies these.
 */

/** A verification code lives ten minutes and takes five tries. */
export const EMAIL_CODE_TTL_MS = 10 * 60_000;
export const EMAIL_CODE_TRIES = 5;
/** Codes sent per account per hour; the next answers 429. */
export const EMAIL_CODES_PER_HOUR = 5;
/** A reset token lives thirty minutes. */
export const RESET_TOKEN_TTL_MS = 30 * 60_000;
/**
 * Reset messages sent per account per hour. Past it, forgot-password still answers 202 (a 429
 * would tell who has an account) but sends nothing: nobody can flood a user's inbox.
 */
export const RESET_TOKENS_PER_HOUR = 5;
/** Live reset tokens one object keeps; the oldest go first. */
export const MAX_RESET_TOKENS = 3;
export const HOUR_MS = 3_600_000;

/** What a presented verification code gets; the reason is for logs, the client sees one `invalid_code`. */
export type CodeVerdict = { ok: true; email: string } | { ok: false; reason: "no_code" | "expired" | "no_tries_left" | "wrong_code" };

/** The stored code, as the check sees it. */
export interface StoredEmailCode {
  hash: string;
  email: string;
  expiresAt: number;
  triesLeft: number;
}

/** Decides a presented code (`matches`: its hash equals the stored one, compared in constant time). Pure. */
export function decideEmailCode(code: StoredEmailCode | null, matches: boolean, now: number): CodeVerdict {
  if (code === null) return { ok: false, reason: "no_code" };
  if (code.expiresAt <= now) return { ok: false, reason: "expired" };
  if (code.triesLeft <= 0) return { ok: false, reason: "no_tries_left" };
  if (!matches) return { ok: false, reason: "wrong_code" };
  return { ok: true, email: code.email };
}

/**
 * Whether one more message of a kind may go, given the send times of the last hour: null when it
 * may, else the seconds until the oldest leaves the window. Pure.
 */
export function hourlyLimitWait(sentAt: readonly number[], limit: number, now: number): number | null {
  const recent = sentAt.filter((at) => at > now - HOUR_MS).sort((a, b) => a - b);
  if (recent.length < limit) return null;
  return Math.max(1, Math.ceil((recent[recent.length - limit]! + HOUR_MS - now) / 1000));
}

/** A uniformly random 6-digit code (rejection sampling, so no digit string is likelier than another). */
export function newEmailCode(): string {
  const limit = 4_294_000_000; // the largest multiple of 10^6 below 2^32
  for (;;) {
    const [value] = crypto.getRandomValues(new Uint32Array(1));
    if (value! < limit) return String(value! % 1_000_000).padStart(6, "0");
  }
}

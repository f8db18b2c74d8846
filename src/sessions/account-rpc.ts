import { RpcTarget } from "cloudflare:workers";
import type { Outbox } from "../durable/outbox";
import { userMessage } from "../events/messages";
import { newOneTimeSecret, sha256Hex } from "../tokens/one-time-secrets";
import {
  decideEmailCode,
  EMAIL_CODE_TRIES,
  EMAIL_CODE_TTL_MS,
  EMAIL_CODES_PER_HOUR,
  hourlyLimitWait,
  newEmailCode,
  RESET_TOKEN_TTL_MS,
  RESET_TOKENS_PER_HOUR,
  type CodeVerdict,
} from "./account-rules";
import type { AccountStore } from "./account-store";
import type { ClientInfo } from "./rpc";
import type { SessionStore } from "./session-store";
import type { UserSessions } from "./user-sessions";

/** What the user's object lends its account methods. */
export interface AccountParts {
  storage: DurableObjectStorage;
  objectId: string;
  account: AccountStore;
  store: SessionStore;
  sessions: UserSessions;
  outbox: Outbox;
  /** Hands back a result once storage committed, and sends the outbox after it. */
  afterCommit: <T>(result: T) => T;
  /** Deletes the object's whole storage and leaves it as a new object would be. */
  eraseStorage: () => Promise<void>;
}

/**
 * The account lifecycle methods of a user's `UserAuth` object (`UserAuth.account()`): e-mail
 * verification codes, password reset tokens, the session revocations a password change or reset
 * owes, and the deletion of everything the object holds. Each secret's message to the user goes
 * into the outbox in the same transaction that stores the secret's hash, so a code is sent
 * exactly when it can be used. The password itself lives in D1 (the worker's routes).
 */
export class AccountRpc extends RpcTarget {
  readonly #parts: AccountParts;

  constructor(parts: AccountParts) {
    super();
    this.#parts = parts;
  }

  /**
   * A new 6-digit code for `email` (10 minutes, 5 tries; the previous code dies), sent as
   * `message.email_verification`; or, past `EMAIL_CODES_PER_HOUR`, how long to wait.
   */
  async issueEmailCode(input: { sub: string; email: string }): Promise<{ ok: true } | { ok: false; retryAfterSeconds: number }> {
    const code = newEmailCode();
    const hash = await this.#codeHash(code);
    const { storage, account, outbox, afterCommit } = this.#parts;
    const outcome = storage.transactionSync(() => {
      const now = Date.now();
      const wait = hourlyLimitWait(account.sendsWithinHour("email_verification", now), EMAIL_CODES_PER_HOUR, now);
      if (wait !== null) return { ok: false as const, retryAfterSeconds: wait };
      const expiresAt = now + EMAIL_CODE_TTL_MS;
      account.saveEmailCode({ hash, email: input.email, expiresAt, triesLeft: EMAIL_CODE_TRIES });
      account.noteSend("email_verification", now);
      const data = { to: input.email, user_id: input.sub, code, expires_at: new Date(expiresAt).toISOString() };
      outbox.enqueue({ kind: "message", message: userMessage("message.email_verification", data, now) });
      return { ok: true as const };
    });
    return afterCommit(outcome);
  }

  /**
   * Checks a presented code: right, the code is spent and its address returned; wrong, one try
   * is spent. One transaction, so five guesses racing each other spend five tries.
   */
  async checkEmailCode(presented: string): Promise<CodeVerdict> {
    const hash = await this.#codeHash(presented);
    const { storage, account } = this.#parts;
    return storage.transactionSync(() => {
      const stored = account.emailCode();
      const verdict = decideEmailCode(stored, stored !== null && sameHex(stored.hash, hash), Date.now());
      if (verdict.ok) account.deleteEmailCode();
      else if (verdict.reason === "wrong_code") account.spendTry();
      return verdict;
    });
  }

  /**
   * A reset token (30 minutes, single use) sent to `email` as `message.password_reset`, unless
   * `RESET_TOKENS_PER_HOUR` went out in the last hour (then nothing: the caller answers 202
   * either way). Resolves whether one was sent, for the log.
   */
  async issueResetToken(input: { sub: string; email: string }): Promise<boolean> {
    const { value, hash } = await newOneTimeSecret("rt1", this.#parts.objectId);
    const { storage, account, outbox, afterCommit } = this.#parts;
    const sent = storage.transactionSync(() => {
      const now = Date.now();
      if (hourlyLimitWait(account.sendsWithinHour("password_reset", now), RESET_TOKENS_PER_HOUR, now) !== null) return false;
      const expiresAt = now + RESET_TOKEN_TTL_MS;
      account.insertResetToken({ hash, sub: input.sub, expiresAt }, now);
      account.noteSend("password_reset", now);
      const data = { to: input.email, user_id: input.sub, token: value, expires_at: new Date(expiresAt).toISOString() };
      outbox.enqueue({ kind: "message", message: userMessage("message.password_reset", data, now) });
      return true;
    });
    return afterCommit(sent);
  }

  /** The user a live reset token resets, without spending it (the second factor is asked first); null when unknown, used or expired. */
  resetTokenUser(hash: string): string | null {
    return this.#parts.account.resetTokenUser(hash, Date.now());
  }

  /** Spends a reset token: every reset token of the user dies with it. The user it resets, or null when it was not live. */
  takeResetToken(hash: string): string | null {
    const { storage, account } = this.#parts;
    return storage.transactionSync(() => {
      const sub = account.resetTokenUser(hash, Date.now());
      if (sub !== null) account.deleteResetTokens();
      return sub;
    });
  }

  /**
   * The password was reset (`password_reset`) or changed (`password_changed`, from the session
   * `keepSessionId`, which stays): every other session is revoked, reset tokens die, the event is
   * recorded. Returns the revoked sessions' ids.
   */
  async passwordReplaced(input: { sub: string; event: "password_changed" | "password_reset"; keepSessionId: string | null; client: ClientInfo }): Promise<string[]> {
    const { storage, account, store, sessions, afterCommit } = this.#parts;
    const ids = storage.transactionSync(() => {
      const now = Date.now();
      const revoked = store.active().filter((session) => session.id !== input.keepSessionId);
      sessions.revoke(revoked, input.event, now);
      account.deleteResetTokens();
      const ids = revoked.map((session) => session.id);
      sessions.auditUser(input.event, input.sub, input.keepSessionId, now, input.client.ip, { revoked_session_ids: ids });
      return ids;
    });
    return afterCommit(ids);
  }

  /**
   * Deletes everything this object holds of the user (sessions, keys, codes, tokens, the outbox,
   * and the passkeys and TOTP state other stores keep here) with `deleteAll`. Outbox entries not
   * yet sent go with it rather than to D1: they are records of the user (addresses, agents) that
   * the deletion would only have to anonymise.
   */
  async deleteEverything(): Promise<void> {
    await this.#parts.eraseStorage();
  }

  /** How many rows each account table holds (for the storage-bound tests). */
  counts(): { emailCodes: number; resetTokens: number; messageSends: number } {
    return this.#parts.account.counts();
  }

  // Salted with the object's id, so a code's hash is of no use in another user's object.
  #codeHash(code: string): Promise<string> {
    return sha256Hex(`${this.#parts.objectId}:${code}`);
  }
}

// Constant time over the two hex hashes (always 64 characters).
function sameHex(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  return left.byteLength === right.byteLength && crypto.subtle.timingSafeEqual(left, right);
}

import { RpcTarget } from "cloudflare:workers";
import { codeCheckAllowed, MFA_TOKEN_TTL_MS, verifyBinding, withWrongCode, WRONG_CODES_PER_MFA_TOKEN } from "../mfa/mfa-rules";
import type { MfaStore, TotpState } from "../mfa/mfa-store";
import { newRecoveryCodes, normalizeRecoveryCode, recoveryCodeHash } from "../mfa/recovery-codes";
import { acceptedTotpStep, newTotpSecret } from "../mfa/totp";
import { newOneTimeSecret } from "../tokens/one-time-secrets";
import type { ClientInfo, IssuedSession, PresentedProof, SessionOpening } from "./rpc";
import type { SessionKeys } from "./session-keys";
import type { Session } from "./session-store";
import { sessionOpening } from "./sign-in";
import type { UserSessions } from "./user-sessions";

/** What the user's object lends its second-factor methods: its storage, sessions and keys. */
export interface MfaParts {
  storage: DurableObjectStorage;
  objectId: string;
  mfa: MfaStore;
  sessions: UserSessions;
  keys: SessionKeys;
  /** Hands back a result once storage committed, and drains the outbox after it. */
  afterCommit: <T>(result: T) => T;
}

/** Who changes the second factor from a signed-in session: for the events it records. */
export interface MfaCaller {
  sub: string;
  sessionId: string;
  ip: string | null;
}

/** Why a code was not taken (the route maps each to its answer). */
export type CodeRefusal = { ok: false; reason: "invalid_code" } | { ok: false; reason: "too_many_codes"; retryAfterSeconds: number };

/** What a password login of this user comes to: a session, or a token that waits for the second factor. */
export type PasswordSignIn = { kind: "session"; session: IssuedSession } | { kind: "mfa_required"; mfaToken: string };

/** What `POST /auth/mfa/verify` comes to. `sub` and `username` name whose login limits a wrong code counts against. */
export type MfaVerification =
  | { ok: true; session: IssuedSession }
  | { ok: false; reason: "invalid_mfa_token" | "dpop_key_mismatch" }
  | { ok: false; reason: "invalid_code"; sub: string; username: string };

/** Who presented a code, for the `recovery_code_used` event. */
type Presenter = { sessionId: string | null; ip: string | null };

type Judged = { kind: "totp"; step: number } | { kind: "recovery_code" } | { kind: "wrong" };

/**
 * The second factor of a user's `UserAuth` object (`UserAuth.mfa()`), as an RPC target of its own:
 * TOTP enrolment, confirmation and removal, recovery codes, and the login that waits for a code.
 * Each method's decision and effects run in one synchronous transaction, so a code can never be
 * accepted twice (the step it belongs to is stored in the same commit that accepts it) and an
 * `mfa_token` opens at most one session. The session opens through `UserSessions.open`, like
 * every way in. The rules are in src/mfa/.
 */
export class MfaRpc extends RpcTarget {
  readonly #parts: MfaParts;

  constructor(parts: MfaParts) {
    super();
    this.#parts = parts;
  }

  /** Whether TOTP is on, and how many recovery codes are left: for `GET /auth/account`. */
  status(): { totp: boolean; recoveryCodesLeft: number } {
    const totp = this.#parts.mfa.totp();
    return { totp: totp?.enabledAt != null, recoveryCodesLeft: this.#parts.mfa.recoveryCodesLeft() };
  }

  /** A new pending TOTP secret (replacing a pending one), or a refusal when TOTP is already on. */
  enrol(input: { sub: string }): { ok: true; secret: Uint8Array } | { ok: false; reason: "mfa_already_enabled" } {
    const { storage, mfa } = this.#parts;
    return storage.transactionSync(() => {
      if (mfa.totp()?.enabledAt != null) return { ok: false as const, reason: "mfa_already_enabled" as const };
      const secret = newTotpSecret();
      mfa.savePendingSecret(input.sub, secret, Date.now());
      return { ok: true as const, secret };
    });
  }

  /** Confirms the pending secret with a code of it: TOTP on, and the first set of recovery codes (event `mfa_enabled`). */
  async confirm(input: { code: string; caller: MfaCaller }): Promise<{ ok: true; recoveryCodes: string[] } | CodeRefusal | { ok: false; reason: "nothing_pending" } | { ok: false; reason: "mfa_already_enabled" }> {
    const { storage, mfa, sessions, afterCommit } = this.#parts;
    const codes = newRecoveryCodes();
    const hashes = await this.#hashes(codes);
    return afterCommit(
      storage.transactionSync(() => {
        const now = Date.now();
        const totp = mfa.totp();
        if (totp === null) return { ok: false as const, reason: "nothing_pending" as const };
        if (totp.enabledAt !== null) return { ok: false as const, reason: "mfa_already_enabled" as const };
        const refused = this.#throttled(totp, now);
        if (refused) return refused;
        const step = acceptedTotpStep(totp.secret, input.code, now, totp.lastStep);
        if (step === null) return this.#wrongCode(totp, now);
        mfa.enable(step, now);
        mfa.replaceRecoveryCodes(hashes, now);
        sessions.auditUser("mfa_enabled", input.caller.sub, input.caller.sessionId, now, input.caller.ip, null);
        return { ok: true as const, recoveryCodes: codes };
      }),
    );
  }

  /** Turns TOTP off with a TOTP or recovery code: the secret and every recovery code go (event `mfa_disabled`). */
  async disable(input: { code: string; caller: MfaCaller }): Promise<{ ok: true } | CodeRefusal> {
    const { storage, mfa, sessions, afterCommit } = this.#parts;
    const recoveryHash = await this.#recoveryHashOf(input.code);
    return afterCommit(
      storage.transactionSync(() => {
        const now = Date.now();
        const judged = this.#judgeEnabled(input.code, recoveryHash, now, input.caller, { recoveryCodes: true });
        if (judged.ok === false) return judged;
        mfa.disable();
        sessions.auditUser("mfa_disabled", input.caller.sub, input.caller.sessionId, now, input.caller.ip, { method: judged.kind });
        return { ok: true as const };
      }),
    );
  }

  /** A new set of recovery codes, for a TOTP code: the old set is dead. */
  async regenerateRecoveryCodes(input: { code: string; caller: MfaCaller }): Promise<{ ok: true; recoveryCodes: string[] } | CodeRefusal> {
    const { storage, mfa, afterCommit } = this.#parts;
    const codes = newRecoveryCodes();
    const hashes = await this.#hashes(codes);
    return afterCommit(
      storage.transactionSync(() => {
        const now = Date.now();
        const judged = this.#judgeEnabled(input.code, null, now, input.caller, { recoveryCodes: false });
        if (judged.ok === false) return judged;
        mfa.replaceRecoveryCodes(hashes, now);
        return { ok: true as const, recoveryCodes: codes };
      }),
    );
  }

  /**
   * For a way back in that must also pass the second factor (a password reset): `not_enrolled`
   * when TOTP is off, `accepted` for a right TOTP code or an unused recovery code (spent, event
   * `recovery_code_used`), `refused` otherwise, a missing code included, and while too many wrong
   * codes were tried.
   */
  async checkSecondFactor(code: string | undefined): Promise<"not_enrolled" | "accepted" | "refused"> {
    const { storage, mfa, afterCommit } = this.#parts;
    const recoveryHash = code === undefined ? null : await this.#recoveryHashOf(code);
    return afterCommit(
      storage.transactionSync(() => {
        if (mfa.totp()?.enabledAt == null) return "not_enrolled" as const;
        if (code === undefined) return "refused" as const;
        const judged = this.#judgeEnabled(code, recoveryHash, Date.now(), { sessionId: null, ip: null }, { recoveryCodes: true });
        return judged.ok ? ("accepted" as const) : ("refused" as const);
      }),
    );
  }

  /**
   * A password login of this user (`opening` as `sessionOpening` describes it): with TOTP off the
   * session opens at once; with TOTP on, an `mfa_token` (five minutes, single use) carries the
   * login, its username and its DPoP proof to `verifyLogin`. One call either way, so a password
   * login costs the user's object one round trip whether or not it has a second factor.
   */
  async openPasswordSession(input: { opening: SessionOpening; username: string; client: ClientInfo; proof: PresentedProof | null }): Promise<PasswordSignIn> {
    const { storage, objectId, mfa, sessions, keys, afterCommit } = this.#parts;
    const token = await newOneTimeSecret("mt1", objectId);
    const applied = storage.transactionSync(() => {
      const now = Date.now();
      if (mfa.totp()?.enabledAt == null) return { kind: "session" as const, session: sessions.open(input.opening, input.client, input.proof, now) };
      mfa.insertLogin(token.hash, { sub: input.opening.sub, username: input.username, proof: input.proof, expiresAt: now + MFA_TOKEN_TTL_MS }, now);
      return { kind: "mfa_required" as const };
    });
    const outcome: PasswordSignIn = applied.kind === "session" ? { kind: "session", session: await keys.issue(applied.session) } : { kind: "mfa_required", mfaToken: token.value };
    return afterCommit(outcome);
  }

  /** The login an `mfa_token` waits with (its user and username, for the login limits), or null when it is not one that can still be spent. */
  pendingLogin(hash: string): { sub: string; username: string } | null {
    const login = this.#parts.mfa.login(hash);
    if (login === null || login.expiresAt <= Date.now()) return null;
    return { sub: login.sub, username: login.username };
  }

  /**
   * Spends an `mfa_token` with a TOTP or recovery code: the session opens (`amr` per the code's
   * kind, bound per `verifyBinding`) and the token is gone. A wrong code counts against the token,
   * which dies at the fifth; a proof of another key than the login's changes nothing.
   */
  async verifyLogin(input: { hash: string; code: string; client: ClientInfo; proof: PresentedProof | null }): Promise<MfaVerification> {
    const { storage, mfa, sessions, keys, afterCommit } = this.#parts;
    const recoveryHash = await this.#recoveryHashOf(input.code);
    const applied = storage.transactionSync((): { ok: true; session: Session } | Exclude<MfaVerification, { ok: true }> => {
      const now = Date.now();
      const login = mfa.login(input.hash);
      if (login === null || login.expiresAt <= now) {
        if (login !== null) mfa.deleteLogin(input.hash);
        return { ok: false, reason: "invalid_mfa_token" };
      }
      const binding = verifyBinding(login.proof, input.proof);
      if (!binding.ok) return { ok: false, reason: "dpop_key_mismatch" };
      const totp = mfa.totp();
      if (totp === null || totp.enabledAt === null) {
        // TOTP was turned off since the password was checked: the login must start again.
        mfa.deleteLogin(input.hash);
        return { ok: false, reason: "invalid_mfa_token" };
      }
      const judged = this.#judge(totp, input.code, recoveryHash, now, { sessionId: null, ip: input.client.ip }, { recoveryCodes: true });
      if (judged.kind === "wrong") {
        const wrongCodes = login.wrongCodes + 1;
        if (wrongCodes >= WRONG_CODES_PER_MFA_TOKEN) mfa.deleteLogin(input.hash);
        else mfa.saveWrongCodes(input.hash, wrongCodes);
        return { ok: false, reason: "invalid_code", sub: login.sub, username: login.username };
      }
      mfa.deleteLogin(input.hash);
      const opening = sessionOpening({ method: judged.kind, sub: login.sub }, now);
      return { ok: true, session: sessions.open(opening, input.client, binding.proof, now) };
    });
    const outcome: MfaVerification = applied.ok ? { ok: true, session: await keys.issue(applied.session) } : applied;
    return afterCommit(outcome);
  }

  /** How many rows the second factor keeps (for the storage-bound tests). */
  counts(): { secrets: number; recoveryCodes: number; pendingLogins: number } {
    return this.#parts.mfa.counts();
  }

  /**
   * Judges a code for a Bearer route or a reset, with TOTP on: refused without a look while too
   * many wrong codes were tried in the window, and a wrong one counted. Runs inside the caller's
   * transaction.
   */
  #judgeEnabled(code: string, recoveryHash: string | null, now: number, who: Presenter, allow: { recoveryCodes: boolean }): { ok: true; kind: "totp" | "recovery_code" } | CodeRefusal {
    const totp = this.#parts.mfa.totp();
    if (totp === null || totp.enabledAt === null) return { ok: false, reason: "invalid_code" };
    const refused = this.#throttled(totp, now);
    if (refused) return refused;
    const judged = this.#judge(totp, code, recoveryHash, now, who, allow);
    if (judged.kind === "wrong") return this.#wrongCode(totp, now);
    if (totp.failures.count > 0) this.#parts.mfa.saveFailures({ count: 0, since: null });
    return { ok: true, kind: judged.kind };
  }

  /**
   * Whether `code` is a TOTP code of a step not accepted yet (stored as the last accepted step) or,
   * when allowed, an unused recovery code (spent, event `recovery_code_used`). Inside a transaction.
   */
  #judge(totp: TotpState, code: string, recoveryHash: string | null, now: number, who: Presenter, allow: { recoveryCodes: boolean }): Judged {
    const { mfa, sessions } = this.#parts;
    const step = acceptedTotpStep(totp.secret, code, now, totp.lastStep);
    if (step !== null) {
      mfa.saveAcceptedStep(step);
      return { kind: "totp", step };
    }
    if (!allow.recoveryCodes || recoveryHash === null || !mfa.spendRecoveryCode(recoveryHash)) return { kind: "wrong" };
    sessions.auditUser("recovery_code_used", totp.sub, who.sessionId, now, who.ip, { remaining: mfa.recoveryCodesLeft() });
    return { kind: "recovery_code" };
  }

  #throttled(totp: TotpState, now: number): CodeRefusal | null {
    const check = codeCheckAllowed(totp.failures, now);
    return check.allowed ? null : { ok: false, reason: "too_many_codes", retryAfterSeconds: check.retryAfterSeconds };
  }

  #wrongCode(totp: TotpState, now: number): CodeRefusal {
    this.#parts.mfa.saveFailures(withWrongCode(totp.failures, now));
    return { ok: false, reason: "invalid_code" };
  }

  /** The stored hash a presented code would have as a recovery code; null when it cannot be one. */
  async #recoveryHashOf(code: string): Promise<string | null> {
    const normalized = normalizeRecoveryCode(code);
    return normalized === null ? null : recoveryCodeHash(this.#parts.objectId, normalized);
  }

  #hashes(codes: readonly string[]): Promise<string[]> {
    return Promise.all(codes.map((code) => recoveryCodeHash(this.#parts.objectId, normalizeRecoveryCode(code)!)));
  }
}

import type { AuditEvent } from "../db/events";
import { tooManyRequests } from "../errors/auth-error";
import { ipThrottleKey } from "./client-address";
import { addressThrottle } from "./login-guard";

/**
 * The login limit by address alone, for a way in that names no username before it succeeds (a
 * passkey: the user is known only from a verified assertion): the attempt counts against
 * `LOGIN_MAX_FAILURES_PER_IP` in the address's LoginThrottle object, beside its password failures,
 * and is forgotten only when it succeeds. Without `CF-Connecting-IP` no limit applies.
 */
export class AddressGuard {
  readonly #throttle: ReturnType<typeof addressThrottle> | null;
  #attempt: number | null = null;

  constructor(env: Env, ip: string | null) {
    this.#throttle = ip === null ? null : addressThrottle(env, ipThrottleKey(ip));
  }

  /** Counts this attempt, or throws 429 `too_many_requests` with `Retry-After` when the address is over its limit. */
  async begin(): Promise<void> {
    if (this.#throttle === null) return;
    const grant = await this.#throttle.reserveFromAddress();
    if (!grant.allowed) throw tooManyRequests("Too many failed logins.", grant.retryAfterSeconds);
    this.#attempt = grant.attemptId;
  }

  /** The attempt failed: it stays counted, and the address's object keeps its `login_failed` event. */
  async failed(event: AuditEvent): Promise<void> {
    this.#attempt = null;
    await this.#throttle?.recordFailure(event);
  }

  /** The attempt succeeded, or got no verdict (an internal error): it leaves the count. */
  async release(): Promise<void> {
    const attempt = this.#attempt;
    this.#attempt = null;
    if (attempt !== null) await this.#throttle!.release(attempt);
  }
}

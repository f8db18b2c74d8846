import type { AuditEvent } from "../db/events";
import { tooManyRequests } from "../errors/auth-error";
import { ipThrottleKey } from "./client-address";
import { evenedOut } from "./first-use-timing";
import type { AttemptGrant, LoginThrottle } from "./login-throttle";

type Throttle = DurableObjectStub<LoginThrottle>;

/** The LoginThrottle object of a client address (`ip:<per-IP key>`), which counts its login failures and registrations. */
export function addressThrottle(env: Env, addressKey: string): Throttle {
  return env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(`ip:${addressKey}`));
}

/** The LoginThrottle object of a username (`user:<normalized username>`), which counts its failures per address and in all. */
export function usernameThrottle(env: Env, usernameNormalized: string): Throttle {
  return env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(`user:${usernameNormalized}`));
}

/**
 * The brute-force limits of one login, checked and counted before the password is looked at:
 * failures from this address for any username, then failures of this username from this address
 * (low: one attacker's address cannot lock the user out from everywhere else) and from every
 * address (high: it only stops a guesser spread over many addresses). Without `CF-Connecting-IP`
 * only the per-username limit applies.
 *
 * The address comes first, so an address over its limit never reaches (or creates) a username's
 * object. A login is one call into each object and at most one more out of each: three calls
 * when it fails (the last records the event), four when it succeeds.
 */
export class LoginGuard {
  readonly #address: { key: string; throttle: Throttle } | null;
  readonly #username: Throttle;
  #addressAttempt: number | null = null;
  #usernameAttempt: number | null = null;

  constructor(env: Env, usernameNormalized: string, ip: string | null) {
    const key = ip === null ? null : ipThrottleKey(ip);
    this.#address = key === null ? null : { key, throttle: addressThrottle(env, key) };
    this.#username = usernameThrottle(env, usernameNormalized);
  }

  /** Counts this attempt, or throws 429 `too_many_requests` with `Retry-After` when a limit is reached. */
  async begin(): Promise<void> {
    if (this.#address !== null) {
      const grant = await this.#address.throttle.reserveFromAddress();
      if (!grant.allowed) throw tooManyRequests("Too many failed logins.", grant.retryAfterSeconds);
      this.#addressAttempt = grant.attemptId;
    }
    let grant: AttemptGrant;
    try {
      // A first use of the username's object costs more than a later one: evened out, so the
      // answer's timing does not tell whether someone else tried this username recently.
      const address = this.#address?.key ?? null;
      grant = await evenedOut<AttemptGrant>(() => this.#username.reserveForUsername(address), (grant) => (grant.allowed ? grant.firstUse : null));
    } catch (error) {
      await this.abandon();
      throw error;
    }
    if (!grant.allowed) {
      // Refused: the password is not checked, so the address must not keep this attempt.
      await this.abandon();
      throw tooManyRequests("Too many failed logins.", grant.retryAfterSeconds);
    }
    this.#usernameAttempt = grant.attemptId;
  }

  /**
   * The password was wrong or the user unknown: the attempt stays counted in both objects, and
   * the event is kept by the username's object, which counted it.
   */
  async failed(event: AuditEvent): Promise<void> {
    await this.#username.recordFailure(event);
  }

  /**
   * The password was right: this username's failures from this address are forgotten, and this
   * attempt leaves the per-username and per-address counts. Failures from other addresses stay.
   */
  async succeeded(): Promise<void> {
    const addressAttempt = this.#addressAttempt;
    const usernameAttempt = this.#usernameAttempt;
    this.#addressAttempt = this.#usernameAttempt = null;
    await Promise.all([
      usernameAttempt === null ? null : this.#username.recordSuccess(usernameAttempt, this.#address?.key ?? null),
      addressAttempt === null ? null : this.#address!.throttle.release(addressAttempt),
    ]);
  }

  /** The attempt got no verdict (refused by a limit, or an internal error): uncount it. */
  async abandon(): Promise<void> {
    const addressAttempt = this.#addressAttempt;
    const usernameAttempt = this.#usernameAttempt;
    this.#addressAttempt = this.#usernameAttempt = null;
    await Promise.all([
      usernameAttempt === null ? null : this.#username.release(usernameAttempt),
      addressAttempt === null ? null : this.#address!.throttle.release(addressAttempt),
    ]);
  }
}

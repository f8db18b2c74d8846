import type { Config } from "../config";
import type { AuditEvent } from "../db/events";
import type { Env } from "../env";
import { tooManyRequests } from "../http/errors";
import { ipThrottleKey } from "./client-address";
import type { LoginThrottle } from "./login-throttle";
/**
 * The brute-force limits of one login: per normalized username and, when the request carries
 * `CF-Connecting-IP`, per client address. Both are checked, and the attempt counted, before the
 * password is looked at.
 */
export class LoginGuard {
  readonly #user: DurableObjectStub<LoginThrottle>;
  readonly #ip: DurableObjectStub<LoginThrottle> | null;
  #userAttempt: number | null = null;
  #ipAttempt: number | null = null;

  constructor(env: Env, usernameNormalized: string, ip: string | null) {
    this.#user = env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(`user:${usernameNormalized}`));
    this.#ip = ip === null ? null : env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(`ip:${ipThrottleKey(ip)}`));
  }

  /** Counts this attempt, or throws 429 `too_many_requests` with `Retry-After` when a limit is reached. */
  async begin(config: Config): Promise<void> {
    const window = config.loginFailureWindowSeconds;
    const [user, ip] = await Promise.all([
      this.#user.begin(config.loginMaxFailuresPerUsername, window),
      this.#ip?.begin(config.loginMaxFailuresPerIp, window) ?? null,
    ]);
    if (user.allowed) this.#userAttempt = user.attemptId;
    if (ip?.allowed) this.#ipAttempt = ip.attemptId;
    const refusals = [user, ip].flatMap((grant) => (grant && !grant.allowed ? [grant.retryAfterSeconds] : []));
    if (refusals.length === 0) return;
    // Refused: the password is not checked, so the other counter must not keep this attempt.
    await this.abandon();
    throw tooManyRequests("Too many failed logins.", Math.max(...refusals));
  }

  /** The password was wrong or the user unknown: the attempt stays counted, the event is recorded. */
  async failed(event: AuditEvent): Promise<void> {
    await this.#user.fail(event);
  }

  /** The password was right: the username's count starts over, and this attempt leaves the IP's. */
  async succeeded(): Promise<void> {
    await Promise.all([this.#user.reset(), this.#ipAttempt === null ? null : this.#ip?.release(this.#ipAttempt)]);
  }

  /** The attempt got no verdict (refused by the other limit, or an internal error): uncount it. */
  async abandon(): Promise<void> {
    const user = this.#userAttempt;
    const ip = this.#ipAttempt;
    this.#userAttempt = this.#ipAttempt = null;
    await Promise.all([user === null ? null : this.#user.release(user), ip === null ? null : this.#ip?.release(ip)]);
  }
}

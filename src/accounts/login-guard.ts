import type { AuditEvent } from "../db/events";
import { tooManyRequests } from "../errors/auth-error";
import { ipThrottleKey } from "./client-address";
import type { LoginThrottle, ThrottleKind } from "./login-throttle";

/** One counter of a login: its object and the attempt reserved there. */
interface Counter {
  kind: ThrottleKind;
  stub: DurableObjectStub<LoginThrottle>;
  attempt: number | null;
}

/**
 * The brute-force limits of one login, checked and counted before the password is looked at:
 * failures of this username from this address (low: one attacker's address cannot lock the user
 * out from everywhere else), of this username from every address (high: it only stops a guesser
 * spread over many addresses), and from this address for any username. Without
 * `CF-Connecting-IP` only the per-username limit applies.
 */
export class LoginGuard {
  readonly #counters: Counter[];

  constructor(env: Env, usernameNormalized: string, ip: string | null) {
    const counter = (kind: ThrottleKind, name: string): Counter => ({
      kind,
      stub: env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(name)),
      attempt: null,
    });
    const address = ip === null ? null : ipThrottleKey(ip);
    this.#counters = [
      counter("username", `user:${usernameNormalized}`),
      ...(address === null
        ? []
        : [counter("username_and_ip", `user-ip:${usernameNormalized}|${address}`), counter("ip", `ip:${address}`)]),
    ];
  }

  /** Counts this attempt, or throws 429 `too_many_requests` with `Retry-After` when a limit is reached. */
  async begin(): Promise<void> {
    const grants = await Promise.all(this.#counters.map((counter) => counter.stub.begin(counter.kind)));
    grants.forEach((grant, index) => {
      if (grant.allowed) this.#counters[index]!.attempt = grant.attemptId;
    });
    const refusals = grants.flatMap((grant) => (grant.allowed ? [] : [grant.retryAfterSeconds]));
    if (refusals.length === 0) return;
    // Refused: the password is not checked, so the other counters must not keep this attempt.
    await this.abandon();
    throw tooManyRequests("Too many failed logins.", Math.max(...refusals));
  }

  /**
   * The password was wrong or the user unknown: the attempt stays counted everywhere, and the
   * event is recorded by the per-username object, in the same commit as its count.
   */
  async failed(event: AuditEvent): Promise<void> {
    await this.#counter("username").stub.fail(event);
  }

  /**
   * The password was right: this username's failures from this address are forgotten, and this
   * attempt leaves the per-username and per-address counts. Failures from other addresses stay.
   */
  async succeeded(): Promise<void> {
    await Promise.all(
      this.#counters.map((counter) =>
        counter.kind === "username_and_ip" ? counter.stub.reset() : counter.attempt === null ? null : counter.stub.release(counter.attempt),
      ),
    );
  }

  /** The attempt got no verdict (refused by another limit, or an internal error): uncount it. */
  async abandon(): Promise<void> {
    await Promise.all(
      this.#counters.map((counter) => {
        const attempt = counter.attempt;
        counter.attempt = null;
        return attempt === null ? null : counter.stub.release(attempt);
      }),
    );
  }

  #counter(kind: ThrottleKind): Counter {
    return this.#counters.find((counter) => counter.kind === kind)!;
  }
}

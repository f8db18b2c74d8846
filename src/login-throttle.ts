import { DurableObject } from "cloudflare:workers";
import { AlarmSchedule } from "./alarm-schedule";
import type { Config } from "./config";
import type { AuditEvent } from "./db/events";
import type { Env } from "./env";
import { AuthError } from "./errors";
import { Outbox } from "./outbox";

/** A reserved login attempt, or the refusal with the seconds until one is allowed again. */
export type AttemptGrant = { allowed: true; attemptId: number } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts login attempts for one key (`user:<normalized username>` or `ip:<address>`) in a sliding
 * window. One object per key keeps the count consistent across every edge location, and since it
 * runs one call at a time, checking the limit and counting the attempt are one step: a burst of
 * parallel guesses gets exactly as many tries as the limit allows. Audit events of failed logins
 * go to D1 through an outbox, as in UserAuth. Tables: see docs/storage.md.
 */
export class LoginThrottle extends DurableObject<Env> {
  #outbox: Outbox;
  #alarm: AlarmSchedule;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS attempts (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      )`);
    this.#alarm = new AlarmSchedule(ctx);
    this.#outbox = new Outbox(ctx.storage.sql, env.DB, this.#alarm);
  }

  /**
   * Reserves one attempt when fewer than `limit` attempts counted in the last `windowSeconds`,
   * else refuses with the seconds until the oldest of them leaves the window. A reserved attempt
   * counts as a failure until `release` or `reset` forgets it, so one that never reports back
   * (a crash mid-login) errs on the side of the limit.
   */
  begin(limit: number, windowSeconds: number): AttemptGrant {
    const now = Date.now();
    const windowMs = windowSeconds * 1000;
    this.ctx.storage.sql.exec("DELETE FROM attempts WHERE at <= ?", now - windowMs);
    // The limit-th newest attempt: while it is inside the window, `limit` attempts are.
    const blocking = this.ctx.storage.sql
      .exec<{ at: number }>("SELECT at FROM attempts ORDER BY at DESC, id DESC LIMIT 1 OFFSET ?", limit - 1)
      .toArray()[0];
    if (blocking !== undefined) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((blocking.at + windowMs - now) / 1000)) };
    }
    const { id } = this.ctx.storage.sql
      .exec<{ id: number }>("INSERT INTO attempts (at, expires_at) VALUES (?, ?) RETURNING id", now, now + windowMs)
      .one();
    this.#alarm.noLaterThan(now + windowMs);
    return { allowed: true, attemptId: id };
  }

  /**
   * Records that a reserved attempt failed (it stays counted) with its audit event, which is
   * queued here and sent to D1; a D1 failure leaves it queued for the alarm to retry.
   */
  async fail(event: AuditEvent | null): Promise<void> {
    if (event) this.#outbox.enqueue({ kind: "event", event });
    await this.#outbox.flush();
  }

  /** Forgets one reserved attempt: it succeeded (per-IP counts are of failures) or never got an answer. */
  release(attemptId: number): void {
    this.ctx.storage.sql.exec("DELETE FROM attempts WHERE id = ?", attemptId);
  }

  /** Forgets every attempt: a successful login resets its username's count. */
  reset(): void {
    this.ctx.storage.sql.exec("DELETE FROM attempts");
  }

  /** Retries D1 writes that failed and drops attempts that left their window, so idle objects hold nothing. */
  override async alarm(): Promise<void> {
    this.#alarm.fired();
    this.ctx.storage.sql.exec("DELETE FROM attempts WHERE expires_at <= ?", Date.now());
    await this.#outbox.flush();
    const next = this.ctx.storage.sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM attempts").one().at;
    this.#alarm.noLaterThan(next);
  }
}

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

/** One hour: the window of `REGISTRATIONS_PER_IP_PER_HOUR`. */
const REGISTRATION_WINDOW_SECONDS = 3600;

/**
 * Counts a registration from the client's address and throws 429 `too_many_requests` once
 * `REGISTRATIONS_PER_IP_PER_HOUR` were made in the last hour: each one costs a password hash, and
 * mass sign-ups are abuse. Every attempt counts, taken usernames included, so `409` cannot be
 * used to enumerate accounts at speed. Without `CF-Connecting-IP` no limit applies.
 */
export async function countRegistration(env: Env, ip: string | null, config: Config): Promise<void> {
  if (ip === null) return;
  const throttle = env.LOGIN_THROTTLE.get(env.LOGIN_THROTTLE.idFromName(`register:${ipThrottleKey(ip)}`));
  const grant = await throttle.begin(config.registrationsPerIpPerHour, REGISTRATION_WINDOW_SECONDS);
  if (!grant.allowed) throw tooManyRequests("Too many registrations from this address.", grant.retryAfterSeconds);
}

function tooManyRequests(what: string, retryAfterSeconds: number) {
  return new AuthError("too_many_requests", 429, `${what} Try again in ${retryAfterSeconds} seconds.`, {
    "Retry-After": String(retryAfterSeconds),
  });
}

/**
 * The address a per-IP limit counts: an IPv4 address as is, an IPv6 address by its /64 prefix,
 * since one subscriber usually holds a whole /64 and could otherwise step through it.
 */
export function ipThrottleKey(ip: string): string {
  const address = ip.trim().toLowerCase().slice(0, 64);
  if (!address.includes(":")) return address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped) return mapped[1]!;
  const halves = address.split("::");
  if (halves.length > 2) return address;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  if (halves.length === 2 && head.length + tail.length > 7) return address;
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail] : head;
  if (groups.length !== 8 || !groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return address;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

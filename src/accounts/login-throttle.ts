import { DurableObject } from "cloudflare:workers";
import { requireSettings, type LoginLimits } from "../config";
import { AlarmSchedule } from "../durable/alarm-schedule";
import type { AuditEvent } from "../db/events";
import { Outbox } from "../durable/outbox";

/**
 * A reserved attempt, or the refusal with the seconds until one is allowed again. `firstUse`: the
 * call was the first this object instance served (it was created for it), which costs more.
 */
export type AttemptGrant = { allowed: true; attemptId: number; firstUse: boolean } | { allowed: false; retryAfterSeconds: number };

/**
 * What a row counts: a login attempt (in an address object: from that address; in a username
 * object: at that username, from the address in its `address` column) or a registration (address
 * objects only).
 */
type AttemptKind = "login" | "registration";

/** One limit a new attempt must stay under: rows of `kind` (and of `address`, when not null) counted in the window. */
interface Limit {
  kind: AttemptKind;
  address: string | null;
  max: number;
  windowMs: number;
}

/**
 * The seconds until one more attempt is allowed, given when the `max`-th newest counted attempt
 * was made (undefined: fewer than `max` are counted), or null when one is allowed now. Pure.
 */
export function retryAfterSeconds(blockingAt: number | undefined, windowMs: number, now: number): number | null {
  if (blockingAt === undefined || blockingAt + windowMs <= now) return null;
  return Math.max(1, Math.ceil((blockingAt + windowMs - now) / 1000));
}

/** The window of login failures, in milliseconds. */
const loginWindowMs = (limits: LoginLimits) => limits.failureWindowSeconds * 1000;
const REGISTRATION_WINDOW_MS = 3_600_000;

const ATTEMPTS_TABLE = `
  CREATE TABLE IF NOT EXISTS attempts (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    address    TEXT,
    at         INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  )`;

/**
 * The login limits, in two kinds of object, each running one call at a time, so that checking a
 * limit and counting the attempt are one step: a burst of parallel guesses gets exactly as many
 * tries as the limits allow.
 *
 * - `ip:<address>` counts login failures from one client address (`reserveFromAddress`) and its
 *   registrations (`countRegistration`).
 * - `user:<normalized username>` counts failures of one username, over all addresses and per
 *   address in one table (`reserveForUsername`), and keeps the `login_failed` event of each
 *   failure it counts, sent to the EVENTS queue (and so to D1) through an outbox as in UserAuth.
 *
 * An object stores nothing until it counts something, and deletes all its storage (`deleteAll`)
 * once every attempt left its window and its outbox is empty: what one client can make the
 * gateway keep is bounded by the limits themselves. Tables: see docs/storage.md.
 */
export class LoginThrottle extends DurableObject<Env> {
  #alarm: AlarmSchedule;
  /** Set once this instance has seen (or made) the tables; null while the object stores nothing. */
  #outbox: Outbox | null = null;
  /** No call served yet by this instance (see first-use-timing.ts). */
  #fresh = true;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#alarm = new AlarmSchedule(ctx);
  }

  /**
   * Address object: reserves one login attempt when fewer than `LOGIN_MAX_FAILURES_PER_IP` are
   * counted in the window. A reserved attempt counts as a failure until `release` forgets it, so
   * one that never reports back (a crash mid-login) errs on the side of the limit.
   */
  reserveFromAddress(): AttemptGrant {
    const limits = this.#limits();
    return this.#reserve("login", null, [{ kind: "login", address: null, max: limits.maxFailuresPerIp, windowMs: loginWindowMs(limits) }]);
  }

  /**
   * Username object: reserves one login attempt when fewer than `LOGIN_MAX_FAILURES_PER_USERNAME`
   * are counted over all addresses and, for a known client address, fewer than
   * `LOGIN_MAX_FAILURES_PER_USERNAME_AND_IP` from `address` (its per-IP key, IPv6 by /64).
   */
  reserveForUsername(address: string | null): AttemptGrant {
    const limits = this.#limits();
    const windowMs = loginWindowMs(limits);
    const perUsername: Limit = { kind: "login", address: null, max: limits.maxFailuresPerUsername, windowMs };
    const perPair: Limit[] = address === null ? [] : [{ kind: "login", address, max: limits.maxFailuresPerUsernameAndIp, windowMs }];
    return this.#reserve("login", address, [perUsername, ...perPair]);
  }

  /**
   * Address object: counts one registration, or refuses once `REGISTRATIONS_PER_IP_PER_HOUR`
   * were counted in the last hour. Every attempt counts, whatever its answer.
   */
  countRegistration(): AttemptGrant {
    const max = this.#limits().registrationsPerIpPerHour;
    return this.#reserve("registration", null, [{ kind: "registration", address: null, max, windowMs: REGISTRATION_WINDOW_MS }]);
  }

  /**
   * Username object: the reserved attempt failed, so it stays counted; its audit event is queued
   * here and sent to the EVENTS queue (answered once committed here; a failed send leaves it
   * queued for the alarm to retry).
   */
  recordFailure(event: AuditEvent): void {
    this.#open(true)!.enqueue({ kind: "event", event });
    this.ctx.waitUntil(this.#outbox!.flush());
  }

  /**
   * Username object: the password was right. This attempt is forgotten, and this username's
   * failures from `address` stop counting for that address; they still count for the username
   * over all addresses, since a success from one address must not clear another's guesses.
   */
  recordSuccess(attemptId: number, address: string | null): void {
    if (this.#open(false) === null) return;
    this.ctx.storage.sql.exec("DELETE FROM attempts WHERE id = ?", attemptId);
    if (address !== null) this.ctx.storage.sql.exec("UPDATE attempts SET address = NULL WHERE address = ?", address);
  }

  /** Either object: forgets one reserved attempt (a success, for the per-address count, or one that got no verdict). */
  release(attemptId: number): void {
    if (this.#open(false) === null) return;
    this.ctx.storage.sql.exec("DELETE FROM attempts WHERE id = ?", attemptId);
  }

  /**
   * Drops attempts that left their window and retries outbox sends that failed; once nothing is
   * counted and nothing queued, deletes the object's storage and alarm entirely.
   */
  override async alarm(): Promise<void> {
    this.#alarm.fired();
    this.#fresh = false;
    const outbox = this.#open(false);
    if (outbox !== null) {
      this.ctx.storage.sql.exec("DELETE FROM attempts WHERE expires_at <= ?", Date.now());
      await outbox.flush();
      // Nothing is awaited between this check and the deletion below: an attempt counted during
      // the flush is seen here, and none can come in between.
      const next = this.ctx.storage.sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM attempts").one().at;
      if (next !== null || outbox.size > 0) {
        this.#alarm.noLaterThan(next);
        return;
      }
    }
    this.#outbox = null;
    await Promise.all([this.ctx.storage.deleteAlarm(), this.ctx.storage.deleteAll()]);
  }

  #limits(): LoginLimits {
    return requireSettings(this.env).login;
  }

  /**
   * Counts one attempt of `kind` (from `address`) when every limit allows one more, else refuses
   * with the longest wait among the limits reached. The alarm is asked for the attempt's expiry,
   * so an object that stores anything always has an alarm to clean it up.
   */
  #reserve(kind: AttemptKind, address: string | null, limits: Limit[]): AttemptGrant {
    const firstUse = this.#fresh;
    this.#fresh = false;
    this.#open(true);
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    sql.exec("DELETE FROM attempts WHERE expires_at <= ?", now);
    const waits = limits.flatMap((limit) => {
      // The max-th newest attempt of this limit: while it is inside the window, `max` attempts are.
      const blocking = sql
        .exec<{ at: number }>("SELECT at FROM attempts WHERE kind = ?1 AND (?2 IS NULL OR address = ?2) ORDER BY at DESC LIMIT 1 OFFSET ?3", limit.kind, limit.address, limit.max - 1)
        .toArray()[0];
      const wait = retryAfterSeconds(blocking?.at, limit.windowMs, now);
      return wait === null ? [] : [wait];
    });
    if (waits.length > 0) return { allowed: false, retryAfterSeconds: Math.max(...waits) };
    const windowMs = Math.max(...limits.map((limit) => limit.windowMs));
    const attemptId = randomAttemptId();
    sql.exec("INSERT INTO attempts (id, kind, address, at, expires_at) VALUES (?, ?, ?, ?, ?)", attemptId, kind, address, now, now + windowMs);
    this.#alarm.noLaterThan(now + windowMs);
    return { allowed: true, attemptId, firstUse };
  }

  /**
   * The object's tables and outbox, created on first write only (`create`): an object that never
   * counted anything, or emptied itself, stores nothing. Null when there are none and `create` is false.
   */
  #open(create: boolean): Outbox | null {
    if (this.#outbox !== null) return this.#outbox;
    const sql = this.ctx.storage.sql;
    const table = sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'attempts'").toArray()[0];
    if (table === undefined && !create) return null;
    if (table === undefined) sql.exec(ATTEMPTS_TABLE);
    else if (!/\bkind\b/.test(table.sql)) {
      // An object of the earlier layout (one object per counter): its rows were login attempts of
      // its own key, which is what they stay.
      sql.exec("ALTER TABLE attempts ADD COLUMN kind TEXT NOT NULL DEFAULT 'login'");
      sql.exec("ALTER TABLE attempts ADD COLUMN address TEXT");
    }
    this.#outbox = new Outbox(sql, () => this.env, this.#alarm);
    return this.#outbox;
  }
}

/**
 * A random attempt id (53 bits): an id handed out before the object emptied itself can never name
 * a later attempt, as a restarted counter could.
 */
function randomAttemptId(): number {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return (high! & 0x1fffff) * 2 ** 32 + low!;
}

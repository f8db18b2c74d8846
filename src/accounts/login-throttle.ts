import { DurableObject } from "cloudflare:workers";
import { requireSettings, type LoginLimits } from "../config";
import { AlarmSchedule } from "../durable/alarm-schedule";
import type { AuditEvent } from "../db/events";
import { Outbox } from "../durable/outbox";

/**
 * What one LoginThrottle object counts: failed logins of one username from one address, of one
 * username from everywhere, from one address, or registrations from one address.
 */
export type ThrottleKind = "username_and_ip" | "username" | "ip" | "registration";

/** The limit and window of each kind, from the configuration. */
export function throttleLimit(kind: ThrottleKind, limits: LoginLimits): { limit: number; windowSeconds: number } {
  const windowSeconds = limits.failureWindowSeconds;
  switch (kind) {
    case "username_and_ip":
      return { limit: limits.maxFailuresPerUsernameAndIp, windowSeconds };
    case "username":
      return { limit: limits.maxFailuresPerUsername, windowSeconds };
    case "ip":
      return { limit: limits.maxFailuresPerIp, windowSeconds };
    case "registration":
      return { limit: limits.registrationsPerIpPerHour, windowSeconds: 3600 };
  }
}

/** A reserved login attempt, or the refusal with the seconds until one is allowed again. */
export type AttemptGrant = { allowed: true; attemptId: number } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts login attempts for one key (`user:<normalized username>` or `ip:<address>`) in a sliding
 * window. One object per key keeps the count consistent across every edge location, and since it
 * runs one call at a time, checking the limit and counting the attempt are one step: a burst of
 * parallel guesses gets exactly as many tries as the limit allows. Audit events of failed logins
 * go to the EVENTS queue (and D1) through an outbox, as in UserAuth. Tables: see docs/storage.md.
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
    this.#outbox = new Outbox(ctx.storage.sql, () => this.env, this.#alarm);
  }

  /**
   * Reserves one attempt when fewer than the kind's limit are counted in its window (settings
   * from this object's own env), else refuses with the seconds until the oldest of them leaves
   * the window. A reserved attempt
   * counts as a failure until `release` or `reset` forgets it, so one that never reports back
   * (a crash mid-login) errs on the side of the limit.
   */
  begin(kind: ThrottleKind): AttemptGrant {
    const { limit, windowSeconds } = throttleLimit(kind, requireSettings(this.env).login);
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
   * queued here and sent to the EVENTS queue; a failed send leaves it queued for the alarm to retry.
   */
  fail(event: AuditEvent): void {
    this.#outbox.enqueue({ kind: "event", event });
    // Answered once the count and the event are committed here; the queue gets the event after.
    this.ctx.waitUntil(this.#outbox.flush());
  }

  /** Forgets one reserved attempt: it succeeded (per-IP counts are of failures) or never got an answer. */
  release(attemptId: number): void {
    this.ctx.storage.sql.exec("DELETE FROM attempts WHERE id = ?", attemptId);
  }

  /** Forgets every attempt: a successful login resets its username's count. */
  reset(): void {
    this.ctx.storage.sql.exec("DELETE FROM attempts");
  }

  /** Retries outbox sends that failed and drops attempts that left their window, so idle objects hold nothing. */
  override async alarm(): Promise<void> {
    this.#alarm.fired();
    this.ctx.storage.sql.exec("DELETE FROM attempts WHERE expires_at <= ?", Date.now());
    await this.#outbox.flush();
    const next = this.ctx.storage.sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM attempts").one().at;
    this.#alarm.noLaterThan(next);
  }
}

import { DurableObject } from "cloudflare:workers";
import type { Env } from "./env";

/**
 * Counts failed logins for one key (`user:<username>` or `ip:<address>`) in a sliding window.
 * One object per key keeps the count consistent across every edge location.
 */
export class LoginThrottle extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS failures (at INTEGER NOT NULL)");
  }

  /**
   * Seconds until another attempt is allowed, or 0 when fewer than `limit` failures happened in
   * the last `windowSeconds`.
   */
  retryAfter(limit: number, windowSeconds: number): number {
    const now = Date.now();
    this.#forgetBefore(now - windowSeconds * 1000);
    const rows = this.ctx.storage.sql
      .exec<{ at: number }>("SELECT at FROM failures ORDER BY at DESC LIMIT 1 OFFSET ?", limit - 1)
      .toArray();
    const oldestCounted = rows[0]?.at;
    if (oldestCounted === undefined) return 0;
    return Math.max(1, Math.ceil((oldestCounted + windowSeconds * 1000 - now) / 1000));
  }

  /** Records one failed attempt. Rows older than the window are dropped, so storage stays bounded by the attempt rate. */
  recordFailure(windowSeconds: number): void {
    const now = Date.now();
    this.#forgetBefore(now - windowSeconds * 1000);
    this.ctx.storage.sql.exec("INSERT INTO failures (at) VALUES (?)", now);
  }

  /** Forgets every failure (a successful login for this username). */
  reset(): void {
    this.ctx.storage.sql.exec("DELETE FROM failures");
  }

  #forgetBefore(cutoff: number) {
    this.ctx.storage.sql.exec("DELETE FROM failures WHERE at <= ?", cutoff);
  }
}

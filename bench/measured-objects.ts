import { LoginThrottle as ProductionLoginThrottle, UserAuth as ProductionUserAuth } from "../src/index";

// The bench worker's Durable Object classes (bench/worker.ts exports these under the production
// names, so bench/wrangler.toml binds them as USER_AUTH and LOGIN_THROTTLE): the production
// classes, unchanged, plus RPC methods only the bench routes call, to read what an object stores
// and to seed the state a cost curve is measured at. Every production method is inherited as it
// is; nothing here runs on a login, refresh or logout.

/** The production `UserAuth`, plus the size of its storage. */
export class UserAuth extends ProductionUserAuth {
  /** Bytes of this object's SQLite database (`ctx.storage.sql.databaseSize`: its pages, free ones included). */
  benchDatabaseBytes(): number {
    return this.ctx.storage.sql.databaseSize;
  }
}

/** The production `LoginThrottle`, plus the size of its storage and a way to fill its window. */
export class LoginThrottle extends ProductionLoginThrottle {
  /** Bytes of this object's SQLite database. */
  benchDatabaseBytes(): number {
    return this.ctx.storage.sql.databaseSize;
  }

  /**
   * Adds `count` failed attempts made now, counted for `windowSeconds`: the rows `count` failed
   * logins would have left in the object's `attempts` table (src/accounts/login-throttle.ts).
   * Returns the attempts now held.
   */
  benchAddFailures(count: number, windowSeconds: number): number {
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      for (let index = 0; index < count; index += 1) {
        this.ctx.storage.sql.exec("INSERT INTO attempts (at, expires_at) VALUES (?, ?)", now, now + windowSeconds * 1000);
      }
    });
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM attempts").one().n;
  }
}

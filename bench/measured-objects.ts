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
  /**
   * Reserves `count` login attempts now, as an address object (`reserveFromAddress`) or a
   * username object from no known address (`reserveForUsername(null)`), and never releases them:
   * what that many failed logins leave counted. Returns how many were counted (a reservation past
   * the limit is refused) and the object's size after.
   */
  benchAddFailures(as: "address" | "username", count: number): { added: number; bytes: number } {
    let added = 0;
    for (let attempt = 0; attempt < count; attempt += 1) {
      const grant = as === "address" ? this.reserveFromAddress() : this.reserveForUsername(null);
      if (grant.allowed) added += 1;
    }
    return { added, bytes: this.ctx.storage.sql.databaseSize };
  }
}

import { DurableObject } from "cloudflare:workers";

/**
 * Bench only: the floor a refresh is measured against (`npm run bench`). A refresh cannot do less
 * than one RPC to the user's Durable Object that commits one SQLite write, plus the access token
 * the worker signs; this object does exactly the first part and nothing else (no refresh rules,
 * no MACs, no outbox). It is a class of its own, not a method on `UserAuth`, so that the object
 * holding real sessions carries no bench code; and it lives in the bench worker alone
 * (bench/wrangler.toml, binding `REFRESH_FLOOR`), never in the production one.
 */
export class RefreshFloor extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS generation (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)");
  }

  /** One SQLite write, committed before the answer leaves (as a rotation's is): the next generation. */
  rotate(): number {
    return this.ctx.storage.sql
      .exec<{ value: number }>(
        "INSERT INTO generation (id, value) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET value = value + 1 RETURNING value",
      )
      .one().value;
  }
}

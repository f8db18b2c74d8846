// What the LoginThrottle objects store, read from inside them (runInDurableObject), for the tests
// of the login limits and of the storage a stranger can make the gateway keep.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { ipThrottleKey } from "../../src/accounts/client-address";
import { addressThrottle, usernameThrottle } from "../../src/accounts/login-guard";
import { normalizeUsername } from "../../src/db/users";

type Throttle = ReturnType<typeof addressThrottle>;

/** The LoginThrottle object that counts the login failures and registrations of a client address. */
export function throttleOfAddress(ip: string): Throttle {
  return addressThrottle(env, ipThrottleKey(ip));
}

/** The LoginThrottle object that counts the login failures of a username (any case). */
export function throttleOfUsername(username: string): Throttle {
  return usernameThrottle(env, normalizeUsername(username));
}

/** What one object stores: its tables (SQLite's and the runtime's own included), their rows, its alarm and its size. */
export interface Stored {
  tables: string[];
  rows: number;
  alarm: number | null;
  bytes: number;
}

/** Reads what an object stores. Creates nothing: an object that never counted anything stores nothing. */
export function storedIn(throttle: Throttle): Promise<Stored> {
  return runInDurableObject(throttle, async (_instance, state) => {
    const sql = state.storage.sql;
    const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").toArray().map((row) => row.name);
    const countable = tables.filter((name) => !name.startsWith("sqlite_") && !name.startsWith("_cf_"));
    const rows = countable.reduce((sum, name) => sum + sql.exec<{ n: number }>(`SELECT count(*) AS n FROM "${name}"`).one().n, 0);
    return { tables, rows, alarm: await state.storage.getAlarm(), bytes: sql.databaseSize };
  });
}

/** Whether an object stores anything at all: a table or an alarm. */
export async function storesAnything(throttle: Throttle): Promise<boolean> {
  const stored = await storedIn(throttle);
  return stored.tables.length > 0 || stored.alarm !== null;
}

/** Counted attempts of an object; in a username object, `address` (a client IP) keeps those counting for that address only. */
export function attemptsIn(throttle: Throttle, address?: string): Promise<number> {
  return runInDurableObject(throttle, (_instance, state) => {
    const sql = state.storage.sql;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'attempts'").toArray().length === 0) return 0;
    return address === undefined
      ? sql.exec<{ n: number }>("SELECT count(*) AS n FROM attempts").one().n
      : sql.exec<{ n: number }>("SELECT count(*) AS n FROM attempts WHERE address = ?", ipThrottleKey(address)).one().n;
  });
}

/** Moves every counted attempt of an object (if it has any) `seconds` into the past, as if that time had gone by. */
export function backdateAttempts(throttle: Throttle, seconds: number): Promise<void> {
  return runInDurableObject(throttle, (_instance, state) => {
    const sql = state.storage.sql;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'attempts'").toArray().length === 0) return;
    sql.exec("UPDATE attempts SET at = at - ?1, expires_at = expires_at - ?1", Math.round(seconds * 1000));
  });
}

/** Lets `seconds` pass for an object and runs its alarm, as the runtime would once they had. */
export async function letTimePass(throttle: Throttle, seconds: number): Promise<void> {
  await backdateAttempts(throttle, seconds);
  await runDurableObjectAlarm(throttle);
}

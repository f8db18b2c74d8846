import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { migrateStores, type StoreSchema } from "../src/durable/store-schema";
import { SESSIONS_SCHEMA } from "../src/sessions/session-store";
import { AUTHORIZATION_CODES_SCHEMA } from "../src/sessions/authorization-codes";
import { PASSKEYS_SCHEMA } from "../src/passkeys/passkey-store";
import { MFA_SCHEMA } from "../src/mfa/mfa-store";
import { ACCOUNT_SCHEMA } from "../src/sessions/account-store";
import { bearer, call, openSession, pairOf, refresh, uniqueSub, userAuthStub } from "./helpers";

// The schema migrations of a Durable Object's stores (src/durable/store-schema.ts), run in a real
// object's SQLite storage.

/** Runs `action` in the storage of a fresh user's object (it migrated its own stores on construction). */
function inFreshObject<T>(action: (storage: DurableObjectStorage) => T) {
  return runInDurableObject(userAuthStub(uniqueSub("schema")), (_instance, state) => action(state.storage));
}

function versions(sql: SqlStorage): Record<string, number> {
  return Object.fromEntries(sql.exec<{ store: string; version: number }>("SELECT store, version FROM schema_versions").toArray().map((row) => [row.store, row.version]));
}

function tables(sql: SqlStorage): string[] {
  return sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").toArray().map((row) => row.name);
}

/** A store of its own, as a feature like passkeys would add one; `log` says which migrations ran. */
function featureStore(log: string[], count: number): StoreSchema {
  const all = [
    (sql: SqlStorage) => {
      log.push("1");
      sql.exec("CREATE TABLE feature_items (id TEXT PRIMARY KEY)");
    },
    (sql: SqlStorage) => {
      log.push("2");
      sql.exec("ALTER TABLE feature_items ADD COLUMN name TEXT");
    },
  ];
  return { store: "feature", migrations: all.slice(0, count) };
}

describe("migrateStores", () => {
  it("has every user's object at the latest sessions version, with no table of the old bookkeeping", async () => {
    const found = await inFreshObject((storage) => ({ versions: versions(storage.sql), tables: tables(storage.sql) }));
    expect(found.versions).toEqual({
      sessions: SESSIONS_SCHEMA.migrations.length,
      authorization_codes: AUTHORIZATION_CODES_SCHEMA.migrations.length,
      passkeys: PASSKEYS_SCHEMA.migrations.length,
      mfa: MFA_SCHEMA.migrations.length,
      account: ACCOUNT_SCHEMA.migrations.length,
    });
    expect(SESSIONS_SCHEMA.migrations.length).toBe(6);
    expect(found.tables).not.toContain("schema_version");
    expect(found.tables).toEqual(expect.arrayContaining(["dpop_proofs", "outbox", "schema_versions", "sessions"]));
  });

  it("runs a new store's migrations in order beside the others, once, and later only the ones added since", async () => {
    const log: string[] = [];
    const found = await inFreshObject((storage) => {
      migrateStores(storage, [SESSIONS_SCHEMA, featureStore(log, 1)]);
      const afterFirst = { ...versions(storage.sql) };
      migrateStores(storage, [SESSIONS_SCHEMA, featureStore(log, 1)]);
      migrateStores(storage, [SESSIONS_SCHEMA, featureStore(log, 2)]);
      storage.sql.exec("INSERT INTO feature_items (id, name) VALUES ('a', 'named')");
      return { afterFirst, afterSecond: versions(storage.sql) };
    });
    expect(log).toEqual(["1", "2"]);
    expect(found.afterFirst).toEqual({ sessions: 6, authorization_codes: 1, passkeys: 1, mfa: 1, account: 1, feature: 1 });
    expect(found.afterSecond).toEqual({ sessions: 6, authorization_codes: 1, passkeys: 1, mfa: 1, account: 1, feature: 2 });
  });

  it("leaves a store that is newer than the code as it is, never lowering its version", async () => {
    const log: string[] = [];
    const found = await inFreshObject((storage) => {
      migrateStores(storage, [featureStore(log, 2)]);
      migrateStores(storage, [featureStore(log, 1)]);
      return versions(storage.sql);
    });
    expect(log).toEqual(["1", "2"]);
    expect(found.feature).toBe(2);
  });

  it("leaves a store between no two versions: a migration that throws takes its store's earlier ones of that run with it", async () => {
    const failing: StoreSchema = {
      store: "feature",
      migrations: [
        (sql) => sql.exec("CREATE TABLE feature_items (id TEXT PRIMARY KEY)"),
        () => {
          throw new Error("migration 2 failed");
        },
      ],
    };
    const found = await inFreshObject((storage) => {
      expect(() => migrateStores(storage, [failing])).toThrow("migration 2 failed");
      return { versions: versions(storage.sql), tables: tables(storage.sql) };
    });
    expect(found.versions).toEqual({ sessions: 6, authorization_codes: 1, passkeys: 1, mfa: 1, account: 1 });
    expect(found.tables).not.toContain("feature_items");
  });
});

describe("an object from before amr and auth_time were stored (sessions version 4)", () => {
  it("adopts its old version, dates its sessions' auth_time by their opening, and leaves their amr unknown", async () => {
    const sub = uniqueSub("legacy");
    const pair = await openSession(sub);
    // Back to the layout and bookkeeping the object had at version 4.
    const createdAt = await runInDurableObject(userAuthStub(sub), (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("ALTER TABLE sessions DROP COLUMN amr");
      sql.exec("ALTER TABLE sessions DROP COLUMN auth_time");
      sql.exec("ALTER TABLE sessions DROP COLUMN claims_checked_at");
      sql.exec("DROP TABLE schema_versions");
      sql.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      sql.exec("INSERT INTO schema_version (version) VALUES (4)");
      return sql.exec<{ created_at: number }>("SELECT created_at FROM sessions").one().created_at;
    });
    await evictDurableObject(userAuthStub(sub));

    // The next request constructs the object again, which migrates it.
    const next = await pairOf(await refresh(pair.refresh_token));
    const claims = decodeJwt(next.access_token);
    expect(claims.auth_time).toBe(Math.floor(createdAt / 1000));
    expect(claims).not.toHaveProperty("amr");
    const listing = (await (await call("/auth/sessions", { headers: bearer(next.access_token) })).json()) as { sessions: Array<Record<string, unknown>> };
    expect(listing.sessions).toEqual([expect.objectContaining({ id: pair.session_id, amr: null, auth_time: new Date(createdAt).toISOString() })]);

    const after = await runInDurableObject(userAuthStub(sub), (_instance, state) => ({ versions: versions(state.storage.sql), tables: tables(state.storage.sql) }));
    expect(after.versions).toEqual({ sessions: 6, authorization_codes: 1, passkeys: 1, mfa: 1, account: 1 });
    expect(after.tables).not.toContain("schema_version");
  });
});

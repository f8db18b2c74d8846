import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { applyMissingMigrations } from "../src/db/schema";

async function tables() {
  const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all<{ name: string }>();
  return results.map((row) => row.name);
}

describe("bundled D1 migrations", () => {
  it("creates the tables on a database where no migration was applied, and records them as wrangler does", async () => {
    await env.DB.batch([
      env.DB.prepare("DROP TABLE sessions"),
      env.DB.prepare("DROP TABLE events"),
      env.DB.prepare("DROP TABLE users"),
      env.DB.prepare("DROP TABLE identities"),
      env.DB.prepare("DROP TABLE d1_migrations"),
    ]);
    expect(await tables()).not.toContain("sessions");

    await applyMissingMigrations(env.DB);

    expect(await tables()).toEqual(expect.arrayContaining(["d1_migrations", "events", "identities", "sessions", "users"]));
    const { results } = await env.DB.prepare("SELECT name FROM d1_migrations").all<{ name: string }>();
    expect(results.map((row) => row.name)).toEqual(env.TEST_MIGRATIONS.map((migration) => migration.name));
  });

  it("leaves an up-to-date database alone", async () => {
    await env.DB.prepare("INSERT INTO events (id, type, at) VALUES ('kept', 'logout', 1)").run();
    await applyMissingMigrations(env.DB);
    const row = await env.DB.prepare("SELECT id FROM events WHERE id = 'kept'").first();
    expect(row).toEqual({ id: "kept" });
  });
});

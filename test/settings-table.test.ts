import { env } from "cloudflare:workers";
import { describe, expect, expectTypeOf, inject, it } from "vitest";
import { requireSettings } from "../src/config";
import { settingsTable, TABLE_END, TABLE_START, withSettingsTable } from "../src/config/docs-table";
import { settingRows, type SettingName } from "../src/config/settings";
import { AuthError } from "../src/errors/auth-error";

// The settings table (src/config/settings.ts) is the one declaration of every variable; what is
// written elsewhere must say the same. test/bench/worker.test.ts holds bench/wrangler.toml to
// wrangler.toml but for the bench's own values.

const rows = settingRows();

async function textOf(file: string): Promise<string> {
  // Vite's ?raw import gives the file as text; a string specifier keeps TypeScript out of it.
  const specifier = `../${file}?raw`;
  return ((await import(/* @vite-ignore */ specifier)) as { default: string }).default;
}

describe("the settings table", () => {
  it("declares each variable once, with a default its own parser reads", () => {
    const names = rows.map((row) => row.name);
    expect(new Set(names).size).toBe(names.length);
    for (const row of rows) expect(() => row.parser.parse(row.defaultValue), row.name).not.toThrow();
  });

  it("agrees with Env: every row a variable of the worker, every string variable a row", () => {
    // Checked by `npm run typecheck`.
    type StringVariable = { [K in keyof Env]-?: Env[K] extends string | undefined ? K : never }[keyof Env];
    expectTypeOf<Exclude<SettingName, keyof Env>>().toEqualTypeOf<never>();
    expectTypeOf<Exclude<StringVariable, SettingName>>().toEqualTypeOf<never>();
  });
});

describe("docs/api.md", () => {
  it("has the configuration table generated from the settings table", async () => {
    const doc = await textOf("docs/api.md");
    expect(doc).toContain(TABLE_START);
    expect(doc.indexOf(TABLE_END)).toBeGreaterThan(doc.indexOf(TABLE_START));
    expect(withSettingsTable(doc), "docs/api.md differs from src/config/settings.ts: run `npm run docs:settings`").toBe(doc);
  });

  it("lists every variable there with its default, secrets marked", () => {
    const table = settingsTable().split("\n");
    expect(table).toHaveLength(rows.length + 2);
    expect(table).toContain("| `LOGIN_MAX_FAILURES_PER_USERNAME` | whole number, 1 to 999999 | `100` | failed logins per username over all addresses within the window; high on purpose: it only stops a guesser spread over many addresses |");
    expect(table.find((line) => line.startsWith("| `REFRESH_IDLE_TTL_SECONDS` |"))).toContain("| `1209600` (14 days) |");
    expect(table.find((line) => line.startsWith("| `PUBLIC_PATH_PREFIXES` |"))).toContain("| empty |");
    expect(table.filter((line) => line.includes(" (secret) |")).map((line) => line.split(" ")[1])).toEqual(["`OIDC_CLIENT_SECRETS`", "`WEBHOOK_SECRET`", "`SIGNING_KEYS`", "`INTROSPECTION_TOKEN`", "`ADMIN_API_TOKEN`", "`ORIGIN_SIGNING_SECRET`"]);
  });
});

describe("wrangler.toml", () => {
  it("ships as [vars] exactly the non-secret settings, each at its default, as a string", () => {
    const { vars } = inject("workerConfigs").production;
    const expected = Object.fromEntries(rows.filter((row) => !row.options.secret).map((row) => [row.name, row.defaultValue]));
    expect(vars).toEqual(expected);
  });
});

describe("requireSettings", () => {
  it("reads an env once: the same object answers with the same config", () => {
    const vars = { ...env, ACCESS_TOKEN_TTL_SECONDS: "60" } as Env;
    const config = requireSettings(vars);
    expect(config.accessTokenTtlSeconds).toBe(60);
    expect(requireSettings(vars)).toBe(config);
    expect(requireSettings({ ...vars } as Env)).not.toBe(config);
  });

  it("throws 503 server_misconfigured naming the variable, every time it is asked", () => {
    const bad = { ...env, CLOCK_SKEW_SECONDS: "soon" } as Env;
    for (let attempt = 0; attempt < 2; attempt++) {
      let thrown: unknown;
      try {
        requireSettings(bad);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AuthError);
      expect(thrown).toMatchObject({
        status: 503,
        code: "server_misconfigured",
        description: `CLOCK_SKEW_SECONDS must be a whole number of seconds >= 0, got "soon".`,
      });
    }
  });
});

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { exportJWK, generateKeyPair } from "jose";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import { buildDemoScript } from "./scripts/lib/build-client.mjs";

// Test-only secrets: a fresh ES256 signing key plus an older EdDSA key that still verifies
// (key rotation), and an admin token.
async function testSigningKeys() {
  const signer = await generateKeyPair("ES256", { extractable: true });
  const previous = await generateKeyPair("EdDSA", { extractable: true });
  return JSON.stringify({
    keys: [
      { ...(await exportJWK(signer.privateKey)), kid: "test-es256", alg: "ES256" },
      { ...(await exportJWK(previous.privateKey)), kid: "test-eddsa", alg: "EdDSA" },
    ],
  });
}

// The plugin also loads .dev.vars, which is for `wrangler dev`. Whatever a developer put there is
// blanked (blank reads as unset, i.e. the wrangler.toml default), so the tests always see the same
// configuration.
function blankedDevVars(): Record<string, string> {
  const file = path.join(import.meta.dirname, ".dev.vars");
  if (!existsSync(file)) return {};
  const names = [...readFileSync(file, "utf8").matchAll(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/gm)].map((match) => match[1]!);
  return Object.fromEntries(names.map((name) => [name, ""]));
}

/**
 * The Durable Objects read their settings from their own env, as in production, so tests of
 * other session settings run in a project of their own with those variables bound: the files
 * under `test/<project name>/`.
 */
const SETTINGS_PROJECTS: Record<string, Record<string, string>> = {
  // No grace, reuse revokes one session, a one-minute idle limit inside a five-minute session (so
  // a few refreshes reach the absolute limit while the session is in use).
  "strict-sessions": {
    REFRESH_REUSE_GRACE_SECONDS: "0",
    REUSE_REVOKES: "session",
    REFRESH_IDLE_TTL_SECONDS: "60",
    SESSION_MAX_TTL_SECONDS: "300",
  },
  // Low login limits, so that each can be reached in a few attempts: 3 failures of one username
  // from one address, 6 of one username from anywhere, 8 from one address.
  "login-limits": {
    LOGIN_MAX_FAILURES_PER_USERNAME_AND_IP: "3",
    LOGIN_MAX_FAILURES_PER_USERNAME: "6",
    LOGIN_MAX_FAILURES_PER_IP: "8",
    LOGIN_FAILURE_WINDOW_SECONDS: "900",
  },
  // A deployment too large to audit every rotation: security events only.
  "large-deployment": {
    AUDIT_REFRESH_EVENTS: "false",
  },
  // Every session bound to a DPoP key.
  "dpop-required": {
    DPOP: "required",
  },
  // Sessions that never expire, and a longer grace window.
  "unlimited-sessions": {
    REFRESH_IDLE_TTL_SECONDS: "0",
    SESSION_MAX_TTL_SECONDS: "0",
    REFRESH_REUSE_GRACE_SECONDS: "60",
  },
};

export default defineConfig(async () => {
  // The worker serves the demo's script with the client bundled in: build it from the current source.
  await buildDemoScript();
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  const signingKeys = await testSigningKeys();

  const project = (name: string, include: string[], exclude: string[], vars: Record<string, string>): TestProjectInlineConfiguration => ({
    extends: false,
    plugins: [
      cloudflareTest(async ({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ...blankedDevVars(),
            ...vars,
            TEST_MIGRATIONS: migrations,
            SIGNING_KEYS: signingKeys,
            ADMIN_API_TOKEN: "test-admin-token",
            // A real HTTP origin on 127.0.0.1 that records what the gateway forwards (test/origin-server.mjs).
            TEST_ORIGIN_URL: inject<string>("originUrl"),
          },
        },
      })),
    ],
    test: {
      name,
      include,
      exclude,
      globalSetup: ["./test/origin-server.mjs"],
      setupFiles: ["./test/apply-migrations.ts"],
      testTimeout: 30_000,
      // Each Vitest worker is a workerd (Miniflare) with its own in-memory D1 and Durable Objects.
      // Without isolation a worker runs test files one after another instead of starting a new
      // workerd (about a second) per file. The files share that worker's storage, which is safe
      // because every test uses its own user ids, usernames and client addresses, and a worker
      // runs one file at a time: test/schema.test.ts (drops the tables and re-creates them) and
      // withD1TableOffline (renames a table for a moment) never overlap another file's tests.
      isolate: false,
      // Two workers, each with its own storage, whatever the core count (the default is one fewer
      // than the cores: a single worker on a 2-core machine). Much of the tests' time is waiting
      // for a Durable Object, D1 or the test origin, so two overlap well even on two cores.
      maxWorkers: 2,
    },
  });

  const settingsDirs = Object.keys(SETTINGS_PROJECTS).map((name) => `test/${name}/**`);
  return {
    test: {
      projects: [
        // test/client/ runs in Node (below); test/e2e/ is `npm run test:e2e`, against wrangler dev.
        project("default", ["test/**/*.test.ts"], [...settingsDirs, "test/client/**", "test/e2e/**", "test/scripts/**"], {}),
        ...Object.entries(SETTINGS_PROJECTS).map(([name, vars]) => project(name, [`test/${name}/**/*.test.ts`], [], vars)),
        // The browser client's logic in plain Node, against a fake gateway and fake browser APIs.
        { extends: false, test: { name: "client", include: ["test/client/**/*.test.ts"], environment: "node" } },
        // The scripts behind npm run dev, keys and deploy (scripts/), in Node as they run.
        { extends: false, test: { name: "scripts", include: ["test/scripts/**/*.test.mjs"], environment: "node" } },
      ],
    },
  };
});

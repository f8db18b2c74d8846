import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { build } from "esbuild";
import { exportJWK, generateKeyPair } from "jose";
import { unstable_readConfig } from "wrangler";
import type { TestCase, TestModule, TestSuite } from "vitest/node";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";
import { buildDemoScript } from "./scripts/lib/build-client.mjs";
import { ExpectedOutput } from "./test/expected-output.ts";
import { TEST_ORIGIN_SIGNING_SECRET } from "./test/origin-signing-secret.mjs";
import { federationVars } from "./test/federation/settings.ts";

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
  // Five sessions per user, so that what a login loop leaves behind is measured in a few hundred logins.
  "session-cap": {
    MAX_SESSIONS_PER_USER: "5",
  },
  // Sessions that never expire, and a longer grace window.
  "unlimited-sessions": {
    REFRESH_IDLE_TTL_SECONDS: "0",
    SESSION_MAX_TTL_SECONDS: "0",
    REFRESH_REUSE_GRACE_SECONDS: "60",
  },
};

/**
 * Test projects of their own that need more than variables: `webhooks` delivers to the project's
 * webhook receiver (test/webhook-receiver.mjs); `queue-batching`, where D1 calls per refresh are
 * counted, batches as deployed (100 messages a batch) but waits up to 60 s (the Queues maximum)
 * for a batch to fill instead of 5 s, so that how fast this machine refreshes cannot change the
 * count: its tests send whole batches.
 */
const WEBHOOKS_PROJECT = "webhooks";
const BATCHING_PROJECT = "queue-batching";

/**
 * The queue consumers of a worker config as the tests run them (Miniflare's options). By default
 * the local queue delivers at once (max_batch_timeout 0), so a test waits for nothing but the
 * work, and a message the consumer retries is dropped rather than delivered again after its
 * delay (30 s or more, in some later test): a test that needs the retry hands it to the consumer
 * itself (`redeliver` in test/queue-ledger.ts). `wholeBatches` waits for full batches instead.
 */
function testQueueConsumers(configPath: string, { wholeBatches = false } = {}) {
  const consumers = unstable_readConfig({ config: configPath }).queues.consumers ?? [];
  return Object.fromEntries(
    consumers.map((consumer) => [consumer.queue, { maxBatchSize: consumer.max_batch_size, maxBatchTimeout: wholeBatches ? 60 : 0, maxRetries: 0 }]),
  );
}

/**
 * What the bench worker (bench/wrangler.toml) must share with the production worker, read from
 * both configs for test/bench/worker.test.ts: the variables, the runtime version and flags, the D1
 * migrations. test/settings-table.test.ts holds the production variables to the settings table.
 */
function benchAndProductionConfigs() {
  const pick = (configPath: string) => {
    const config = unstable_readConfig({ config: configPath });
    const migrations = path.resolve(path.dirname(configPath), config.d1_databases[0]?.migrations_dir ?? "migrations");
    return {
      vars: config.vars as Record<string, string>,
      queues: {
        producers: (config.queues.producers ?? []).map(({ binding }) => binding),
        consumers: (config.queues.consumers ?? []).map(({ queue: _name, ...settings }) => settings),
      },
      compatibilityDate: config.compatibility_date,
      compatibilityFlags: config.compatibility_flags,
      migrationsDir: path.relative(import.meta.dirname, migrations),
    };
  };
  return { production: pick("./wrangler.toml"), bench: pick("./bench/wrangler.toml") };
}

/**
 * An auxiliary worker of a service-binding project, bundled as one module: Miniflare runs
 * auxiliary workers as they are, without Vite. The Worker origin of the origin-binding project
 * (test/origin-binding/origin-worker.ts) and the claims hook of the claims-binding project
 * (test/claims-binding/claims-worker.ts) verify with the origin SDK.
 */
async function workerScript(...segments: string[]): Promise<string> {
  const entry = path.join(import.meta.dirname, ...segments);
  const result = await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "neutral", target: "es2022", write: false, logLevel: "error" });
  return result.outputFiles[0]!.text;
}

// The lines tests cause on purpose (test/expected-output.ts) are hidden and counted, and one line
// at the end says how many; SHOW_EXPECTED_OUTPUT=1 prints them.
const expected = new ExpectedOutput(!process.env.SHOW_EXPECTED_OUTPUT);
const sources = new Map<string, string | undefined>();

/** The source of the test file a console message came from, if Vitest says which. */
function sourceOf(entity: TestModule | TestCase | TestSuite | undefined): string | undefined {
  const file = entity === undefined ? undefined : "moduleId" in entity ? entity.moduleId : entity.module.moduleId;
  if (file === undefined) return undefined;
  if (!sources.has(file)) sources.set(file, existsSync(file) ? readFileSync(file, "utf8") : undefined);
  return sources.get(file);
}

// workerd's and wrangler's own output does not pass through Vitest: the pool writes each message
// of theirs to this process's stdout in one write. Only writes that match an expected message
// exactly are dropped; the guard keeps a second evaluation of this file from wrapping twice.
const WRAPPED = Symbol.for("edge-auth-gateway.expected-output");
const stdout = process.stdout as typeof process.stdout & { [WRAPPED]?: true };
if (!stdout[WRAPPED]) {
  const write = stdout.write.bind(stdout) as (...args: unknown[]) => boolean;
  stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === "string" && expected.isExpectedRuntimeOutput(chunk)) return true;
    return write(chunk, ...rest);
  }) as typeof stdout.write;
  stdout[WRAPPED] = true;
}

export default defineConfig(async () => {
  // The worker serves the demo's script with the client bundled in: build it from the current source.
  await buildDemoScript();
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  const signingKeys = await testSigningKeys();
  const workerConfigs = benchAndProductionConfigs();

  const project = (
    name: string,
    include: string[],
    exclude: string[],
    vars: Record<string, string> | ((inject: <T>(key: string) => T) => Record<string, string>),
    {
      configPath = "./wrangler.toml",
      provide = {},
      miniflare = {},
      injected = () => ({}),
      setupFiles = [],
      globalSetup = [],
    }: {
      configPath?: string;
      provide?: Record<string, unknown>;
      miniflare?: Record<string, unknown>;
      /** Bindings made of what a globalSetup provides (the URL of a server it started). */
      injected?: (inject: <T>(key: string) => T) => Record<string, string>;
      /** setupFiles besides the migrations'. */
      setupFiles?: string[];
      /** globalSetup files besides the recording origin's. */
      globalSetup?: string[];
    } = {},
  ): TestProjectInlineConfiguration => ({
    extends: false,
    plugins: [
      cloudflareTest(async ({ inject }) => ({
        wrangler: { configPath },
        miniflare: {
          bindings: {
            ...blankedDevVars(),
            ...(typeof vars === "function" ? vars(inject as <T>(key: string) => T) : vars),
            TEST_MIGRATIONS: migrations,
            SIGNING_KEYS: signingKeys,
            ADMIN_API_TOKEN: "test-admin-token",
            // A real HTTP origin on 127.0.0.1 that records what the gateway forwards and checks
            // its signature (test/origin-server.mjs): every forwarded request is signed.
            TEST_ORIGIN_URL: inject<string>("originUrl"),
            ORIGIN_SIGNING_SECRET: TEST_ORIGIN_SIGNING_SECRET,
            TEST_ORIGIN_SIGNING_SECRET,
            ...injected(inject as <T>(key: string) => T),
            // The project's webhook receiver (test/webhook-receiver.mjs); only the webhooks project sends to it.
            TEST_WEBHOOK_RECEIVER: inject<string>("webhookUrl"),
            ...(name === WEBHOOKS_PROJECT ? { WEBHOOK_URL: `${inject<string>("webhookUrl")}/hook`, WEBHOOK_SECRET: inject<string>("webhookSecret") } : {}),
          },
          queueConsumers: testQueueConsumers(configPath, { wholeBatches: name === BATCHING_PROJECT }),
          ...miniflare,
        },
      })),
    ],
    test: {
      name,
      include,
      exclude,
      provide,
      globalSetup: ["./test/origin-server.mjs", "./test/webhook-receiver.mjs", ...globalSetup],
      setupFiles: ["./test/apply-migrations.ts", "./test/queue-setup.ts", ...setupFiles],
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

  const ownProjectDirs = [...Object.keys(SETTINGS_PROJECTS), WEBHOOKS_PROJECT, BATCHING_PROJECT, "pwned-passwords", "bench", "origin-binding", "origin", "federation", "claims-hook", "claims-binding"].map((name) => `test/${name}/**`);
  return {
    test: {
      onConsoleLog: (log, _type, entity) => !expected.isExpectedLog(log, sourceOf(entity)),
      reporters: [
        "default",
        {
          onTestRunEnd() {
            const summary = expected.summary();
            if (summary) console.log(summary);
          },
        },
      ],
      projects: [
        // test/client/ runs in Node (below); test/e2e/ is `npm run test:e2e`, against wrangler dev.
        project("default", ["test/**/*.test.ts"], [...ownProjectDirs, "test/client/**", "test/e2e/**", "test/scripts/**"], {}, { provide: { workerConfigs } }),
        ...Object.entries(SETTINGS_PROJECTS).map(([name, vars]) => project(name, [`test/${name}/**/*.test.ts`], [], vars)),
        ...[WEBHOOKS_PROJECT, BATCHING_PROJECT].map((name) => project(name, [`test/${name}/**/*.test.ts`], [], {})),
        // Sign-in through upstream OpenID providers started on 127.0.0.1 (test/idp-servers.mjs): a
        // real one and a misbehaving one, and the gateway's own OAuth clients (test/federation/settings.ts).
        project("federation", ["test/federation/**/*.test.ts"], [], federationVars, { globalSetup: ["./test/idp-servers.mjs"] }),
        // Breached passwords against a range API on 127.0.0.1 (test/pwned-range-server.mjs), in
        // block mode (tests change the mode and the API's behaviour per call), with the webhook
        // receiver for the reset links.
        project(
          "pwned-passwords",
          ["test/pwned-passwords/**/*.test.ts"],
          [],
          (inject) => ({
            PWNED_PASSWORDS: "block",
            PWNED_PASSWORDS_URL: `${inject<string>("pwnedUrl")}/ok/range/`,
            TEST_PWNED_URL: inject<string>("pwnedUrl"),
            WEBHOOK_URL: `${inject<string>("webhookUrl")}/hook`,
            WEBHOOK_SECRET: inject<string>("webhookSecret"),
          }),
          { globalSetup: ["./test/pwned-range-server.mjs"] },
        ),
        // The bench worker (bench/worker.ts, bench/wrangler.toml): the production worker plus the
        // routes `npm run bench` measures against.
        project("bench", ["test/bench/**/*.test.ts"], [], {}, {
          configPath: "./bench/wrangler.toml",
          provide: { workerConfigs },
          setupFiles: ["./test/bench/queue-setup.ts"],
        }),
        // A Worker origin behind the service binding ORIGIN: an auxiliary worker of the same
        // workerd, with the signing secret of its own binding.
        project("origin-binding", ["test/origin-binding/**/*.test.ts"], [], {}, {
          miniflare: {
            serviceBindings: { ORIGIN: "origin-worker" },
            workers: [
              {
                name: "origin-worker",
                modules: true,
                script: await workerScript("test", "origin-binding", "origin-worker.ts"),
                compatibilityDate: "2026-11-01",
                bindings: { ORIGIN_SIGNING_SECRET: TEST_ORIGIN_SIGNING_SECRET },
              },
            ],
          },
        }),
        // A claims hook on 127.0.0.1 (test/claims-hook-server.mjs) that checks the signature of
        // every call: CLAIMS_HOOK_URL points at it, so the user's objects hand out hook calls.
        project("claims-hook", ["test/claims-hook/**/*.test.ts"], [], {}, {
          globalSetup: ["./test/claims-hook-server.mjs"],
          injected: (inject) => ({ CLAIMS_HOOK_URL: `${inject<string>("claimsHookUrl")}/hook?v=1`, TEST_CLAIMS_HOOK_URL: inject<string>("claimsHookUrl") }),
        }),
        // A claims hook that is a Worker behind the service binding CLAIMS: an auxiliary worker of
        // the same workerd, with no URL, checking the signature with the secret of its own binding.
        project("claims-binding", ["test/claims-binding/**/*.test.ts"], [], {}, {
          miniflare: {
            serviceBindings: { CLAIMS: "claims-worker" },
            workers: [
              {
                name: "claims-worker",
                modules: true,
                script: await workerScript("test", "claims-binding", "claims-worker.ts"),
                compatibilityDate: "2026-11-01",
                bindings: { ORIGIN_SIGNING_SECRET: TEST_ORIGIN_SIGNING_SECRET },
              },
            ],
          },
        }),
        // The origin SDK (src/origin, `edge-auth-gateway/origin`) in Node, as an Express or plain
        // http origin runs it, against requests signed by the gateway's own signing code.
        { extends: false, test: { name: "origin", include: ["test/origin/**/*.test.{ts,mjs}"], environment: "node" } },
        // The browser client's logic in plain Node, against a fake gateway and fake browser APIs.
        { extends: false, test: { name: "client", include: ["test/client/**/*.test.ts"], environment: "node" } },
        // The scripts behind npm run dev, keys and deploy (scripts/), in Node as they run.
        { extends: false, test: { name: "scripts", include: ["test/scripts/**/*.test.mjs"], environment: "node" } },
      ],
    },
  };
});

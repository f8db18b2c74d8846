import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    // Test-only bindings, added in vitest.config.ts. The worker's own (and `exports.default`'s
    // type) come from worker-configuration.d.ts, which `npm run types` generates.
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      TEST_ORIGIN_URL: string;
      TEST_ORIGIN_SIGNING_SECRET: string;
      /** The federation project's upstream providers (test/idp-servers.mjs). */
      TEST_IDP_URL: string;
      TEST_FAKE_IDP_URL: string;
      /** The claims hook on 127.0.0.1 (test/claims-hook-server.mjs): bound in the claims-hook project only. */
      TEST_CLAIMS_HOOK_URL?: string;
      /** The claims hook Worker (test/claims-binding/claims-worker.ts): bound in the claims-binding project only. */
      CLAIMS?: Fetcher;
      /** The project's webhook receiver (test/webhook-receiver.mjs), without a path. */
      TEST_WEBHOOK_RECEIVER: string;
      /** The breached-password range API (test/pwned-range-server.mjs): bound in the pwned-passwords project only. */
      TEST_PWNED_URL?: string;
    }
  }
}

declare module "vitest" {
  // vitest.config.ts provides it to the default and bench projects.
  interface ProvidedContext {
    /** test/webhook-receiver.mjs: the receiver's origin and the secret it verifies with. */
    webhookUrl: string;
    webhookSecret: string;
    workerConfigs: Record<"production" | "bench", {
      vars: Record<string, string>;
      queues: { producers: string[]; consumers: Array<Record<string, unknown>> };
      compatibilityDate: string | undefined;
      compatibilityFlags: string[];
      migrationsDir: string;
    }>;
  }
}

import type { D1Migration } from "cloudflare:test";
import type { Env as GatewayEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    // Test-only bindings, added in vitest.config.ts.
    interface Env extends GatewayEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** The project's webhook receiver (test/webhook-receiver.mjs), without a path. */
      TEST_WEBHOOK_RECEIVER: string;
    }
    // Types `exports.default` from "cloudflare:workers" as the worker's own default export.
    interface GlobalProps {
      mainModule: typeof import("../src/index");
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

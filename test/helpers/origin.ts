// The recording origin (test/origin-server.mjs): what the gateway forwarded, as it arrived, and
// whether its signature verified there.
import { env } from "cloudflare:workers";
import { expect } from "vitest";

/** What a verification of the gateway's signature came to: the identity, or the error code. */
export type SignatureOutcome = { user: string | null; session: string | null } | { code: string };

/** A request as the recording origin (test/origin-server.mjs) received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  search: string;
  query: Record<string, string[]>;
  /** Every header but `x-auth-timestamp` and `x-auth-signature`, which are under `signature`. */
  headers: Record<string, string>;
  body: string;
  bodyBase64: string;
  /** The gateway's signature headers as received, and what the origin SDK's check of them said. */
  signature: {
    timestamp: string | null;
    value: string | null;
    outcome: SignatureOutcome;
    /** With `X-Test-Verify-Python: 1`: what examples/verify_gateway.py said. */
    python?: SignatureOutcome | "unavailable";
  };
}

/** The real HTTP origin on 127.0.0.1 started by the Vitest globalSetup (test-only binding). */
export const TEST_ORIGIN_URL = env.TEST_ORIGIN_URL;

/** The ORIGIN_SIGNING_SECRET every workerd project binds, which the recording origin verifies with. */
export const TEST_ORIGIN_SIGNING_SECRET = env.TEST_ORIGIN_SIGNING_SECRET;

/**
 * A corner of the recording origin of its own: `url` is the ORIGIN_URL to give the gateway (it
 * carries a base path that the origin strips again), `requests()` is what reached it, oldest first.
 *
 * The origin checks every request's signature, over the path and query exactly as it arrived, and
 * `requests()` fails unless each one verified: every request a test forwards is proven to have come
 * from the gateway. With `{ signed: false }` (a test that turns ORIGIN_SIGNING_SECRET off) it fails
 * unless none carried a signature.
 */
export function recordingOrigin({ signed = true }: { signed?: boolean } = {}) {
  const id = crypto.randomUUID();
  return {
    url: `${TEST_ORIGIN_URL}/scope/${id}`,
    async requests(): Promise<RecordedRequest[]> {
      const received: RecordedRequest[] = await (await fetch(`${TEST_ORIGIN_URL}/__log/${id}`)).json();
      for (const entry of received) {
        const where = `${entry.method} ${entry.path}${entry.search}`;
        if (signed) expect(entry.signature.outcome, `the signature of ${where}`).not.toHaveProperty("code");
        else expect(entry.signature, `the signature headers of ${where}`).toMatchObject({ timestamp: null, value: null, outcome: { code: "missing" } });
      }
      return received;
    },
  };
}

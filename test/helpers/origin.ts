// The recording origin (test/origin-server.mjs): what the gateway forwarded, as it arrived.
import { env } from "cloudflare:workers";

/** A request as the recording origin (test/origin-server.mjs) received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  search: string;
  query: Record<string, string[]>;
  headers: Record<string, string>;
  body: string;
  bodyBase64: string;
}

/** The real HTTP origin on 127.0.0.1 started by the Vitest globalSetup (test-only binding). */
export const TEST_ORIGIN_URL = env.TEST_ORIGIN_URL;

/**
 * A corner of the recording origin of its own: `url` is the ORIGIN_URL to give the gateway (it
 * carries a base path that the origin strips again), `requests()` is what reached it, oldest first.
 */
export function recordingOrigin() {
  const id = crypto.randomUUID();
  return {
    url: `${TEST_ORIGIN_URL}/scope/${id}`,
    async requests(): Promise<RecordedRequest[]> {
      return (await fetch(`${TEST_ORIGIN_URL}/__log/${id}`)).json();
    },
  };
}

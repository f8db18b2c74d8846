// The tests' side of the project's webhook receiver (test/webhook-receiver.mjs, in Node), which
// checks each delivery with the `standardwebhooks` library.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { openSession, pairOf, refresh, type TokenResponse } from "./helpers";
import type { WebhookBody } from "../src/wire";

/** One request that reached the receiver's `/hook`, and what `standardwebhooks` said of it. */
export interface Delivery {
  id: string;
  timestamp: string;
  signature: string;
  headers: Record<string, string>;
  body: string;
  payload: WebhookBody;
  verified: boolean;
  problem: string | null;
  answered: number;
}

/** The receiver's address for a path: `/hook`, `/hook/status/500`, ... */
export function receiverUrl(path: string): URL {
  return new URL(path, env.TEST_WEBHOOK_RECEIVER);
}

/** What reached the receiver about a user (their data's `sub` or `user_id`), oldest first. */
export async function deliveriesAbout(subject: string): Promise<Delivery[]> {
  return (await fetch(receiverUrl(`/__deliveries?subject=${encodeURIComponent(subject)}`))).json();
}

/** Makes the receiver answer deliveries about `subject` with `status`, or with its usual 204 again (null). */
export async function receiverAnswers(subject: string, status: number | null): Promise<void> {
  const response = await fetch(receiverUrl("/__rules"), { method: "POST", body: JSON.stringify({ subject, status }) });
  expect(response.status).toBe(204);
}

/** How many bytes the receiver's last huge answer wrote before the sender closed the connection. */
export async function hugeAnswerWritten(): Promise<number> {
  return ((await (await fetch(receiverUrl("/__huge"))).json()) as { written: number }).written;
}

/**
 * A `refresh_token_reuse` of `sub`'s session: rotated twice, then its first token presented again
 * (two generations back, past the grace rule). Returns the session's first pair.
 */
export async function reuseOf(sub: string): Promise<TokenResponse> {
  const first = await openSession(sub);
  const second = await pairOf(await refresh(first.refresh_token));
  await pairOf(await refresh(second.refresh_token));
  expect((await refresh(first.refresh_token)).status).toBe(400);
  return first;
}

import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEV_INBOX_SIZE } from "../../src/events/dev-inbox";
import type { EventMessage } from "../../src/events/messages";
import worker from "../../src/index";
import { call, expectError, uniqueSub, type Vars } from "../helpers";
import { redeliver } from "../queue-ledger";

// The demo's dev inbox: what the queue's consumer logged of messages to users in local dev
// (DEV_MESSAGE_LOG on, no WEBHOOK_URL), shown at /demo/inbox with DEMO on, and nowhere else.

// The consumer logs each message it keeps (the dev message log): expected here, not shown.
beforeEach(() => void vi.spyOn(console, "log").mockImplementation(() => {}));
afterEach(() => vi.restoreAllMocks());

const LOCAL_DEV: Vars = { DEMO: "true", DEV_MESSAGE_LOG: "true" };

function codeMessage(sub: string, code: string): EventMessage {
  const data = { to: "ada@example.com", user_id: sub, code, expires_at: new Date(Date.now() + 600_000).toISOString() };
  return { kind: "webhook", webhook: { id: `msg_${crypto.randomUUID()}`, type: "message.email_verification", timestamp: new Date().toISOString(), data } };
}

/** Hands the consumer the messages, as the EVENTS queue would in local dev. */
async function consumedInDev(bodies: EventMessage[]) {
  await redeliver(worker as never, bodies.map((body) => ({ queue: "edge-auth-gateway-events", body, attempts: 0, outcome: "retry" as const })), { ...env, DEV_MESSAGE_LOG: "true" } as never);
}

async function inbox(vars: Vars = LOCAL_DEV) {
  const response = await call("/demo/inbox", {}, vars);
  expect(response.status).toBe(200);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  return ((await response.json()) as { messages: Array<{ id: string; type: string; data: { user_id: string; code?: string } }> }).messages;
}

describe("the dev inbox (GET /demo/inbox)", () => {
  it("shows the messages the consumer logged in local dev, newest first, once each", async () => {
    const sub = uniqueSub("inbox");
    const first = codeMessage(sub, "111111");
    const second = codeMessage(sub, "222222");
    await consumedInDev([first, second]);
    await consumedInDev([first]);
    const mine = (await inbox()).filter((message) => message.data.user_id === sub);
    expect(mine.map((message) => message.data.code)).toEqual(["222222", "111111"]);
    expect(mine[0]).toMatchObject({ type: "message.email_verification", id: (second as { webhook: { id: string } }).webhook.id });
  });

  it(`keeps only the newest ${DEV_INBOX_SIZE}`, async () => {
    await consumedInDev(Array.from({ length: DEV_INBOX_SIZE + 5 }, (_, index) => codeMessage(uniqueSub("inbox-cap"), String(100000 + index))));
    expect(await inbox()).toHaveLength(DEV_INBOX_SIZE);
  });

  it("is an ordinary gateway path without DEMO, without DEV_MESSAGE_LOG, or with a webhook receiver", async () => {
    await expectError(await call("/demo/inbox", {}, { DEV_MESSAGE_LOG: "true" }), 401, "unauthorized");
    await expectError(await call("/demo/inbox", {}, { DEMO: "true" }), 401, "unauthorized");
    await expectError(await call("/demo/inbox", {}, { ...LOCAL_DEV, WEBHOOK_URL: "https://hooks.example.com/", WEBHOOK_SECRET: `whsec_${btoa("k".repeat(32))}` }), 401, "unauthorized");
  });

  it("has the page say whether it shows the inbox", async () => {
    expect(await (await call("/demo", {}, LOCAL_DEV)).text()).toContain('data-dev-inbox="true"');
    expect(await (await call("/demo", {}, { DEMO: "true" })).text()).toContain('data-dev-inbox="false"');
  });
});

import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { auditEvent } from "../src/db/events";
import { ensureSchema } from "../src/db/schema";
import type { EventMessage } from "../src/events/messages";
import { DEAD_LETTER_RETRY_SECONDS } from "../src/events/retry-schedule";
import worker from "../src/index";
import { d1CallsDuring, eventsOf, uniqueSub, withD1TableOffline, type Vars } from "./helpers";
import { redeliver, type Handled } from "./queue-ledger";

// The queue's consumer (src/events/consumer.ts) on batches made here, as the queue would deliver
// them: the real handler, the real D1, this project's settings (no WEBHOOK_URL) or those given.

const QUEUE = "edge-auth-gateway-events";
const DEAD_LETTERS = "edge-auth-gateway-events-dlq";

let logged: Array<{ level: string; line: string }> = [];
beforeEach(() => {
  logged = [];
  for (const level of ["log", "info", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push({ level, line: args.map(String).join(" ") }));
  }
});
afterEach(() => vi.restoreAllMocks());

/** Hands the consumer one batch of `bodies` on `queue`, first delivery each, with the project's env and `vars` over it. */
function consume(bodies: EventMessage[], { queue = QUEUE, vars = {} }: { queue?: string; vars?: Vars } = {}): Promise<Handled[]> {
  const deliveries = bodies.map((body) => ({ queue, body, attempts: 0, outcome: "retry" as const }));
  return redeliver(worker as never, deliveries, { ...env, ...vars } as never);
}

function resetMessage(sub: string, token: string): EventMessage {
  const data = { to: "ada@example.com", user_id: sub, token, expires_at: new Date(Date.now() + 1_800_000).toISOString() };
  return { kind: "webhook", webhook: { id: `msg_${crypto.randomUUID()}`, type: "message.password_reset", timestamp: new Date().toISOString(), data } };
}

function eventMessage(sub: string, type: "refresh" | "logout" = "refresh"): EventMessage {
  return { kind: "event", event: auditEvent({ type, sub, session_id: crypto.randomUUID(), at: Date.now(), ip: null, detail: null }) };
}

describe("the queue's consumer", () => {
  it("writes a whole batch of events and session records in one D1 call, and acknowledges each", async () => {
    const sub = uniqueSub("batch");
    const bodies: EventMessage[] = Array.from({ length: 99 }, () => eventMessage(sub));
    const record = { id: crypto.randomUUID(), user_id: sub, created_at: Date.now(), last_used_at: Date.now(), expires_at: null, revoked_at: null, revoked_reason: null, user_agent: null, ip: null, rotation_count: 0 };
    bodies.push({ kind: "session", record, version: 1 });
    await ensureSchema(env.DB);
    let handled: Handled[] = [];
    expect(await d1CallsDuring(async () => (handled = await consume(bodies)))).toBe(1);
    expect(handled.map((entry) => entry.outcome)).toEqual(Array(100).fill("ack"));
    expect(await eventsOf(sub)).toHaveLength(99);
    // Written again (a retried batch, an outbox sent twice): nothing changes.
    await consume(bodies);
    expect(await eventsOf(sub)).toHaveLength(99);
  });

  it("retries every D1 message of a batch D1 refused, within 30 s, and logs only D1's message", async () => {
    const sub = uniqueSub("refused");
    let handled: Handled[] = [];
    await withD1TableOffline("events", async () => {
      handled = await consume([eventMessage(sub), eventMessage(sub, "logout")]);
    });
    expect(handled.map((entry) => entry.outcome)).toEqual(["retry", "retry"]);
    for (const { delaySeconds } of handled) expect(delaySeconds).toBeGreaterThanOrEqual(15), expect(delaySeconds).toBeLessThanOrEqual(30);
    expect(logged).toEqual([{ level: "warn", line: "D1 write failed, 2 queue messages retried: D1_ERROR: no such table: events: SQLITE_ERROR" }]);
    expect(await eventsOf(sub)).toEqual([]);
  });

  it("without WEBHOOK_URL in local dev (DEV_MESSAGE_LOG), writes a message to a user to the log, marked dev-only: the one place its token is logged", async () => {
    const token = `reset-${crypto.randomUUID()}`;
    const handled = await consume([resetMessage(uniqueSub(), token)], { vars: { DEV_MESSAGE_LOG: "true" } });
    expect(handled.map((entry) => entry.outcome)).toEqual(["ack"]);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe("log");
    expect(logged[0]!.line).toMatch(/^\[dev only: DEV_MESSAGE_LOG, never in production\] message\.password_reset \{/);
    expect(logged[0]!.line).toContain(token);
  });

  it("without WEBHOOK_URL otherwise (production, and the tests' default), drops a webhook with a warning that holds no token", async () => {
    const token = `reset-${crypto.randomUUID()}`;
    const message = resetMessage(uniqueSub(), token);
    const handled = await consume([message]);
    expect(handled.map((entry) => entry.outcome)).toEqual(["ack"]);
    expect(logged).toEqual([{ level: "warn", line: `webhook ${(message as { webhook: { id: string } }).webhook.id} (message.password_reset) dropped: WEBHOOK_URL is unset` }]);
    expect(JSON.stringify(logged)).not.toContain(token);
  });

  it("with a bad setting, retries every message and says which setting, once", async () => {
    const vars = { WEBHOOK_EVENTS: "refresh,nonsense" };
    const first = await consume([eventMessage(uniqueSub())], { vars });
    await consume([eventMessage(uniqueSub())], { vars });
    expect(first.map((entry) => entry.outcome)).toEqual(["retry"]);
    expect(logged.filter((entry) => entry.line.startsWith("server_misconfigured: WEBHOOK_EVENTS entries must be audit event types"))).toHaveLength(1);
  });

  it("acknowledges a message it cannot read rather than retrying it for ever", async () => {
    const handled = await consume([{ kind: "something else" } as unknown as EventMessage]);
    expect(handled.map((entry) => entry.outcome)).toEqual(["ack"]);
    expect(logged).toEqual([{ level: "error", line: expect.stringMatching(/^queue message \S+ of unknown kind dropped$/) }]);
  });
});

describe("the dead-letter queue's consumer", () => {
  it("logs a webhook that ran out of retries by id and type only, and drops it", async () => {
    const token = `reset-${crypto.randomUUID()}`;
    const message = resetMessage(uniqueSub(), token);
    const handled = await consume([message], { queue: DEAD_LETTERS });
    expect(handled.map((entry) => entry.outcome)).toEqual(["ack"]);
    const id = (message as { webhook: { id: string } }).webhook.id;
    expect(logged).toEqual([{ level: "error", line: `webhooks dead-lettered after every retry, dropped: ${id} (message.password_reset)` }]);
  });

  it("still writes D1 messages, and while D1 refuses them tries again hourly", async () => {
    const sub = uniqueSub("dead");
    let refused: Handled[] = [];
    await withD1TableOffline("events", async () => {
      refused = await consume([eventMessage(sub)], { queue: DEAD_LETTERS });
    });
    expect(refused).toMatchObject([{ outcome: "retry", delaySeconds: DEAD_LETTER_RETRY_SECONDS }]);
    expect((await consume([refused[0]!.body], { queue: DEAD_LETTERS })).map((entry) => entry.outcome)).toEqual(["ack"]);
    expect(await eventsOf(sub)).toHaveLength(1);
  });
});

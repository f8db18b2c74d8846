import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, inject, it, vi } from "vitest";
import { userMessage } from "../../src/events/messages";
import { FIRST_RETRY_SECONDS } from "../../src/events/retry-schedule";
import {
  drainEvents,
  eventsOf,
  queueMark,
  redeliverRetries,
  retriedSince,
  uniqueSub,
  userAuthStub,
  withD1TableOffline,
} from "../helpers";
import { deliveriesAbout, receiverAnswers, reuseOf } from "../webhook-receiver-client";

// WEBHOOK_URL is this project's receiver (test/webhook-receiver.mjs), which checks every delivery
// with the `standardwebhooks` library; WEBHOOK_SECRET is the secret it verifies with, and
// WEBHOOK_EVENTS is the default (vitest.config.ts, "webhooks").

let logged: string[] = [];
beforeEach(() => {
  logged = [];
  for (const level of ["log", "info", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
  }
});
afterEach(() => vi.restoreAllMocks());

/** Puts a message to a user in the user's outbox, as a route of the user's object would, and lets it drain. */
async function sendMessage(sub: string, data: Parameters<typeof userMessage>[1]) {
  const message = userMessage("message.password_reset", data, Date.now());
  await runInDurableObject(userAuthStub(sub), async (_instance, state) => {
    state.storage.sql.exec("INSERT INTO outbox (entry) VALUES (?)", JSON.stringify({ kind: "message", message }));
    await state.storage.setAlarm(Date.now() + 30_000);
  });
  await drainEvents(sub);
  return message;
}

describe("webhooks", () => {
  it("sends a selected audit event signed as Standard Webhooks, which the standardwebhooks library verifies", async () => {
    const sub = uniqueSub("hook");
    await reuseOf(sub);
    await drainEvents(sub);

    const [delivery, ...more] = await deliveriesAbout(sub);
    expect(more).toEqual([]);
    expect(delivery!.problem).toBeNull();
    expect(delivery!.verified).toBe(true);
    expect(delivery!.headers["content-type"]).toBe("application/json");
    expect(delivery!.id).toMatch(/^evt_[0-9a-f-]{36}$/);
    expect(delivery!.signature).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    expect(Math.abs(Number(delivery!.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    // The body is {type, timestamp, data}, data the event as the admin listing shows it.
    const [event] = await eventsOf(sub, "refresh_token_reuse");
    expect(JSON.parse(delivery!.body)).toEqual({ type: "refresh_token_reuse", timestamp: event!.at, data: event });
    // Never the secret in any log line.
    expect(logged.join("\n")).not.toContain(inject("webhookSecret").slice("whsec_".length));
  });

  it("sends only the types WEBHOOK_EVENTS selects: the session opened and its rotations stay in D1 only", async () => {
    const sub = uniqueSub("hook-select");
    await reuseOf(sub);
    await drainEvents(sub);
    expect((await eventsOf(sub)).map((event) => event.type).sort()).toEqual(["refresh", "refresh", "refresh_token_reuse", "session_created"]);
    expect((await deliveriesAbout(sub)).map((delivery) => delivery.payload.type)).toEqual(["refresh_token_reuse"]);
  });

  it("always sends a message to a user, never to D1, and logs neither its token nor its code", async () => {
    const sub = uniqueSub("hook-message");
    const token = `reset-${crypto.randomUUID()}`;
    const data = { to: "ada@example.com", user_id: sub, token, expires_at: new Date(Date.now() + 1_800_000).toISOString() };
    const message = await sendMessage(sub, data);

    const [delivery, ...more] = await deliveriesAbout(sub);
    expect(more).toEqual([]);
    expect(delivery!.verified).toBe(true);
    expect(delivery!.id).toBe(`msg_${message.id}`);
    expect(JSON.parse(delivery!.body)).toEqual({ type: "message.password_reset", timestamp: new Date(message.at).toISOString(), data });
    expect(await eventsOf(sub)).toEqual([]);
    expect(logged.join("\n")).not.toContain(token);
  });

  it("loses nothing while the receiver is down: the audit trail goes on, the webhook is retried with its id until it is taken", async () => {
    const sub = uniqueSub("hook-down");
    await receiverAnswers(sub, 503);
    const mark = queueMark();
    await reuseOf(sub);
    await drainEvents(sub);

    // D1 has the event although the receiver refused it: the two are separate messages.
    expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(1);
    const [retried, ...others] = retriedSince(mark);
    expect(others).toEqual([]);
    expect(retried!.body.kind).toBe("webhook");
    expect(retried!.delaySeconds).toBeGreaterThanOrEqual(FIRST_RETRY_SECONDS / 2);
    expect(retried!.delaySeconds).toBeLessThanOrEqual(FIRST_RETRY_SECONDS);
    // The failure is logged without the event.
    expect(logged).toContain("webhooks not delivered, retried later: 1 answered 503");

    // Down for two more attempts (the queue's redeliveries, handed over at once here), each
    // retried later than the one before, then up.
    const delays = [retried!.delaySeconds!];
    for (const attempt of [2, 3]) {
      const [again] = await redeliverRetries(mark);
      expect(again).toMatchObject({ outcome: "retry", attempts: attempt });
      delays.push(again!.delaySeconds!);
    }
    expect(delays[2]!).toBeGreaterThan(FIRST_RETRY_SECONDS);
    await receiverAnswers(sub, null);
    const [delivered] = await redeliverRetries(mark);
    expect(delivered).toMatchObject({ outcome: "ack", attempts: 4 });

    const deliveries = await deliveriesAbout(sub);
    expect(deliveries.map((delivery) => delivery.answered)).toEqual([503, 503, 503, 204]);
    // One webhook-id on every attempt, each attempt signed anew and verified.
    expect(new Set(deliveries.map((delivery) => delivery.id)).size).toBe(1);
    expect(deliveries.every((delivery) => delivery.verified)).toBe(true);
    expect(new Set(deliveries.map((delivery) => delivery.body)).size).toBe(1);
  });

  it("never sends a delivered webhook again while D1 refuses the event, and loses nothing once D1 is back", async () => {
    const sub = uniqueSub("hook-d1");
    const mark = queueMark();
    await withD1TableOffline("events", async () => {
      await reuseOf(sub);
      await drainEvents(sub);
    });
    const retried = retriedSince(mark);
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.every((entry) => entry.body.kind !== "webhook")).toBe(true);
    expect(await deliveriesAbout(sub)).toHaveLength(1);

    expect((await redeliverRetries(mark)).every((entry) => entry.outcome === "ack")).toBe(true);
    expect((await eventsOf(sub)).map((event) => event.type).sort()).toEqual(["refresh", "refresh", "refresh_token_reuse", "session_created"]);
    expect(await deliveriesAbout(sub)).toHaveLength(1);
  });
});

describe("the webhook settings of this project", () => {
  it("are the receiver's", () => {
    expect(env.WEBHOOK_URL).toBe(`${env.TEST_WEBHOOK_RECEIVER}/hook`);
    expect(env.WEBHOOK_SECRET).toBe(inject("webhookSecret"));
  });
});

import { describe, expect, inject, it } from "vitest";
import type { Webhook } from "../src/events/messages";
import { deliverWebhook, importWebhookKey, WEBHOOK_TIMEOUT_MS } from "../src/events/webhook-delivery";
import { deliveriesAbout, hugeAnswerWritten, receiverUrl } from "./webhook-receiver-client";

// One delivery attempt (src/events/webhook-delivery.ts) against this project's receiver
// (test/webhook-receiver.mjs), which verifies with the `standardwebhooks` library and the secret
// it provides, and answers as each path says.

const secretBytes = (secret: string) => Uint8Array.from(atob(secret.slice("whsec_".length)), (char) => char.charCodeAt(0));
const key = await importWebhookKey(secretBytes(inject("webhookSecret")));

function webhookAbout(subject: string): Webhook {
  const at = new Date().toISOString();
  return {
    id: `evt_${crypto.randomUUID()}`,
    type: "refresh_token_reuse",
    timestamp: at,
    data: { type: "refresh_token_reuse", sub: subject, session_id: crypto.randomUUID(), at, ip: null, detail: null },
  };
}

describe("the signature", () => {
  it("is the Standard Webhooks one: the standardwebhooks library verifies it with the secret, and refuses another key's", async () => {
    const subject = crypto.randomUUID();
    const webhook = webhookAbout(subject);
    await deliverWebhook(receiverUrl("/hook"), key, webhook, Date.now());
    const otherKey = await importWebhookKey(crypto.getRandomValues(new Uint8Array(32)));
    await deliverWebhook(receiverUrl("/hook"), otherKey, webhook, Date.now());
    const [signed, forged] = await deliveriesAbout(subject);
    expect(signed).toMatchObject({ id: webhook.id, verified: true, problem: null });
    expect(JSON.parse(signed!.body)).toEqual({ type: webhook.type, timestamp: webhook.timestamp, data: webhook.data });
    expect(forged).toMatchObject({ id: webhook.id, verified: false, problem: "No matching signature found" });
  });

  it("is made for the attempt: an attempt signed hours after the event still passes the receiver's 5-minute window", async () => {
    const subject = crypto.randomUUID();
    const webhook = { ...webhookAbout(subject), timestamp: new Date(Date.now() - 4 * 3_600_000).toISOString() };
    await deliverWebhook(receiverUrl("/hook"), key, webhook, Date.now());
    const [late] = await deliveriesAbout(subject);
    expect(late).toMatchObject({ verified: true });
    expect(Math.abs(Number(late!.timestamp) - Date.now() / 1000)).toBeLessThan(60);
  });
});

describe("one delivery attempt", () => {
  it("is delivered on a 2xx", async () => {
    const subject = crypto.randomUUID();
    const outcome = await deliverWebhook(receiverUrl("/hook"), key, webhookAbout(subject), Date.now());
    expect(outcome).toEqual({ delivered: true, status: 204 });
    expect(await deliveriesAbout(subject)).toHaveLength(1);
  });

  it("fails on any other answer, and reads the receiver's Retry-After", async () => {
    for (const status of [400, 404, 410, 500, 503]) {
      expect(await deliverWebhook(receiverUrl(`/hook/status/${status}`), key, webhookAbout("x"), Date.now()), String(status)).toEqual({
        delivered: false,
        reason: `answered ${status}`,
        retryAfterSeconds: null,
      });
    }
    expect(await deliverWebhook(receiverUrl("/hook/status/429?retry-after=120"), key, webhookAbout("x"), Date.now())).toEqual({
      delivered: false,
      reason: "answered 429",
      retryAfterSeconds: 120,
    });
  });

  it("fails on a redirect, which it does not follow", async () => {
    const subject = crypto.randomUUID();
    expect(await deliverWebhook(receiverUrl("/hook/redirect"), key, webhookAbout(subject), Date.now())).toMatchObject({ delivered: false, reason: "answered 307" });
    expect(await deliveriesAbout(subject)).toEqual([]);
  });

  it("never reads a huge answer: a 2xx is delivered at once, the rest of the body is not fetched", async () => {
    const started = Date.now();
    expect(await deliverWebhook(receiverUrl("/hook/huge"), key, webhookAbout("x"), Date.now())).toEqual({ delivered: true, status: 200 });
    expect(Date.now() - started).toBeLessThan(5_000);
    // The receiver could write what the connection buffers took before it was closed, no more.
    expect(await hugeAnswerWritten()).toBeLessThan(64 * 1024 * 1024);
  });

  it("fails when no answer comes in time (10 s in production), and when nothing listens", async () => {
    expect(WEBHOOK_TIMEOUT_MS).toBe(10_000);
    expect(await deliverWebhook(receiverUrl("/hook/hang"), key, webhookAbout("x"), Date.now(), 300)).toEqual({
      delivered: false,
      reason: "no answer within 0.3 s",
      retryAfterSeconds: null,
    });
    const closed = await deliverWebhook(new URL("http://127.0.0.1:9/hook"), key, webhookAbout("x"), Date.now());
    expect(closed).toMatchObject({ delivered: false, retryAfterSeconds: null });
    expect((closed as { reason: string }).reason).toMatch(/^unreachable \(/);
  });
});

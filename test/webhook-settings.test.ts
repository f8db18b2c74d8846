import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { parseConfig, requireSettings, type Config } from "../src/config";
import { auditEvent } from "../src/db/events";
import { queueMessagesOf, sendBatches } from "../src/durable/queue-messages";
import type { EventMessage } from "../src/events/messages";
import { userMessage } from "../src/events/messages";
import { FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS, retryAfterSeconds, retryDelaySeconds } from "../src/events/retry-schedule";
import { canDeliverMessages, requireMessageDelivery } from "../src/events/webhook-settings";
import { EVENT_TYPES, USER_MESSAGE_TYPES } from "../src/wire";
import { call, type Vars } from "./helpers";

const SECRET = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
const RECEIVER = { WEBHOOK_URL: "https://hooks.example.com/auth", WEBHOOK_SECRET: SECRET };

function configWith(vars: Vars): Config {
  return requireSettings({ ...env, ...vars } as Env);
}

async function misconfiguredBy(vars: Vars): Promise<string> {
  const response = await call("/.well-known/jwks.json", {}, vars);
  expect(response.status).toBe(503);
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe("server_misconfigured");
  return body.error_description;
}

describe("the webhook settings", () => {
  it("refuse a WEBHOOK_SECRET that is not whsec_ and the base64 of 24 to 64 bytes, with 503 naming it and never showing it", async () => {
    const base64 = (bytes: number) => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes))));
    for (const secret of [base64(32), "whsec_", "whsec_not base64!", `whsec_${base64(32)}=`, `whsec_${base64(16)}`, `whsec_${base64(65)}`]) {
      const description = await misconfiguredBy({ ...RECEIVER, WEBHOOK_SECRET: secret });
      expect(description, secret).toMatch(/^WEBHOOK_SECRET must /);
      expect(description, secret).not.toContain(secret.slice(6, 20) || "whsec_x");
    }
    for (const bytes of [24, 32, 64]) expect(configWith({ ...RECEIVER, WEBHOOK_SECRET: `whsec_${base64(bytes)}` }).webhooks.secret).toHaveLength(bytes);
  });

  it("refuse a WEBHOOK_URL without a WEBHOOK_SECRET, or that is no http(s) URL", async () => {
    expect(await misconfiguredBy({ WEBHOOK_URL: RECEIVER.WEBHOOK_URL })).toBe("WEBHOOK_SECRET must be set when WEBHOOK_URL is: every webhook is signed.");
    for (const url of ["hooks.example.com", "ftp://hooks.example.com/x"]) {
      expect(await misconfiguredBy({ ...RECEIVER, WEBHOOK_URL: url }), url).toBe("WEBHOOK_URL must be an http(s) URL.");
    }
  });

  it("take in WEBHOOK_EVENTS every audit type the gateway records or will record, and message types, and refuse any other", async () => {
    expect(configWith({}).webhooks.events).toEqual([
      "refresh_token_reuse",
      "dpop_proof_failed",
      "passkey_counter_regressed",
      "password_changed",
      "password_reset",
      "mfa_disabled",
      "account_deleted",
    ]);
    expect(configWith({ WEBHOOK_EVENTS: EVENT_TYPES.join(", ") }).webhooks.events).toEqual([...EVENT_TYPES]);
    expect(configWith({ WEBHOOK_EVENTS: USER_MESSAGE_TYPES.join(",") }).webhooks.events).toEqual([...USER_MESSAGE_TYPES]);
    for (const list of ["refresh,REFRESH", "login,*", "message.anything"]) {
      expect(await misconfiguredBy({ WEBHOOK_EVENTS: list }), list).toMatch(/^WEBHOOK_EVENTS entries must be audit event types \(login, login_failed, .*account_deleted\), got "/);
    }
  });

  it("refuse a DEV_MESSAGE_LOG that is not true or false", async () => {
    expect(await misconfiguredBy({ DEV_MESSAGE_LOG: "yes" })).toBe('DEV_MESSAGE_LOG must be "true" or "false", got "yes".');
  });

  it("say whether messages to users can reach anyone, for the routes that send them", () => {
    expect(canDeliverMessages(configWith({}))).toBe(false);
    expect(() => requireMessageDelivery(configWith({}))).toThrow(expect.objectContaining({ status: 503, code: "server_misconfigured" }));
    expect(canDeliverMessages(configWith(RECEIVER))).toBe(true);
    expect(canDeliverMessages(configWith({ DEV_MESSAGE_LOG: "true" }))).toBe(true);
    expect(() => requireMessageDelivery(configWith(RECEIVER))).not.toThrow();
  });

  it("are off in wrangler.toml: no receiver, the contract's default selection, no dev log", () => {
    const { vars } = inject("workerConfigs").production;
    expect([vars.WEBHOOK_URL, vars.DEV_MESSAGE_LOG]).toEqual(["", "false"]);
    expect(parseConfig(env as unknown as Env)).toMatchObject({ ok: true });
  });
});

describe("what an outbox entry sends through the queue", () => {
  const event = auditEvent({ type: "refresh_token_reuse", sub: "u1", session_id: "s1", at: Date.UTC(2026, 11, 1), ip: "192.0.2.1", detail: { generations_behind: 2 } });
  const refresh = auditEvent({ type: "refresh", sub: "u1", session_id: "s1", at: Date.UTC(2026, 11, 1), ip: null, detail: null });

  it("is an event for D1, and for the receiver too when WEBHOOK_EVENTS selects its type, under an id taken from the event", () => {
    expect(queueMessagesOf({ kind: "event", event }, 7, configWith({}))).toEqual([{ kind: "event", event }]);
    expect(queueMessagesOf({ kind: "event", event: refresh }, 8, configWith(RECEIVER))).toEqual([{ kind: "event", event: refresh }]);
    expect(queueMessagesOf({ kind: "event", event }, 7, configWith(RECEIVER))).toEqual([
      { kind: "event", event },
      {
        kind: "webhook",
        webhook: {
          id: `evt_${event.id}`,
          type: "refresh_token_reuse",
          timestamp: "2026-12-01T00:00:00.000Z",
          data: { type: "refresh_token_reuse", sub: "u1", session_id: "s1", at: "2026-12-01T00:00:00.000Z", ip: "192.0.2.1", detail: { generations_behind: 2 } },
        },
      },
    ]);
    expect(queueMessagesOf({ kind: "event", event }, 7, configWith({ ...RECEIVER, WEBHOOK_EVENTS: "message.password_reset" }))).toHaveLength(1);
  });

  it("is a session record with the outbox's sequence as its version", () => {
    const record = { id: "s1", user_id: "u1", created_at: 1, last_used_at: 2, expires_at: null, revoked_at: null, revoked_reason: null, user_agent: null, ip: null, rotation_count: 3 };
    expect(queueMessagesOf({ kind: "session", record }, 42, configWith(RECEIVER))).toEqual([{ kind: "session", record, version: 42 }]);
  });

  it("is, for a message to a user, a webhook only, whatever WEBHOOK_EVENTS says, or nothing when it could reach nobody", () => {
    const message = userMessage("message.email_verification", { to: "a@example.com", user_id: "u1", code: "123456", expires_at: "2026-12-01T00:10:00.000Z" }, Date.UTC(2026, 11, 1));
    const webhook = { kind: "webhook", webhook: { id: `msg_${message.id}`, type: "message.email_verification", timestamp: "2026-12-01T00:00:00.000Z", data: message.data } };
    expect(queueMessagesOf({ kind: "message", message }, 1, configWith({ ...RECEIVER, WEBHOOK_EVENTS: "refresh" }))).toEqual([webhook]);
    expect(queueMessagesOf({ kind: "message", message }, 1, configWith({ DEV_MESSAGE_LOG: "true" }))).toEqual([webhook]);
    expect(queueMessagesOf({ kind: "message", message }, 1, configWith({}))).toEqual([]);
  });

  it("goes in sendBatch calls of at most 100 messages and 200,000 bytes, in order", () => {
    const small = Array.from({ length: 250 }, (_, index): EventMessage => ({ kind: "event", event: { ...refresh, id: String(index) } }));
    const batches = sendBatches(small);
    expect(batches.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(batches.flat().map((request) => (request.body as { event: { id: string } }).event.id)).toEqual(small.map((_, index) => String(index)));
    expect(batches.flat().every((request) => request.contentType === "json")).toBe(true);
    const large = Array.from({ length: 10 }, (): EventMessage => ({ kind: "event", event: { ...refresh, detail: { padding: "x".repeat(50_000) } } }));
    expect(sendBatches(large).map((batch) => batch.length)).toEqual([3, 3, 3, 1]);
  });
});

describe("the retry schedule", () => {
  it("retries first within 30 s, then doubles up to an hour, with jitter in the upper half", () => {
    const bounds = (attempts: number) => [retryDelaySeconds(attempts, 0), retryDelaySeconds(attempts, 0.999999)];
    expect(bounds(1)).toEqual([15, 30]);
    expect(bounds(2)).toEqual([30, 60]);
    expect(bounds(3)).toEqual([60, 120]);
    expect(bounds(8)).toEqual([1800, 3600]);
    expect(bounds(100)).toEqual([MAX_RETRY_SECONDS / 2, MAX_RETRY_SECONDS]);
    expect(FIRST_RETRY_SECONDS).toBe(30);
  });

  it("honours a receiver's Retry-After up to the hour", () => {
    expect(retryDelaySeconds(1, 0, 600)).toBe(600);
    expect(retryDelaySeconds(1, 0, 86_400)).toBe(MAX_RETRY_SECONDS);
    expect(retryDelaySeconds(5, 0, 1)).toBe(240);
    const now = Date.UTC(2026, 11, 1);
    expect(retryAfterSeconds("120", now)).toBe(120);
    expect(retryAfterSeconds(new Date(now + 90_500).toUTCString(), now)).toBe(90);
    expect(retryAfterSeconds("soon", now)).toBeNull();
    expect(retryAfterSeconds(null, now)).toBeNull();
  });

  it("outlasts a receiver that is down for an hour before wrangler.toml's max_retries send a message to the dead-letter queue", () => {
    const [consumer] = inject("workerConfigs").production.queues.consumers as Array<{ max_retries: number; dead_letter_queue: string }>;
    expect(consumer!.dead_letter_queue).toBe("edge-auth-gateway-events-dlq");
    // The shortest the retries can add up to: every delay at the bottom of its jitter.
    const shortest = Array.from({ length: consumer!.max_retries }, (_, index) => retryDelaySeconds(index + 1, 0)).reduce((sum, delay) => sum + delay, 0);
    expect(shortest).toBeGreaterThan(3600);
  });
});

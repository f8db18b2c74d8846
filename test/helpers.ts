import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { JWK } from "jose";
import { expect, vi } from "vitest";
import worker from "../src/index";
import type { EventMessage } from "../src/events/messages";
import type { AuditEventItem, EventList, RegisterResponse, TokenResponse } from "../src/wire";
import { queueLedger, redeliver, type Handled } from "./queue-ledger";

export type { TokenResponse };

export const ADMIN_TOKEN = "test-admin-token";
export const BASE = "http://gateway.test";

/** Variable overrides for one call, as `wrangler dev --var NAME:VALUE` would set them. */
export type Vars = Partial<Record<keyof Env, string>>;

/**
 * Sends a request through the worker's real fetch handler with the real bindings. With `vars`,
 * the worker sees those variables overridden (a fresh env object, so config is re-read).
 */
export function call(path: string, init: RequestInit = {}, vars?: Vars): Promise<Response> {
  const request = new Request(new URL(path, BASE), init);
  if (!vars) return Promise.resolve(exports.default.fetch(request));
  return Promise.resolve(worker.fetch(request, { ...env, ...vars } as Env, {
    waitUntil() {},
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext));
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}, vars?: Vars) {
  return call(path, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) }, vars);
}

/** Opens a session through the admin route and returns the token pair. */
export async function openSession(sub: string, claims?: Record<string, unknown>, vars?: Vars): Promise<TokenResponse> {
  const response = await postJson("/auth/admin/sessions", { sub, claims }, { Authorization: `Bearer ${ADMIN_TOKEN}` }, vars);
  if (response.status !== 201) throw new Error(`open session: ${response.status} ${await response.text()}`);
  return response.json();
}

/** POST /auth/refresh with a JSON body. */
export function refresh(refreshToken: string, vars?: Vars) {
  return postJson("/auth/refresh", { refresh_token: refreshToken }, {}, vars);
}

export function bearer(accessToken: string): Record<string, string> {
  return { Authorization: `Bearer ${accessToken}` };
}

export const adminHeaders = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** The password of the accounts tests register. */
export const PASSWORD = "correct horse battery";

/** A username of its own per test, so login limits and users never mix tests. */
export function uniqueUsername(label = "user"): string {
  return `${label}.${crypto.randomUUID().slice(0, 8)}`;
}

/** A client address of its own per test, so per-IP limits and event filters never mix tests. */
export function uniqueIp(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return `10.${bytes[0]}.${bytes[1]}.${bytes[2]}`;
}

/** A unique user id per test, so tests never share a Durable Object. */
export function uniqueSub(label = "user"): string {
  return `${label}-${crypto.randomUUID()}`;
}

/** The UserAuth Durable Object stub of a user. */
export function userAuthStub(sub: string) {
  return env.USER_AUTH.get(env.USER_AUTH.idFromName(sub));
}

/** Runs the user's UserAuth alarm now (retries of outbox sends, expiry, purge), if one is set. */
export function runUserAlarm(sub: string) {
  return runDurableObjectAlarm(userAuthStub(sub));
}

/** The audit events of a user, newest first, through the admin route, once the user's events have drained. */
export async function eventsOf(sub: string, type?: string) {
  await drainEvents(sub);
  const query = new URLSearchParams({ sub, ...(type ? { type } : {}) });
  const response = await call(`/auth/admin/events?${query}`, { headers: adminHeaders });
  if (response.status !== 200) throw new Error(`events: ${response.status} ${await response.text()}`);
  return ((await response.json()) as EventList).events;
}

/** How many entries wait in a Durable Object's outbox (UserAuth or LoginThrottle), not yet sent to the queue. */
export function outboxSize(stub: DurableObjectStub) {
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n);
}

/**
 * Runs `action` while a D1 table is really unreachable (renamed, so every write to it fails), and
 * always puts it back.
 */
export async function withD1TableOffline(table: "sessions" | "events" | "users", action: () => Promise<void>) {
  await env.DB.prepare(`ALTER TABLE ${table} RENAME TO ${table}_offline`).run();
  try {
    await action();
  } finally {
    await env.DB.prepare(`ALTER TABLE ${table}_offline RENAME TO ${table}`).run();
  }
}

/**
 * Like `call`, but the worker sees `rawPath` exactly as a client wrote it on the request line
 * (`curl --path-as-is`), dot segments and backslashes included: `new Request()` would normalise
 * them away, while a runtime or proxy in front of the worker need not.
 */
export function callAsSent(rawPath: string, init: RequestInit = {}, vars?: Vars): Promise<Response> {
  const request = new Request(BASE, init);
  Object.defineProperty(request, "url", { value: `${BASE}${rawPath}` });
  return Promise.resolve(worker.fetch(request, { ...env, ...(vars ?? {}) } as Env, {
    waitUntil() {},
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext));
}

/**
 * Asserts an error answer as the gateway gives every one: `status` and a body of exactly
 * `{ error, error_description }`. Returns the description.
 */
export async function expectError(response: Response, status: number, error: string): Promise<string> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body).toEqual({ error, error_description: expect.any(String) });
  return body.error_description;
}

/** Asserts a refused refresh token: 400 `invalid_grant` (RFC 6749 section 5.2). */
export async function expectInvalidGrant(response: Response): Promise<void> {
  await expectError(response, 400, "invalid_grant");
}

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

/**
 * The private JWKs of the SIGNING_KEYS test binding (vitest.config.ts): ES256 `test-es256`, which
 * signs, then EdDSA `test-eddsa`, which still verifies.
 */
export const TEST_SIGNING_KEYS = (JSON.parse(env.SIGNING_KEYS!) as { keys: JWK[] }).keys;

/** A JWK without its private member: what a key set keeps of a retired key. */
export function publicHalf({ d: _d, ...rest }: JWK): JWK {
  return rest;
}

/** The `CF-Connecting-IP` header of a client at `ip`. */
export function fromIp(ip: string): Record<string, string> {
  return { "CF-Connecting-IP": ip };
}

/** POST /auth/register. */
export function register(username: unknown, password: unknown = PASSWORD, headers: Record<string, string> = {}, vars?: Vars) {
  return postJson("/auth/register", { username, password }, headers, vars);
}

/** POST /auth/login. */
export function login(username: unknown, password: unknown, headers: Record<string, string> = {}, vars?: Vars) {
  return postJson("/auth/login", { username, password }, headers, vars);
}

/** Registers a user (expecting 201) and returns its username and user id. */
export async function registerUser(username = uniqueUsername(), password = PASSWORD): Promise<{ username: string; userId: string }> {
  const response = await register(username, password);
  expect(response.status).toBe(201);
  return { username, userId: ((await response.json()) as RegisterResponse).user_id };
}

/** The audit events of one type from one client address, newest first (events of unknown users have no `sub`). */
export async function eventsFrom(ip: string, type: string) {
  // Each failed login's event was sent to the queue before its 401 (the throttle's flush starts
  // at once); what is left is the queue's part.
  await drainEvents();
  const response = await call(`/auth/admin/events?type=${type}&limit=1000`, { headers: adminHeaders });
  if (response.status !== 200) throw new Error(`events: ${response.status} ${await response.text()}`);
  return ((await response.json()) as EventList).events.filter((event) => event.ip === ip);
}

/** One PBKDF2 key derivation, without its salt bytes. */
export interface Pbkdf2Run {
  hash: unknown;
  iterations: number;
  saltBytes: number;
  bits: number | null | undefined;
}

/**
 * The PBKDF2 derivations that ran while `action` did (WebCrypto's `deriveBits` is watched for its
 * duration, in this isolate: the test, the worker and its Durable Objects). Proves that work was
 * done without timing it.
 */
export async function pbkdf2RunsDuring(action: () => Promise<unknown>): Promise<Pbkdf2Run[]> {
  const spy = vi.spyOn(crypto.subtle, "deriveBits");
  let calls: typeof spy.mock.calls;
  try {
    await action();
  } finally {
    calls = [...spy.mock.calls];
    spy.mockRestore();
  }
  return calls.flatMap(([algorithm, , length]) => {
    if (typeof algorithm !== "object" || algorithm.name !== "PBKDF2") return [];
    const { hash, iterations, salt } = algorithm;
    return [{ hash, iterations: iterations ?? NaN, saltBytes: salt?.byteLength ?? 0, bits: length }];
  });
}

/**
 * Drains the outboxes of these users' objects and the event queue: once it resolves, everything
 * the objects had queued has been sent, and the queue's consumer has handled every message sent
 * so far once (D1 written or the write retried, each webhook delivered or retried). The outboxes
 * drain after each answer and the queue after that, so a test that reads D1 or the webhook
 * receiver right after an action waits here instead of guessing how long that takes: each
 * object's alarm flushes its outbox (after any flush already under way), then the queue ledger
 * (test/queue-ledger.ts) says when the consumer is done. No user: the queue only.
 */
export async function drainEvents(...subs: string[]): Promise<void> {
  for (const sub of subs) await runDurableObjectAlarm(userAuthStub(sub));
  await queueLedger().settled();
}

/**
 * Runs `action` while the EVENTS queue refuses every send, as Cloudflare's does past its
 * throughput (`sendBatch` throws "Too Many Requests"), and always lets it accept again after.
 */
export async function withQueueRefusing(action: () => Promise<void>) {
  const ledger = queueLedger();
  ledger.refusing = true;
  try {
    await action();
  } finally {
    ledger.refusing = false;
  }
}

/** Where the queue ledger is now, to look at what was sent or handled after it (`retriedSince`). */
export function queueMark(): { sent: number; handled: number } {
  const ledger = queueLedger();
  return { sent: ledger.sent.length, handled: ledger.handled.length };
}

/** The deliveries the consumer retried since `mark`, the latest verdict of each message counting. */
export function retriedSince(mark: { handled: number }): Handled[] {
  const latest = new Map<string, Handled>();
  for (const entry of queueLedger().handled.slice(mark.handled)) latest.set(JSON.stringify(entry.body), entry);
  return [...latest.values()].filter((entry) => entry.outcome === "retry");
}

/**
 * Hands the consumer every delivery it retried since `mark` again, as the queue does once the
 * retry's delay has passed, and returns what it did with each this time. The local queue of the
 * tests drops a retried message instead of waiting out its delay (test/queue-ledger.ts).
 */
export async function redeliverRetries(mark: { handled: number }): Promise<Handled[]> {
  const retried = retriedSince(mark);
  const byQueue = new Map<string, Handled[]>();
  for (const entry of retried) byQueue.set(entry.queue, [...(byQueue.get(entry.queue) ?? []), entry]);
  const outcomes: Handled[] = [];
  for (const deliveries of byQueue.values()) outcomes.push(...(await redeliver(worker as never, deliveries)));
  return outcomes;
}

/** The user a queue message is about, if any. */
export function subjectOf(body: EventMessage): string | null {
  switch (body.kind) {
    case "session":
      return body.record.user_id;
    case "event":
      return body.event.sub;
    case "webhook":
      return "user_id" in body.webhook.data ? body.webhook.data.user_id : body.webhook.data.sub;
  }
}

/** A session's record in D1 once the user's events have drained, or null. */
export async function sessionRecord(sub: string, sessionId: string) {
  await drainEvents(sub);
  return env.DB.prepare(
    `SELECT id, user_id, created_at, last_used_at, expires_at, revoked_at, revoked_reason, user_agent, ip, rotation_count
     FROM sessions WHERE id = ?1`,
  )
    .bind(sessionId)
    .first<import("../src/db/sessions").SessionRecord>();
}

/**
 * Lets `ms` pass for one session, as if nobody had touched it for that long: every time stored
 * for it moves back by `ms`, in the user's Durable Object (created, last used, each kept issue
 * time, the end of a revoked session, and when its D1 record was last queued) and in its D1
 * record (the same, and expires_at). Nothing runs meanwhile: the session is marked expired only once a request or the alarm looks.
 */
export async function ageSession(sub: string, sessionId: string, ms: number): Promise<void> {
  await drainEvents(sub);
  await runInDurableObject(userAuthStub(sub), (_instance, state) => {
    const sql = state.storage.sql;
    const { issue_times } = sql.exec<{ issue_times: string }>("SELECT issue_times FROM sessions WHERE id = ?", sessionId).one();
    const issueTimes = (JSON.parse(issue_times) as number[]).map((at) => at - ms);
    sql.exec(
      `UPDATE sessions SET created_at = created_at - ?1, last_used_at = last_used_at - ?1, revoked_at = revoked_at - ?1,
         recorded_at = recorded_at - ?1, issue_times = ?2 WHERE id = ?3`,
      ms, JSON.stringify(issueTimes), sessionId,
    );
  });
  await env.DB.prepare(
    `UPDATE sessions SET created_at = created_at - ?1, last_used_at = last_used_at - ?1, expires_at = expires_at - ?1, revoked_at = revoked_at - ?1
     WHERE id = ?2`,
  )
    .bind(ms, sessionId)
    .run();
}

/** A session's row in the user's Durable Object: the exact current state, whatever D1 shows. */
export type StoredSession = {
  id: string;
  generation: number;
  issue_times: string;
  created_at: number;
  last_used_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** The thumbprint of the DPoP key the session is bound to, or null. */
  jkt: string | null;
};

/** Every session row of a user's Durable Object, read in place (no alarm, no request). */
export function storedSessions(sub: string): Promise<StoredSession[]> {
  return runInDurableObject(userAuthStub(sub), (_instance, state) =>
    state.storage.sql
      .exec<StoredSession>("SELECT id, generation, issue_times, created_at, last_used_at, revoked_at, revoked_reason, jkt FROM sessions")
      .toArray(),
  );
}

/** One session's row in its user's Durable Object. */
export async function storedSession(sub: string, sessionId: string): Promise<StoredSession> {
  const session = (await storedSessions(sub)).find((entry) => entry.id === sessionId);
  if (!session) throw new Error(`no session ${sessionId} in the object of ${sub}`);
  return session;
}

/**
 * The queue messages `count` refreshes of one session send, by kind: each `session` or `event`
 * message is one row the consumer writes to D1 (in batches: test/queue-batching/ counts the D1
 * calls), each `webhook` one delivery. Counted from the queue ledger, exactly.
 */
export async function queueMessagesOfRefreshes(count: number): Promise<Record<EventMessage["kind"], number>> {
  const sub = uniqueSub();
  let pair: TokenResponse = await openSession(sub);
  await drainEvents(sub);
  const mark = queueMark();
  for (let index = 0; index < count; index += 1) {
    const response = await refresh(pair.refresh_token);
    expect(response.status).toBe(200);
    pair = await response.json();
  }
  await drainEvents(sub);
  const counts = { session: 0, event: 0, webhook: 0 };
  for (const body of queueLedger().sent.slice(mark.sent)) if (subjectOf(body) === sub) counts[body.kind] += 1;
  return counts;
}

/** POST /auth/refresh as an RFC 6749 section 6 form request. */
export function refreshForm(refreshToken: string, vars?: Vars) {
  const body = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken });
  return call("/auth/refresh", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body }, vars);
}

/** Both encodings `POST /auth/refresh` takes, for `describe.each`. */
export const refreshTransports = [
  { name: "JSON", send: (refreshToken: string) => refresh(refreshToken) },
  { name: "form", send: (refreshToken: string) => refreshForm(refreshToken) },
];

/** The token pair of a 200 answer (asserting the 200). */
export async function pairOf(response: Response): Promise<TokenResponse> {
  expect(response.status).toBe(200);
  return response.json();
}

/** Claims of an access token the gateway would accept; `undefined` in `overrides` removes a claim. */
export function accessTokenClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const issuedAt = Math.floor(Date.now() / 1000);
  const all: Record<string, unknown> = {
    iss: env.ISSUER,
    aud: env.AUDIENCE,
    sub: uniqueSub("at"),
    sid: crypto.randomUUID(),
    jti: crypto.randomUUID(),
    iat: issuedAt,
    exp: issuedAt + 300,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

/** One audit event as `GET /auth/admin/events` returns it. */
export type AuditEventOnTheWire = AuditEventItem;

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The one event of `type` for `sub`, checked for the contract's fields and a time inside `window`. */
export async function onlyEvent(sub: string, type: string, window: { from: number; to?: number }): Promise<AuditEventOnTheWire> {
  const events = await eventsOf(sub, type);
  expect(events, type).toHaveLength(1);
  const event = events[0]!;
  expect(Object.keys(event).sort()).toEqual(["at", "detail", "ip", "session_id", "sub", "type"]);
  expect(event.type).toBe(type);
  expect(event.sub).toBe(sub);
  expect(event.at).toMatch(ISO_8601);
  expect(Date.parse(event.at)).toBeGreaterThanOrEqual(window.from - 1000);
  expect(Date.parse(event.at)).toBeLessThanOrEqual((window.to ?? Date.now()) + 1000);
  return event;
}

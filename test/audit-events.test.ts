import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  adminHeaders,
  type AuditEventOnTheWire,
  bearer,
  call,
  drainEvents,
  eventsOf,
  expectInvalidGrant,
  onlyEvent,
  openSession,
  outboxSize,
  pairOf,
  postJson,
  queueMark,
  redeliverRetries,
  refresh,
  runUserAlarm,
  withQueueRefusing,
  type TokenResponse,
  uniqueSub,
  userAuthStub,
  withD1TableOffline,
} from "./helpers";

// The audit trail under the wrangler.toml settings. Reuse under REUSE_REVOKES=session and expiry:
// test/strict-sessions/audit-events.test.ts.

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const IP = "198.51.100.23";
const fromIp = { "CF-Connecting-IP": IP };

async function openSessionFromIp(sub: string): Promise<TokenResponse> {
  const response = await postJson("/auth/admin/sessions", { sub }, { ...adminHeaders, ...fromIp });
  expect(response.status).toBe(201);
  return response.json();
}

async function refreshFromIp(refreshToken: string) {
  return postJson("/auth/refresh", { refresh_token: refreshToken }, fromIp);
}


describe("audit events of each action", () => {
  it("records login for a password login and login_failed for a wrong password or an unknown username", async () => {
    const username = `audit-${crypto.randomUUID().slice(0, 8)}`;
    const password = "correct horse battery";
    const registered = await postJson("/auth/register", { username, password });
    expect(registered.status).toBe(201);
    const { user_id: sub } = (await registered.json()) as { user_id: string };

    const from = Date.now();
    const login = await postJson("/auth/login", { username, password }, fromIp);
    expect(login.status).toBe(200);
    const pair = (await login.json()) as TokenResponse;
    const loginEvent = await onlyEvent(sub, "login", { from });
    expect(loginEvent).toMatchObject({ session_id: pair.session_id, ip: IP, detail: { method: "password" } });
    expect(await eventsOf(sub, "session_created")).toEqual([]);

    const wrong = await postJson("/auth/login", { username, password: "wrong password" }, fromIp);
    expect(wrong.status).toBe(401);
    const failed = await onlyEvent(sub, "login_failed", { from });
    expect(failed).toMatchObject({ session_id: null, ip: IP, detail: { reason: "wrong_password" } });
    expect(JSON.stringify(failed)).not.toContain("wrong password");

    // An unknown username has no user id; the typed name is not recorded (it may be a password).
    const strangerIp = `192.0.2.${Math.floor(Math.random() * 250) + 1}`;
    const typed = `nobody-${crypto.randomUUID().slice(0, 8)}`;
    const unknown = await postJson("/auth/login", { username: typed, password }, { "CF-Connecting-IP": strangerIp });
    expect(unknown.status).toBe(401);
    await drainEvents();
    const response = await call("/auth/admin/events?type=login_failed&limit=1000", { headers: adminHeaders });
    const events = ((await response.json()) as { events: AuditEventOnTheWire[] }).events.filter((event) => event.ip === strangerIp);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "login_failed", sub: null, session_id: null, detail: { reason: "unknown_username" } });
    expect(JSON.stringify(events[0])).not.toContain(typed);
  });

  it("records session_created when the admin route opens a session", async () => {
    const sub = uniqueSub();
    const from = Date.now();
    const pair = await openSessionFromIp(sub);
    const event = await onlyEvent(sub, "session_created", { from });
    expect(event).toMatchObject({ session_id: pair.session_id, ip: IP, detail: null });
  });

  it("records refresh with the new generation", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    const from = Date.now();
    expect((await refreshFromIp(pair.refresh_token)).status).toBe(200);
    const event = await onlyEvent(sub, "refresh", { from });
    expect(event).toMatchObject({ session_id: pair.session_id, ip: IP, detail: { generation: 1 } });
  });

  it("records refresh_grace_replay when the previous token comes back within the grace period", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    expect((await refresh(pair.refresh_token)).status).toBe(200);
    const from = Date.now();
    expect((await refreshFromIp(pair.refresh_token)).status).toBe(200);
    const event = await onlyEvent(sub, "refresh_grace_replay", { from });
    expect(event).toMatchObject({ session_id: pair.session_id, ip: IP, detail: { generation: 1 } });
    expect(await eventsOf(sub, "refresh_token_reuse")).toEqual([]);
  });

  it("records refresh_token_reuse naming every revoked session, how far behind the token was and when it was rotated", async () => {
    const sub = uniqueSub();
    const stolen = await openSession(sub);
    const sibling = await openSession(sub);
    const alreadyGone = await openSession(sub);
    expect((await postJson("/auth/logout", { refresh_token: alreadyGone.refresh_token })).status).toBe(204);

    const rotatedAtFrom = Date.now();
    const second = await pairOf(await refresh(stolen.refresh_token));
    const rotatedAtTo = Date.now();
    const third = await pairOf(await refresh(second.refresh_token));
    expect(third.session_id).toBe(stolen.session_id);
    expect(third.refresh_token).not.toBe(second.refresh_token);

    // Two generations back: reuse, whatever the grace window.
    const from = Date.now();
    await expectInvalidGrant(await refreshFromIp(stolen.refresh_token));

    const event = await onlyEvent(sub, "refresh_token_reuse", { from });
    expect(event).toMatchObject({ session_id: stolen.session_id, ip: IP });
    const detail = event.detail as { generations_behind: number; successor_issued_at: string; revoked_session_ids: string[] };
    expect(Object.keys(detail).sort()).toEqual(["generations_behind", "revoked_session_ids", "successor_issued_at"]);
    // Generation 0 came back while generation 2 is current.
    expect(detail.generations_behind).toBe(2);
    // Generation 0 was rotated by the first refresh.
    expect(detail.successor_issued_at).toMatch(ISO);
    expect(Date.parse(detail.successor_issued_at)).toBeGreaterThanOrEqual(rotatedAtFrom - 1000);
    expect(Date.parse(detail.successor_issued_at)).toBeLessThanOrEqual(rotatedAtTo + 1000);
    // Both active sessions, not the one that was already logged out.
    expect(detail.revoked_session_ids.sort()).toEqual([stolen.session_id, sibling.session_id].sort());
    await expectInvalidGrant(await refresh(sibling.refresh_token));
  });

  it("records logout for a refresh-token logout and for a Bearer logout", async () => {
    const sub = uniqueSub();
    const byRefresh = await openSession(sub);
    const byBearer = await openSession(sub);
    const from = Date.now();
    expect((await postJson("/auth/logout", { refresh_token: byRefresh.refresh_token }, fromIp)).status).toBe(204);
    expect((await call("/auth/logout", { method: "POST", headers: { ...bearer(byBearer.access_token), ...fromIp } })).status).toBe(204);

    const events = await eventsOf(sub, "logout");
    expect(events.map((event) => event.session_id).sort()).toEqual([byRefresh.session_id, byBearer.session_id].sort());
    for (const event of events) {
      expect(event).toMatchObject({ type: "logout", sub, ip: IP, detail: null });
      expect(Date.parse(event.at)).toBeGreaterThanOrEqual(from - 1000);
    }
    // Logging out again is idempotent and records nothing more.
    expect((await postJson("/auth/logout", { refresh_token: byRefresh.refresh_token })).status).toBe(204);
    expect(await eventsOf(sub, "logout")).toHaveLength(2);
  });

  it("records logout_all with the caller's session and every revoked session id", async () => {
    const sub = uniqueSub();
    const caller = await openSession(sub);
    const other = await openSession(sub);
    const from = Date.now();
    const response = await call("/auth/logout-all", { method: "POST", headers: { ...bearer(caller.access_token), ...fromIp } });
    expect(response.status).toBe(204);
    const event = await onlyEvent(sub, "logout_all", { from });
    expect(event).toMatchObject({ session_id: caller.session_id, ip: IP });
    expect((event.detail as { revoked_session_ids: string[] }).revoked_session_ids.sort()).toEqual(
      [caller.session_id, other.session_id].sort(),
    );
  });

  it("records session_revoked for DELETE /auth/sessions/:id, naming the deleted session", async () => {
    const sub = uniqueSub();
    const caller = await openSession(sub);
    const other = await openSession(sub);
    const from = Date.now();
    const response = await call(`/auth/sessions/${other.session_id}`, { method: "DELETE", headers: { ...bearer(caller.access_token), ...fromIp } });
    expect(response.status).toBe(204);
    const event = await onlyEvent(sub, "session_revoked", { from });
    expect(event).toMatchObject({ session_id: other.session_id, ip: IP, detail: null });
  });

  it("records admin_revoke with every revoked session id and no session of its own", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const second = await openSession(sub);
    const from = Date.now();
    const response = await call(`/auth/admin/users/${encodeURIComponent(sub)}/revoke`, { method: "POST", headers: { ...adminHeaders, ...fromIp } });
    expect(response.status).toBe(204);
    const event = await onlyEvent(sub, "admin_revoke", { from });
    expect(event).toMatchObject({ session_id: null, ip: IP });
    expect((event.detail as { revoked_session_ids: string[] }).revoked_session_ids.sort()).toEqual(
      [first.session_id, second.session_id].sort(),
    );
  });

  it("has every event in D1 as soon as parallel actions answered", async () => {
    const sub = uniqueSub();
    const pairs = await Promise.all(Array.from({ length: 8 }, () => openSession(sub)));
    expect(await eventsOf(sub, "session_created")).toHaveLength(8);
    const refreshed = await Promise.all(pairs.map((pair) => refresh(pair.refresh_token)));
    expect(refreshed.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect(await eventsOf(sub, "refresh")).toHaveLength(8);
    const deleted = await Promise.all(
      pairs.slice(1).map((pair) => call(`/auth/sessions/${pair.session_id}`, { method: "DELETE", headers: bearer(pairs[0]!.access_token) })),
    );
    expect(deleted.map((response) => response.status)).toEqual(Array(7).fill(204));
    expect((await eventsOf(sub, "session_revoked")).map((event) => event.session_id).sort()).toEqual(
      pairs.slice(1).map((pair) => pair.session_id).sort(),
    );
  });

  it("keeps a user's trail in order, newest first", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    const second = (await (await refresh(pair.refresh_token)).json()) as TokenResponse;
    await refresh(pair.refresh_token);
    await call("/auth/logout-all", { method: "POST", headers: bearer(second.access_token) });
    const types = (await eventsOf(sub)).map((event) => event.type);
    expect(types).toEqual(["logout_all", "refresh_grace_replay", "refresh", "session_created"]);
  });
});

describe("audit events when D1 or the queue fails during the action", () => {
  it("answers logout-all, DELETE, admin revoke and refresh normally and delivers every event once D1 is back", async () => {
    const sub = uniqueSub();
    const caller = await openSession(sub);
    const deleted = await openSession(sub);
    const refreshed = await openSession(sub);
    const other = uniqueSub("other");
    const otherPair = await openSession(other);

    let newToken = "";
    await drainEvents(sub, other);
    const mark = queueMark();
    await withD1TableOffline("events", async () => {
      const rotated = await refresh(refreshed.refresh_token);
      expect(rotated.status).toBe(200);
      newToken = ((await rotated.json()) as TokenResponse).refresh_token;
      expect((await call(`/auth/sessions/${deleted.session_id}`, { method: "DELETE", headers: bearer(caller.access_token) })).status).toBe(204);
      expect((await call("/auth/logout-all", { method: "POST", headers: bearer(caller.access_token) })).status).toBe(204);
      expect((await call(`/auth/admin/users/${other}/revoke`, { method: "POST", headers: adminHeaders })).status).toBe(204);
      // The Durable Object is the authority: the revocations hold even though D1 missed them.
      expect((await refresh(newToken)).status).toBe(400);
      expect((await refresh(otherPair.refresh_token)).status).toBe(400);
      // The objects sent them; D1 refused them; the queue keeps them for a retry.
      await drainEvents(sub, other);
      expect(await outboxSize(userAuthStub(sub))).toBe(0);
    });

    const retried = await redeliverRetries(mark);
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.every((delivery) => delivery.outcome === "ack")).toBe(true);

    expect((await eventsOf(sub)).map((event) => event.type)).toEqual(["logout_all", "session_revoked", "refresh", "session_created", "session_created", "session_created"]);
    const logoutAll = (await eventsOf(sub, "logout_all"))[0]!;
    expect((logoutAll.detail as { revoked_session_ids: string[] }).revoked_session_ids.sort()).toEqual(
      [caller.session_id, refreshed.session_id].sort(),
    );
    expect((await eventsOf(sub, "session_revoked"))[0]).toMatchObject({ session_id: deleted.session_id });
    expect((await eventsOf(other, "admin_revoke"))[0]).toMatchObject({ detail: { revoked_session_ids: [otherPair.session_id] } });

    // The session records caught up too.
    const { results } = await env.DB.prepare("SELECT id, revoked_reason, rotation_count FROM sessions WHERE user_id IN (?1, ?2)")
      .bind(sub, other)
      .all<{ id: string; revoked_reason: string; rotation_count: number }>();
    const reasons = Object.fromEntries(results.map((row) => [row.id, row.revoked_reason]));
    expect(reasons).toEqual({
      [caller.session_id]: "logout_all",
      [deleted.session_id]: "session_revoked",
      [refreshed.session_id]: "logout_all",
      [otherPair.session_id]: "admin_revoke",
    });
    expect(results.find((row) => row.id === refreshed.session_id)?.rotation_count).toBe(1);
  });

  it("keeps the queued events across a restart of the Durable Object and writes each exactly once", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    await drainEvents(sub);
    await withQueueRefusing(async () => {
      expect((await call("/auth/logout-all", { method: "POST", headers: bearer(pair.access_token) })).status).toBe(204);
      expect(await runUserAlarm(sub)).toBe(true);
    });
    await evictDurableObject(userAuthStub(sub));
    expect(await runUserAlarm(sub)).toBe(true);
    await runUserAlarm(sub);
    expect(await eventsOf(sub, "logout_all")).toHaveLength(1);
    expect(await outboxSize(userAuthStub(sub))).toBe(0);
    const record = await env.DB.prepare("SELECT revoked_reason FROM sessions WHERE id = ?1").bind(pair.session_id).first<{ revoked_reason: string }>();
    expect(record?.revoked_reason).toBe("logout_all");
  });
});

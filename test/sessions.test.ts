import { describe, expect, it } from "vitest";
import { listSessions } from "./listed-sessions";
import { requireSettings } from "../src/config";
import { signAccessToken } from "../src/tokens/access";
import { loadKeyRing } from "../src/tokens/key-ring";
import type { SessionList, SessionListItem } from "../src/wire";
import {
  adminHeaders,
  ageSession,
  bearer,
  call,
  eventsOf,
  expectInvalidGrant,
  openSession,
  postJson,
  refresh,
  type TokenResponse,
  uniqueSub,
} from "./helpers";

// Listing and deleting the caller's own sessions under the wrangler.toml settings. expires_at
// under other settings: test/strict-sessions/sessions.test.ts and
// test/unlimited-sessions/sessions.test.ts; logout-all and logout by access token:
// test/logout.test.ts.

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Opens a session through the admin route as a client with this User-Agent and IP would be seen. */
async function openSessionFrom(sub: string, client: { userAgent: string; ip: string }): Promise<TokenResponse> {
  const response = await postJson("/auth/admin/sessions", { sub }, { ...adminHeaders, "User-Agent": client.userAgent, "CF-Connecting-IP": client.ip });
  expect(response.status).toBe(201);
  return response.json();
}

function deleteSession(accessToken: string, id: string) {
  return call(`/auth/sessions/${id}`, { method: "DELETE", headers: bearer(accessToken) });
}

describe("GET /auth/sessions", () => {
  it("lists the caller's active sessions with their client, times and which one is current", async () => {
    const sub = uniqueSub();
    const before = Date.now();
    const laptop = await openSessionFrom(sub, { userAgent: "Laptop/1.0", ip: "203.0.113.7" });
    const phone = await openSessionFrom(sub, { userAgent: "Phone/2.0", ip: "2001:db8::1" });
    await openSessionFrom(uniqueSub("someone-else"), { userAgent: "Other/1.0", ip: "198.51.100.1" });
    const after = Date.now();

    const sessions = await listSessions(laptop.access_token);
    expect(sessions.map((session) => session.id).sort()).toEqual([laptop.session_id, phone.session_id].sort());
    const byId = new Map(sessions.map((session) => [session.id, session]));
    expect(byId.get(laptop.session_id)).toMatchObject({ user_agent: "Laptop/1.0", ip: "203.0.113.7", current: true });
    expect(byId.get(phone.session_id)).toMatchObject({ user_agent: "Phone/2.0", ip: "2001:db8::1", current: false });
    for (const session of sessions) {
      expect(Object.keys(session).sort()).toEqual(["amr", "auth_time", "created_at", "current", "expires_at", "id", "ip", "last_used_at", "user_agent"]);
      // Opened through the admin route: how, and when the back end vouched for the user, just
      // before the session opened (test/sign-in.test.ts has the rest).
      expect(session.amr).toEqual(["adm"]);
      expect(session.auth_time).toMatch(ISO);
      expect(Date.parse(session.created_at) - Date.parse(session.auth_time)).toBeGreaterThanOrEqual(0);
      expect(Date.parse(session.created_at) - Date.parse(session.auth_time)).toBeLessThan(1000);
      expect(session.created_at).toMatch(ISO);
      expect(session.last_used_at).toMatch(ISO);
      expect(session.expires_at).toMatch(ISO);
      const created = Date.parse(session.created_at);
      expect(created).toBeGreaterThanOrEqual(before - 1000);
      expect(created).toBeLessThanOrEqual(after + 1000);
      expect(session.last_used_at).toBe(session.created_at);
      // Defaults: 14 days idle comes before 90 days absolute.
      expect(Date.parse(session.expires_at!) - created).toBe(1_209_600 * 1000);
    }

    // Seen from the other session, `current` moves with the caller.
    const fromPhone = await listSessions(phone.access_token);
    expect(fromPhone.find((session) => session.current)?.id).toBe(phone.session_id);
    expect(fromPhone.filter((session) => session.current)).toHaveLength(1);
  });

  it("moves last_used_at, expires_at and the client to the latest refresh", async () => {
    const sub = uniqueSub();
    const pair = await openSessionFrom(sub, { userAgent: "Old/1.0", ip: "203.0.113.1" });
    await ageSession(sub, pair.session_id, 60_000);
    const [before] = await listSessions(pair.access_token);
    const refreshed = await postJson(
      "/auth/refresh",
      { refresh_token: pair.refresh_token },
      { "User-Agent": "New/2.0", "CF-Connecting-IP": "203.0.113.2" },
    );
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as TokenResponse;

    const [after] = await listSessions(next.access_token);
    expect(after).toMatchObject({ id: pair.session_id, user_agent: "New/2.0", ip: "203.0.113.2", current: true });
    expect(after!.created_at).toBe(before!.created_at);
    expect(Date.parse(after!.last_used_at)).toBeGreaterThan(Date.parse(before!.last_used_at));
    expect(Date.parse(after!.expires_at!) - Date.parse(after!.last_used_at)).toBe(1_209_600 * 1000);
  });

  it("drops a session from the list once it is revoked", async () => {
    const sub = uniqueSub();
    const kept = await openSession(sub);
    const loggedOut = await openSession(sub);
    expect(await listSessions(kept.access_token)).toHaveLength(2);

    const logout = await postJson("/auth/logout", { refresh_token: loggedOut.refresh_token });
    expect(logout.status).toBe(204);
    const sessions = await listSessions(kept.access_token);
    expect(sessions.map((session) => session.id)).toEqual([kept.session_id]);
  });

  it("does not list a session whose refresh token was reused, nor its siblings", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const second = await openSession(sub);
    const rotated = (await (await refresh(first.refresh_token)).json()) as TokenResponse;
    expect((await refresh(rotated.refresh_token)).status).toBe(200);
    // Two generations back: reuse, whatever the grace window.
    await expectInvalidGrant(await refresh(first.refresh_token));
    expect(await listSessions(second.access_token)).toEqual([]);
  });
});

describe("DELETE /auth/sessions/:id", () => {
  it("revokes another session of the caller: 204, gone from the list, its refresh token refused", async () => {
    const sub = uniqueSub();
    const mine = await openSession(sub);
    const other = await openSession(sub);

    const response = await deleteSession(mine.access_token, other.session_id);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");

    await expectInvalidGrant(await refresh(other.refresh_token));
    expect((await listSessions(mine.access_token)).map((session) => session.id)).toEqual([mine.session_id]);
    // The caller's own session is untouched.
    expect((await refresh(mine.refresh_token)).status).toBe(200);
  });

  it("revokes the caller's own current session too", async () => {
    const pair = await openSession(uniqueSub());
    expect((await deleteSession(pair.access_token, pair.session_id)).status).toBe(204);
    await expectInvalidGrant(await refresh(pair.refresh_token));
  });

  it("answers 404 for another user's session and leaves that session working", async () => {
    const me = await openSession(uniqueSub());
    const victimSub = uniqueSub("victim");
    const victim = await openSession(victimSub);

    const response = await deleteSession(me.access_token, victim.session_id);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "not_found" });
    expect((await refresh(victim.refresh_token)).status).toBe(200);
    expect(await eventsOf(victimSub, "session_revoked")).toEqual([]);
  });

  it("answers 404 for an unknown id, a malformed id and an already revoked session", async () => {
    const sub = uniqueSub();
    const me = await openSession(sub);
    const other = await openSession(sub);

    for (const id of [crypto.randomUUID(), "not-a-session", "%2e%2e"]) {
      const response = await deleteSession(me.access_token, id);
      expect(response.status, id).toBe(404);
      expect(await response.json()).toMatchObject({ error: "not_found" });
    }

    expect((await deleteSession(me.access_token, other.session_id)).status).toBe(204);
    const again = await deleteSession(me.access_token, other.session_id);
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: "not_found" });
  });

  it("revokes a session exactly once when the same delete arrives ten times at once", async () => {
    const sub = uniqueSub();
    const me = await openSession(sub);
    const other = await openSession(sub);

    const responses = await Promise.all(Array.from({ length: 10 }, () => deleteSession(me.access_token, other.session_id)));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([204, ...Array(9).fill(404)]);
    expect(await eventsOf(sub, "session_revoked")).toHaveLength(1);
  });
});

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
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

// The caller's own sessions under the wrangler.toml settings. expires_at under other settings:
// test/strict-sessions/sessions.test.ts and test/unlimited-sessions/sessions.test.ts.

type ListedSession = SessionListItem;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Opens a session through the admin route as a client with this User-Agent and IP would be seen. */
async function openSessionFrom(sub: string, client: { userAgent: string; ip: string }): Promise<TokenResponse> {
  const response = await postJson("/auth/admin/sessions", { sub }, { ...adminHeaders, "User-Agent": client.userAgent, "CF-Connecting-IP": client.ip });
  expect(response.status).toBe(201);
  return response.json();
}

async function listSessions(accessToken: string): Promise<ListedSession[]> {
  const response = await call("/auth/sessions", { headers: bearer(accessToken) });
  expect(response.status).toBe(200);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  return ((await response.json()) as SessionList).sessions;
}

function deleteSession(accessToken: string, id: string) {
  return call(`/auth/sessions/${id}`, { method: "DELETE", headers: bearer(accessToken) });
}

function logoutAll(accessToken: string) {
  return call("/auth/logout-all", { method: "POST", headers: bearer(accessToken) });
}


/**
 * The access token the gateway issued for a session an hour ago: signed by its own key and
 * signer, and long expired (ACCESS_TOKEN_TTL_SECONDS is 300).
 */
async function accessTokenFromAnHourAgo(sub: string, sessionId: string): Promise<string> {
  const config = requireSettings(env);
  const ring = await loadKeyRing(config.signingKeys!);
  return signAccessToken(ring, config, { sub, sid: sessionId, claims: {} }, Date.now() / 1000 - 3600);
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
      expect(Object.keys(session).sort()).toEqual(["created_at", "current", "expires_at", "id", "ip", "last_used_at", "user_agent"]);
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

describe("POST /auth/logout-all", () => {
  it("revokes every session of the user, rotated tokens included, and leaves other users alone", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const second = await openSession(sub);
    const third = await openSession(sub);
    const rotated = (await (await refresh(third.refresh_token)).json()) as TokenResponse;
    const bystander = await openSession(uniqueSub("bystander"));

    const response = await logoutAll(first.access_token);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");

    for (const token of [first.refresh_token, second.refresh_token, third.refresh_token, rotated.refresh_token]) {
      await expectInvalidGrant(await refresh(token));
    }
    expect(await listSessions(first.access_token)).toEqual([]);
    expect((await refresh(bystander.refresh_token)).status).toBe(200);
    expect(await listSessions(bystander.access_token)).toHaveLength(1);
  });

  it("leaves no refresh token usable when refreshes race with it", async () => {
    const sub = uniqueSub();
    const pairs = await Promise.all(Array.from({ length: 5 }, () => openSession(sub)));

    const [logout, ...refreshes] = await Promise.all([
      logoutAll(pairs[0]!.access_token),
      ...pairs.map((pair) => refresh(pair.refresh_token)),
    ]);
    expect(logout!.status).toBe(204);
    // Each refresh either lost the race (400) or won it and got a token that logout-all then revoked.
    const survivors: string[] = [];
    for (const response of refreshes) {
      expect([200, 400]).toContain(response.status);
      if (response.status === 200) survivors.push(((await response.json()) as TokenResponse).refresh_token);
    }
    for (const token of [...pairs.map((pair) => pair.refresh_token), ...survivors]) {
      await expectInvalidGrant(await refresh(token));
    }
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL")
      .bind(sub)
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(0);
  });
});

describe("session routes without an access token", () => {
  it("answer 401 with an RFC 6750 challenge on list, delete and logout-all", async () => {
    const requests: Array<[string, RequestInit]> = [
      ["/auth/sessions", {}],
      [`/auth/sessions/${crypto.randomUUID()}`, { method: "DELETE" }],
      ["/auth/logout-all", { method: "POST" }],
    ];
    for (const [path, init] of requests) {
      const missing = await call(path, init);
      expect(missing.status, path).toBe(401);
      expect(missing.headers.get("WWW-Authenticate"), path).toBe('Bearer realm="edge-auth-gateway"');

      const bad = await call(path, { ...init, headers: { Authorization: "Bearer not.a.jwt" } });
      expect(bad.status, path).toBe(401);
      expect(await bad.json()).toMatchObject({ error: "invalid_token" });
      expect(bad.headers.get("WWW-Authenticate"), path).toContain('error="invalid_token"');
    }
  });

  it("does not accept a refresh token or the admin token as the Bearer token", async () => {
    const pair = await openSession(uniqueSub());
    for (const token of [pair.refresh_token, "test-admin-token"]) {
      const response = await call("/auth/sessions", { headers: bearer(token) });
      expect(response.status).toBe(401);
      const logout = await call("/auth/logout-all", { method: "POST", headers: bearer(token) });
      expect(logout.status).toBe(401);
    }
    expect((await refresh(pair.refresh_token)).status).toBe(200);
  });
});

describe("POST /auth/logout with an access token", () => {
  it("logs out with a genuine access token even after it expired, and refuses a tampered one", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    const expired = await accessTokenFromAnHourAgo(sub, pair.session_id);
    expect((await call("/api/x", { headers: bearer(expired) })).status).toBe(401);

    const [header, payload, signature] = expired.split(".");
    const tampered = `${header}.${payload}x.${signature}`;
    expect((await call("/auth/logout", { method: "POST", headers: bearer(tampered) })).status).toBe(401);
    expect((await refresh(pair.refresh_token)).status).toBe(200);

    const second = await openSession(sub);
    const secondExpired = await accessTokenFromAnHourAgo(sub, second.session_id);
    expect((await call("/auth/logout", { method: "POST", headers: bearer(secondExpired) })).status).toBe(204);
    await expectInvalidGrant(await refresh(second.refresh_token));
  });
});

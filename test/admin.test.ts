import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  adminHeaders,
  bearer,
  call,
  drainEvents,
  eventsOf,
  expectInvalidGrant,
  openSession,
  postJson,
  refresh,
  uniqueSub,
  type TokenResponse,
  type Vars,
} from "./helpers";

type Event = Awaited<ReturnType<typeof eventsOf>>[number];

/** The three admin routes, each as a request that would succeed with the admin token. */
function adminRequests(sub: string): Array<{ name: string; path: string; init: RequestInit }> {
  return [
    {
      name: "open session",
      path: "/auth/admin/sessions",
      init: { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ sub }) },
    },
    { name: "revoke user", path: `/auth/admin/users/${encodeURIComponent(sub)}/revoke`, init: { method: "POST" } },
    { name: "events", path: `/auth/admin/events?sub=${encodeURIComponent(sub)}`, init: {} },
  ];
}

function withAuthorization(init: RequestInit, authorization: string | null): RequestInit {
  const headers = new Headers(init.headers);
  if (authorization !== null) headers.set("Authorization", authorization);
  return { ...init, headers };
}

async function adminEvents(query: string, vars?: Vars) {
  return call(`/auth/admin/events${query}`, { headers: adminHeaders }, vars);
}

describe("admin authentication", () => {
  it("answers 401 on every admin route without the token, with a wrong one, or with another kind of token", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    const wrong: Array<[string, string | null]> = [
      ["no Authorization header", null],
      ["empty Bearer", "Bearer "],
      ["wrong token", "Bearer test-admin-tokem"],
      ["longer token", `Bearer ${ADMIN_TOKEN}x`],
      ["prefix of the token", `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
      ["other scheme", `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}`],
      ["token without scheme", ADMIN_TOKEN],
      ["a user's access token", `Bearer ${pair.access_token}`],
    ];
    for (const request of adminRequests(sub)) {
      for (const [label, authorization] of wrong) {
        const response = await call(request.path, withAuthorization(request.init, authorization));
        expect(response.status, `${request.name}: ${label}`).toBe(401);
        expect(await response.json()).toMatchObject({ error: "unauthorized" });
        expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm=/);
      }
    }
    // None of those did anything: the session still works and no other session was opened.
    expect((await refresh(pair.refresh_token)).status).toBe(200);
    expect(await eventsOf(sub, "session_created")).toHaveLength(1);
    expect(await eventsOf(sub, "admin_revoke")).toEqual([]);
  });

  it("answers 401 on every admin route, even with the right token, when ADMIN_API_TOKEN is unset", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    const unset: Vars[] = [{ ADMIN_API_TOKEN: "" }, { ADMIN_API_TOKEN: "   " }, { ADMIN_API_TOKEN: undefined as unknown as string }];
    for (const vars of unset) {
      for (const request of adminRequests(sub)) {
        for (const authorization of [`Bearer ${ADMIN_TOKEN}`, "Bearer ", "Bearer null", "Bearer undefined", null]) {
          const response = await call(request.path, withAuthorization(request.init, authorization), vars);
          expect(response.status, `${request.name}: ${authorization}`).toBe(401);
          expect(await response.json()).toMatchObject({ error: "unauthorized" });
        }
      }
    }
    expect((await refresh(pair.refresh_token)).status).toBe(200);
  });

  it("accepts the configured token on every admin route", async () => {
    const sub = uniqueSub();
    const statuses = [];
    for (const request of adminRequests(sub)) {
      statuses.push((await call(request.path, withAuthorization(request.init, `Bearer ${ADMIN_TOKEN}`))).status);
    }
    expect(statuses).toEqual([201, 204, 200]);
    const rotated = { ADMIN_API_TOKEN: "a-rotated-admin-token" };
    const response = await call(`/auth/admin/events?sub=${sub}`, { headers: bearer("a-rotated-admin-token") }, rotated);
    expect(response.status).toBe(200);
    expect((await call(`/auth/admin/events?sub=${sub}`, { headers: adminHeaders }, rotated)).status).toBe(401);
  });
});

describe("POST /auth/admin/sessions", () => {
  it("opens a session whose access tokens carry the origin's claims, refreshes included", async () => {
    const sub = uniqueSub();
    const response = await postJson("/auth/admin/sessions", { sub, claims: { role: "editor", tenant: 42, beta: true, scopes: ["read", "write"] } }, adminHeaders);
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const pair = (await response.json()) as TokenResponse;
    expect(Object.keys(pair).sort()).toEqual(["access_token", "expires_in", "refresh_token", "session_id", "token_type"]);
    expect(pair).toMatchObject({ token_type: "Bearer", expires_in: 300 });
    expect(decodeJwt(pair.access_token)).toMatchObject({ sub, sid: pair.session_id, role: "editor", tenant: 42, beta: true, scopes: ["read", "write"] });

    const refreshed = (await (await refresh(pair.refresh_token)).json()) as TokenResponse;
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ sub, sid: pair.session_id, role: "editor", tenant: 42, scopes: ["read", "write"] });
  });

  it("refuses registered claim names, nested objects and a missing sub with 400", async () => {
    const bodies: unknown[] = [
      ...["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "cnf", "amr", "auth_time", "idp"].map((name) => ({ sub: uniqueSub(), claims: { [name]: "x" } })),
      { sub: uniqueSub(), claims: { profile: { name: "x" } } },
      { sub: uniqueSub(), claims: { list: [{ name: "x" }] } },
      { sub: uniqueSub(), claims: { nothing: null } },
      { sub: uniqueSub(), claims: ["role"] },
      { sub: "" },
      { claims: {} },
      { sub: 42 },
    ];
    for (const body of bodies) {
      const response = await postJson("/auth/admin/sessions", body, adminHeaders);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_request" });
    }
    const notJson = await call("/auth/admin/sessions", { method: "POST", headers: { ...adminHeaders, "Content-Type": "text/plain" }, body: "sub=x" });
    expect(notJson.status).toBe(415);
  });

  it("refuses a __proto__ claim (it would vanish instead of being refused) and a sub the revoke route could not name", async () => {
    const bodies = [
      `{"sub":"${uniqueSub()}","claims":{"__proto__":{"x":1}}}`,
      `{"sub":"${uniqueSub()}","claims":{"__proto__":"str","ok":1}}`,
      '{"sub":"."}',
      '{"sub":".."}',
    ];
    for (const body of bodies) {
      const response = await call("/auth/admin/sessions", { method: "POST", headers: { ...adminHeaders, "Content-Type": "application/json" }, body });
      expect(response.status, body).toBe(400);
    }
  });

  it("says in its own words what is wrong with the claims, naming the claim", async () => {
    const cases: Array<[unknown, string]> = [
      [{ iat: 1 }, "claims must not name a claim the gateway sets (iss, sub, aud, exp, nbf, iat, jti, sid, cnf, amr, auth_time, idp)"],
      [{ profile: { name: "x" } }, "claims.profile must be a string, number, boolean or an array of up to 100 of them"],
      [{ scopes: Array.from({ length: 101 }, () => "x") }, "claims.scopes must be a string, number, boolean or an array of up to 100 of them"],
      [{ "": "x" }, "claim names must be 1 to 128 characters"],
      [{ ["x".repeat(129)]: "x" }, "claim names must be 1 to 128 characters"],
      ["role=admin", "claims must be a JSON object"],
    ];
    for (const [claims, description] of cases) {
      const response = await postJson("/auth/admin/sessions", { sub: uniqueSub(), claims }, adminHeaders);
      expect(await response.json()).toEqual({ error: "invalid_request", error_description: description });
    }
    const proto = await call("/auth/admin/sessions", {
      method: "POST",
      headers: { ...adminHeaders, "Content-Type": "application/json" },
      body: `{"sub":"${uniqueSub()}","claims":{"__proto__":"x"}}`,
    });
    expect(await proto.json()).toEqual({ error: "invalid_request", error_description: "claims must not name __proto__" });
  });
});

describe("POST /auth/admin/users/:sub/revoke", () => {
  it("revokes every session of that user and no one else's", async () => {
    const sub = uniqueSub();
    const pairs = await Promise.all([openSession(sub), openSession(sub), openSession(sub)]);
    const bystander = await openSession(uniqueSub("bystander"));

    const response = await call(`/auth/admin/users/${sub}/revoke`, { method: "POST", headers: adminHeaders });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    for (const pair of pairs) {
      await expectInvalidGrant(await refresh(pair.refresh_token));
    }
    const listed = await call("/auth/sessions", { headers: bearer(bystander.access_token) });
    expect(((await listed.json()) as { sessions: unknown[] }).sessions).toHaveLength(1);
    expect((await refresh(bystander.refresh_token)).status).toBe(200);
  });

  it("finds users whose ids need percent-encoding in the path", async () => {
    for (const sub of [`alice+${crypto.randomUUID()}@example.com`, `team/${crypto.randomUUID()}`, `50%|${crypto.randomUUID()}?#`]) {
      const pair = await openSession(sub);
      const response = await call(`/auth/admin/users/${encodeURIComponent(sub)}/revoke`, { method: "POST", headers: adminHeaders });
      expect(response.status, sub).toBe(204);
      expect((await refresh(pair.refresh_token)).status, sub).toBe(400);
      expect((await eventsOf(sub, "admin_revoke"))[0]?.detail, sub).toEqual({ revoked_session_ids: [pair.session_id] });
    }
  });

  it("answers 204 for a user without sessions, and again for one already revoked", async () => {
    const sub = uniqueSub();
    expect((await call(`/auth/admin/users/${sub}/revoke`, { method: "POST", headers: adminHeaders })).status).toBe(204);
    await openSession(sub);
    expect((await call(`/auth/admin/users/${sub}/revoke`, { method: "POST", headers: adminHeaders })).status).toBe(204);
    expect((await call(`/auth/admin/users/${sub}/revoke`, { method: "POST", headers: adminHeaders })).status).toBe(204);
    const revokedIds = (await eventsOf(sub, "admin_revoke")).map((event) => (event.detail as { revoked_session_ids: string[] }).revoked_session_ids.length);
    expect(revokedIds).toEqual([0, 1, 0]);
  });

  it("revokes sessions opened concurrently with it: none survives once both have answered", async () => {
    const sub = uniqueSub();
    const before = await openSession(sub);
    const [revoke, ...opened] = await Promise.all([
      call(`/auth/admin/users/${sub}/revoke`, { method: "POST", headers: adminHeaders }),
      openSession(sub),
      openSession(sub),
    ]);
    expect(revoke!.status).toBe(204);
    expect((await refresh(before.refresh_token)).status).toBe(400);
    // A session opened after the revocation is a new login and stays valid; one opened before is gone.
    const revoked = new Set(((await eventsOf(sub, "admin_revoke"))[0]!.detail as { revoked_session_ids: string[] }).revoked_session_ids);
    for (const pair of opened as TokenResponse[]) {
      expect((await refresh(pair.refresh_token)).status).toBe(revoked.has(pair.session_id) ? 400 : 200);
    }
  });
});

describe("GET /auth/admin/events", () => {
  it("filters by sub and type, limits, and lists newest first", async () => {
    const alice = uniqueSub("alice");
    const bob = uniqueSub("bob");
    const a = await openSession(alice);
    let token = a.refresh_token;
    for (let i = 0; i < 3; i += 1) {
      const response = await refresh(token);
      token = ((await response.json()) as TokenResponse).refresh_token;
    }
    await openSession(bob);

    const all = await eventsOf(alice);
    expect(all.map((event) => event.type)).toEqual(["refresh", "refresh", "refresh", "session_created"]);
    expect(all.every((event) => event.sub === alice)).toBe(true);
    const times = all.map((event) => Date.parse(event.at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect(all.slice(0, 3).map((event) => (event.detail as { generation: number }).generation)).toEqual([3, 2, 1]);

    const limited = await adminEvents(`?sub=${alice}&type=refresh&limit=2`);
    expect(limited.status).toBe(200);
    expect(limited.headers.get("Cache-Control")).toBe("no-store");
    const limitedEvents = ((await limited.json()) as { events: Event[] }).events;
    expect(limitedEvents.map((event) => (event.detail as { generation: number }).generation)).toEqual([3, 2]);

    const created = await adminEvents("?type=session_created&limit=1000");
    const createdEvents = ((await created.json()) as { events: Event[] }).events;
    expect(createdEvents.every((event) => event.type === "session_created")).toBe(true);
    // Without a sub filter, every user's events: bob's newer one comes before alice's.
    const subs = createdEvents.map((event) => event.sub);
    expect(subs.indexOf(bob)).toBeGreaterThanOrEqual(0);
    expect(subs.indexOf(bob)).toBeLessThan(subs.indexOf(alice));

    const newest = await adminEvents("?limit=1");
    expect(((await newest.json()) as { events: Event[] }).events).toEqual([expect.objectContaining({ sub: bob, type: "session_created" })]);

    expect(await eventsOf(uniqueSub("nobody"))).toEqual([]);
  });

  it("returns at most 100 events by default", async () => {
    const sub = uniqueSub();
    let token = (await openSession(sub)).refresh_token;
    for (let i = 0; i < 105; i += 1) {
      token = ((await (await refresh(token)).json()) as TokenResponse).refresh_token;
    }
    await drainEvents(sub);
    const response = await adminEvents(`?sub=${sub}`);
    const events = ((await response.json()) as { events: Event[] }).events;
    expect(events).toHaveLength(100);
    expect((events[0]!.detail as { generation: number }).generation).toBe(105);
    const more = await adminEvents(`?sub=${sub}&limit=1000`);
    expect(((await more.json()) as { events: Event[] }).events).toHaveLength(106);
  });

  it("answers 400 invalid_request for an unknown type or a limit that is not a whole number from 1 to 1000", async () => {
    for (const query of ["?type=login_succeeded", "?type=", "?type=REFRESH", "?limit=0", "?limit=-1", "?limit=1001", "?limit=ten", "?limit=1.5", "?limit="]) {
      const response = await adminEvents(query);
      expect(response.status, query).toBe(400);
      expect(await response.json()).toMatchObject({ error: "invalid_request" });
    }
    for (const query of ["?limit=1", "?limit=1000", "?type=login_failed", "?sub=x&type=admin_revoke&limit=5"]) {
      expect((await adminEvents(query)).status, query).toBe(200);
    }
  });

  it("says in its own words which query parameter is wrong and what it takes", async () => {
    const described = async (query: string) => ((await (await adminEvents(query)).json()) as { error_description: string }).error_description;
    for (const query of ["?limit=abc", "?limit=0", "?limit=1.5", "?limit=1&limit=2"]) {
      expect(await described(query), query).toBe("limit must be a whole number from 1 to 1000");
    }
    expect(await described("?type=login_succeeded")).toBe(
      "type must be one of login, login_failed, session_created, refresh, refresh_grace_replay, refresh_token_reuse, logout, logout_all, session_revoked, admin_revoke, session_expired, dpop_proof_failed, identity_linked, identity_unlinked, passkey_added, passkey_removed, passkey_counter_regressed, mfa_enabled, mfa_disabled, recovery_code_used, email_verified, password_changed, password_reset, account_deleted",
    );
    expect(await described("?sub=")).toBe('sub must be 1 to 255 printable ASCII characters (no spaces), and not "." or ".."');
  });
});

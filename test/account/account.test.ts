import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AccountResponse, AdminUserDetail, AdminUserList } from "../../src/wire";
import {
  accessTokenClaims,
  adminHeaders,
  bearer,
  call,
  capturedLogs,
  drainEvents,
  eventsOf,
  expectError,
  fromIp,
  login,
  openSession,
  PASSWORD,
  postJson,
  refresh,
  signedWithTestKey,
  uniqueIp,
  uniqueSub,
  uniqueUsername,
  userAuthStub,
  withD1TableOffline,
} from "../helpers";
import { accountWithEmail, forgot, signIn, uniqueEmail } from "./accounts";

const logs = capturedLogs();

const NEW_PASSWORD = "a brand new password";

function userRow(userId: string) {
  return env.DB.prepare("SELECT username, email, email_verified FROM users WHERE id = ?1").bind(userId).first<{ username: string; email: string | null; email_verified: number }>();
}

function changePassword(accessToken: string, body: unknown, headers: Record<string, string> = {}) {
  return postJson("/auth/password", body, { ...bearer(accessToken), ...headers });
}

function deleteAccount(accessToken: string, body?: unknown, headers: Record<string, string> = {}) {
  return call("/auth/account", {
    method: "DELETE",
    headers: { ...bearer(accessToken), ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

function account(accessToken: string) {
  return call("/auth/account", { headers: bearer(accessToken) });
}

describe("POST /auth/register with an e-mail address", () => {
  it("stores the address lowercased and unverified", async () => {
    const email = uniqueEmail("Grace");
    const { userId } = await accountWithEmail(email);
    expect(await userRow(userId)).toMatchObject({ email: email.toLowerCase(), email_verified: 0 });
  });

  it("lets two accounts type one address, in any case, while neither verified it", async () => {
    const email = uniqueEmail("Typo");
    await accountWithEmail(email);
    await accountWithEmail(email.toUpperCase());
  });

  it("accepts an address of exactly 254 characters", async () => {
    const email = `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(57)}.com`;
    expect(email).toHaveLength(254);
    await accountWithEmail(email);
  });

  it.each([
    ["255 characters", `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(58)}.com`],
    ["no @", "ada.example.com"],
    ["two @", "ada@lovelace@example.com"],
    ["a space", "ada lovelace@example.com"],
    ["no domain", "ada@"],
    ["an empty string", ""],
    ["a number", 42],
    ["null", null],
    ["an array", ["ada@example.com"]],
  ])("refuses an address of %s with 400 invalid_request and creates nothing", async (_name, email) => {
    const username = uniqueUsername("bad-email");
    const response = await postJson("/auth/register", { username, password: PASSWORD, email });
    const description = await expectError(response, 400, "invalid_request");
    expect(description).toMatch(/^email /);
    expect(await env.DB.prepare("SELECT 1 FROM users WHERE username_normalized = ?1").bind(username.toLowerCase()).first()).toBeNull();
  });
});

describe("POST /auth/password", () => {
  it("changes the password, revokes every other session and keeps the caller's, and records password_changed", async () => {
    const { username, userId, pair } = await accountWithEmail();
    const other = await signIn(username, PASSWORD);
    expect((await changePassword(pair.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(204);
    await expectError(await refresh(other.refresh_token), 400, "invalid_grant");
    expect((await refresh(pair.refresh_token)).status).toBe(200);
    await expectError(await login(username, PASSWORD), 401, "invalid_credentials");
    expect((await login(username, NEW_PASSWORD)).status).toBe(200);
    const [event] = await eventsOf(userId, "password_changed");
    expect(event).toMatchObject({ sub: userId, session_id: pair.session_id, detail: { revoked_session_ids: [other.session_id] } });
    expect(logs.lines.join("\n")).not.toContain(NEW_PASSWORD);
    expect(JSON.stringify(await eventsOf(userId))).not.toContain(NEW_PASSWORD);
  });

  it("answers a wrong current password 401 invalid_credentials, counted as a failed login until 429", async () => {
    const { username, userId, pair } = await accountWithEmail();
    const ip = uniqueIp();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await expectError(await changePassword(pair.access_token, { current_password: "not the password", new_password: NEW_PASSWORD }, fromIp(ip)), 401, "invalid_credentials");
    }
    await expectError(await changePassword(pair.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD }, fromIp(ip)), 429, "too_many_requests");
    await expectError(await login(username, PASSWORD, fromIp(ip)), 429, "too_many_requests");
    const failures = await eventsOf(userId, "login_failed");
    expect(failures).toHaveLength(5);
    expect(failures[0]!.detail).toEqual({ reason: "wrong_password", route: "password_change" });
    // Nothing changed.
    expect((await login(username, PASSWORD)).status).toBe(200);
  });

  it.each([
    ["a new password of 7 characters", { current_password: PASSWORD, new_password: "1234567" }],
    ["a new password of 257 characters", { current_password: PASSWORD, new_password: "p".repeat(257) }],
    ["no current password", { new_password: NEW_PASSWORD }],
    ["a current password that is a number", { current_password: 12345678, new_password: NEW_PASSWORD }],
  ])("answers 400 invalid_request to %s", async (_name, body) => {
    const { pair } = await accountWithEmail();
    await expectError(await changePassword(pair.access_token, body), 400, "invalid_request");
  });

  it("answers 401 without a token, and 401 invalid_credentials to an account without a password", async () => {
    expect((await postJson("/auth/password", { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(401);
    const pair = await openSession(uniqueSub("no-password"));
    await expectError(await changePassword(pair.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD }), 401, "invalid_credentials");
  });
});

describe("DELETE /auth/account", () => {
  it("with the password: every session revoked, the user row, session records and the object's storage gone, events anonymised, account_deleted", async () => {
    const { username, userId, pair } = await accountWithEmail();
    const other = await signIn(username, PASSWORD);
    await drainEvents(userId);
    expect((await eventsOf(userId, "login")).every((event) => event.detail !== null)).toBe(true);

    const deleted = await deleteAccount(pair.access_token, { password: PASSWORD }, fromIp("203.0.113.9"));
    expect(deleted.status).toBe(204);
    await expectError(await refresh(pair.refresh_token), 400, "invalid_grant");
    await expectError(await refresh(other.refresh_token), 400, "invalid_grant");
    await expectError(await login(username, PASSWORD), 401, "invalid_credentials");
    expect(await userRow(userId)).toBeNull();

    await drainEvents(userId);
    const { results: sessions } = await env.DB.prepare("SELECT id FROM sessions WHERE user_id = ?1").bind(userId).all();
    expect(sessions).toEqual([]);
    const events = await eventsOf(userId);
    expect(events.map((event) => event.type)).toContain("account_deleted");
    for (const event of events) expect(event).toMatchObject({ ip: null, detail: null });
    // The object holds nothing of the user: every table it has is empty.
    const rows = await runInDurableObject(userAuthStub(userId), (_instance, state) => {
      const sql = state.storage.sql;
      const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'schema_versions'").toArray();
      return Object.fromEntries(tables.map(({ name }) => [name, sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${name}`).one().n]));
    });
    expect(Object.values(rows).every((count) => count === 0), JSON.stringify(rows)).toBe(true);
    expect(await runInDurableObject(userAuthStub(userId), (_instance, state) => state.storage.getAlarm())).toBeNull();
  });

  it("refuses a wrong or missing password with 401 invalid_credentials and deletes nothing", async () => {
    const { username, userId, pair } = await accountWithEmail();
    await expectError(await deleteAccount(pair.access_token, { password: "not the password" }), 401, "invalid_credentials");
    await expectError(await deleteAccount(pair.access_token), 401, "invalid_credentials");
    await expectError(await deleteAccount(pair.access_token, {}), 401, "invalid_credentials");
    expect(await userRow(userId)).not.toBeNull();
    expect((await refresh(pair.refresh_token)).status).toBe(200);
    expect((await login(username, PASSWORD)).status).toBe(200);
  });

  it("deletes an account without a password from a session signed in within five minutes, and refuses an older one with 401 reauthentication_required", async () => {
    const sub = uniqueSub("no-password");
    const pair = await openSession(sub);
    const stale = await signedWithTestKey(accessTokenClaims({ sub, sid: pair.session_id, auth_time: Math.floor(Date.now() / 1000) - 301 }));
    await expectError(await deleteAccount(stale), 401, "reauthentication_required");
    expect((await refresh(pair.refresh_token)).status).toBe(200);

    const fresh = await openSession(sub);
    expect((await deleteAccount(fresh.access_token)).status).toBe(204);
    await expectError(await refresh(fresh.refresh_token), 400, "invalid_grant");
  });

  it("answers 400 to a body that is not a JSON object and 401 without a token", async () => {
    const { pair } = await accountWithEmail();
    await expectError(await deleteAccount(pair.access_token, ["password"]), 400, "invalid_request");
    await expectError(await deleteAccount(pair.access_token, { password: 42 }), 400, "invalid_request");
    expect((await call("/auth/account", { method: "DELETE" })).status).toBe(401);
  });
});

describe("GET /auth/account", () => {
  it("shows a password account with its address, and no second factor, passkey or identity", async () => {
    const email = uniqueEmail("Show");
    const { username, userId, pair } = await accountWithEmail(email);
    const response = await account(pair.access_token);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as AccountResponse;
    expect(body).toEqual({
      user_id: userId,
      username,
      email: email.toLowerCase(),
      email_verified: false,
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      mfa: { totp: false, recovery_codes_left: 0 },
      passkeys: 0,
      identities: [],
    });
    expect(Object.keys(body)).toEqual(["user_id", "username", "email", "email_verified", "created_at", "mfa", "passkeys", "identities"]);
  });

  it("shows a user without a password with null username and address, and its identities", async () => {
    const sub = uniqueSub("federated");
    await env.DB.prepare("INSERT INTO identities (provider, subject, user_id, email, created_at) VALUES ('acme', ?1, ?2, 'ada@acme.test', ?3)").bind(crypto.randomUUID(), sub, Date.UTC(2026, 0, 2)).run();
    const pair = await openSession(sub);
    const body = (await (await account(pair.access_token)).json()) as AccountResponse;
    expect(body).toMatchObject({ user_id: sub, username: null, email: null, email_verified: false, created_at: "2026-01-02T00:00:00.000Z", identities: [{ provider: "acme", email: "ada@acme.test" }] });
  });

  it("answers 503 with Retry-After while D1 is away, and 401 without a token", async () => {
    const { pair } = await accountWithEmail();
    await withD1TableOffline("users", async () => {
      const response = await account(pair.access_token);
      await expectError(response, 503, "temporarily_unavailable");
      expect(response.headers.get("Retry-After")).toMatch(/^\d+$/);
    });
    expect((await call("/auth/account")).status).toBe(401);
  });
});

describe("the account routes while D1 is away", () => {
  it("answer 503 with Retry-After, and a deletion deletes nothing of the user's object first", async () => {
    const { username, pair } = await accountWithEmail();
    await withD1TableOffline("users", async () => {
      const answers = [
        await forgot({ username }, {}, { DEV_MESSAGE_LOG: "true" }),
        await changePassword(pair.access_token, { current_password: PASSWORD, new_password: NEW_PASSWORD }),
        await deleteAccount(pair.access_token, { password: PASSWORD }),
        await call("/auth/admin/users?username=abc", { headers: adminHeaders }),
      ];
      for (const answer of answers) {
        await expectError(answer, 503, "temporarily_unavailable");
        expect(answer.headers.get("Retry-After")).toMatch(/^\d+$/);
      }
    });
    expect((await refresh(pair.refresh_token)).status).toBe(200);
    expect((await login(username, PASSWORD)).status).toBe(200);
  });
});

describe("forgot password without a webhook receiver, outside local dev", () => {
  it("answers 503 server_misconfigured rather than dropping the message, and so does the verification code", async () => {
    const { username, pair } = await accountWithEmail();
    const description = await expectError(await forgot({ username }), 503, "server_misconfigured");
    expect(description).toContain("WEBHOOK_URL");
    await expectError(await call("/auth/email/verification", { method: "POST", headers: bearer(pair.access_token) }), 503, "server_misconfigured");
  });

  it("answers 202 in local dev, where DEV_MESSAGE_LOG sends messages to the log", async () => {
    expect((await forgot({ username: uniqueUsername("nobody") }, {}, { DEV_MESSAGE_LOG: "true" })).status).toBe(202);
  });
});

describe("GET /auth/admin/users", () => {
  it("finds an account by username or by address, in any case, and answers [] for nobody", async () => {
    const email = uniqueEmail("Find");
    const { username, userId } = await accountWithEmail(email);
    for (const query of [`username=${username.toUpperCase()}`, `email=${encodeURIComponent(email.toUpperCase())}`]) {
      const response = await call(`/auth/admin/users?${query}`, { headers: adminHeaders });
      expect(response.status).toBe(200);
      expect(((await response.json()) as AdminUserList).users).toEqual([
        { user_id: userId, username, email: email.toLowerCase(), email_verified: false, created_at: expect.any(String) },
      ]);
    }
    const none = await call(`/auth/admin/users?username=${uniqueUsername("nobody")}`, { headers: adminHeaders });
    expect(await none.json()).toEqual({ users: [] });
  });

  it.each([["neither", ""], ["both", "username=abc&email=a@b.co"], ["a bad address", "email=nope"], ["a repeated username", "username=abc&username=abd"]])(
    "answers 400 invalid_request to %s",
    async (_name, query) => {
      await expectError(await call(`/auth/admin/users?${query}`, { headers: adminHeaders }), 400, "invalid_request");
    },
  );

  it("answers 401 without the admin token", async () => {
    expect((await call("/auth/admin/users?username=abc")).status).toBe(401);
    expect((await call("/auth/admin/users/abc")).status).toBe(401);
  });
});

describe("GET /auth/admin/users/:sub", () => {
  it("shows the account and its active sessions from the user's object", async () => {
    const { username, userId, pair } = await accountWithEmail();
    const other = await signIn(username, PASSWORD);
    const response = await call(`/auth/admin/users/${userId}`, { headers: adminHeaders });
    expect(response.status).toBe(200);
    const body = (await response.json()) as AdminUserDetail;
    expect(body).toMatchObject({ user_id: userId, username, mfa: { totp: false, recovery_codes_left: 0 }, passkeys: 0, identities: [] });
    expect(body.sessions.map((session) => session.id).sort()).toEqual([pair.session_id, other.session_id].sort());
    expect(body.sessions[0]).toEqual({
      id: expect.any(String),
      created_at: expect.any(String),
      last_used_at: expect.any(String),
      expires_at: expect.any(String),
      user_agent: null,
      ip: null,
      amr: ["pwd"],
      auth_time: expect.any(String),
      current: false,
    });
  });

  it("shows a user known only by admin-opened sessions, and 404 for a sub with no account and no session", async () => {
    const sub = uniqueSub("admin-only");
    await openSession(sub);
    const body = (await (await call(`/auth/admin/users/${sub}`, { headers: adminHeaders })).json()) as AdminUserDetail;
    expect(body).toMatchObject({ user_id: sub, username: null, created_at: null, sessions: [expect.objectContaining({ amr: ["adm"] })] });
    await expectError(await call(`/auth/admin/users/${uniqueSub("nobody")}`, { headers: adminHeaders }), 404, "not_found");
  });

  it("answers 400 to a sub out of the user-id rule", async () => {
    await expectError(await call(`/auth/admin/users/${"x".repeat(256)}`, { headers: adminHeaders }), 400, "invalid_request");
    await expectError(await call("/auth/admin/users/%20a", { headers: adminHeaders }), 400, "invalid_request");
  });
});

describe("what was still in the EVENTS queue when the account was deleted", () => {
  it("lands anonymised (events) or not at all (session records), while a later user of the same sub is recorded as usual", async () => {
    const { auditEvent } = await import("../../src/db/events");
    const { redeliver } = await import("../queue-ledger");
    const worker = (await import("../../src/index")).default;
    const sub = uniqueSub("late");
    const pair = await openSession(sub);
    await drainEvents(sub);
    const before = Date.now() - 1000;
    expect((await deleteAccount(pair.access_token)).status).toBe(204);
    const after = Date.now() + 1000;

    const stale = auditEvent({ type: "refresh", sub, session_id: pair.session_id, at: before, ip: "198.51.100.7", detail: { generation: 1 } });
    const later = auditEvent({ type: "login", sub, session_id: crypto.randomUUID(), at: after, ip: "198.51.100.8", detail: { method: "password" } });
    const record = (id: string, createdAt: number) => ({ id, user_id: sub, created_at: createdAt, last_used_at: createdAt, expires_at: null, revoked_at: null, revoked_reason: null, user_agent: "agent", ip: "198.51.100.9", rotation_count: 0 });
    const staleSession = crypto.randomUUID();
    const laterSession = crypto.randomUUID();
    await redeliver(
      worker as never,
      [
        { kind: "event", event: stale },
        { kind: "event", event: later },
        { kind: "session", record: record(staleSession, before), version: 1 },
        { kind: "session", record: record(laterSession, after), version: 1 },
      ].map((body) => ({ queue: "edge-auth-gateway-events", body: body as never, attempts: 0, outcome: "retry" as const })),
      env as never,
    );

    const events = await eventsOf(sub);
    expect(events.find((event) => event.type === "refresh")).toMatchObject({ ip: null, detail: null });
    expect(events.find((event) => event.type === "login")).toMatchObject({ ip: "198.51.100.8", detail: { method: "password" } });
    const ids = (await env.DB.prepare("SELECT id FROM sessions WHERE user_id = ?1").bind(sub).all<{ id: string }>()).results.map((row) => row.id);
    expect(ids).toEqual([laterSession]);
  });
});

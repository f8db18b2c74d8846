import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PASSWORD_ITERATIONS, hashPassword } from "../src/accounts/passwords";
import {
  attemptsIn,
  bearer,
  call,
  eventsFrom,
  eventsOf,
  expectError,
  fromIp,
  letTimePass,
  login,
  PASSWORD,
  pbkdf2RunsDuring,
  postJson,
  refresh,
  register,
  registerUser,
  storedIn,
  throttleOfAddress,
  type TokenResponse,
  uniqueIp,
  uniqueUsername,
  type Vars,
} from "./helpers";

function userRow(userId: string) {
  return env.DB.prepare("SELECT * FROM users WHERE id = ?1").bind(userId).first<{
    username: string;
    username_normalized: string;
    password_hash: string;
    password_updated_at: number;
  }>();
}

describe("POST /auth/register", () => {
  it("creates a user with a random id, not the username, and stores only a salted PBKDF2 hash", async () => {
    const username = uniqueUsername("Alice");
    const response = await register(username);
    expect(response.status).toBe(201);
    const body = (await response.json()) as { user_id: string };
    expect(Object.keys(body)).toEqual(["user_id"]);
    expect(body.user_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(body.user_id).not.toContain(username.toLowerCase());

    const row = await userRow(body.user_id);
    expect(row).toMatchObject({ username, username_normalized: username.toLowerCase() });
    expect(row!.password_hash).toMatch(new RegExp(`^pbkdf2-sha256\\$${PASSWORD_ITERATIONS}\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`));
    expect(row!.password_hash).not.toContain(PASSWORD);
  });

  it("refuses a username that differs from an existing one only in case with 409 username_taken", async () => {
    const username = uniqueUsername("bob");
    await registerUser(username);
    for (const again of [username, username.toUpperCase()]) {
      await expectError(await register(again, "another password"), 409, "username_taken");
    }
  });

  it("lets exactly one of many parallel registrations of one name win", async () => {
    const username = uniqueUsername("race");
    const variants = Array.from({ length: 10 }, (_, i) => (i % 2 ? username.toUpperCase() : username));
    const responses = await Promise.all(variants.map((name) => register(name)));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([201, ...Array(9).fill(409)]);
    const { results } = await env.DB.prepare("SELECT id FROM users WHERE username_normalized = ?1").bind(username.toLowerCase()).all();
    expect(results).toHaveLength(1);
  });

  it("accepts usernames of 3 and 64 characters of [A-Za-z0-9._@-] and passwords of 8 and 256 characters", async () => {
    const suffix = crypto.randomUUID().slice(0, 2);
    expect((await register(`a${suffix}`, "12345678")).status).toBe(201);
    expect((await register(`${"x".repeat(54)}.${crypto.randomUUID().slice(0, 9)}`, "p".repeat(256))).status).toBe(201);
    expect((await register(`Mixed.Case_user-${suffix}@example.com`, "pässwörd🙂")).status).toBe(201);
  });

  it.each([
    ["a username of 2 characters", { username: "ab", password: PASSWORD }],
    ["a username of 65 characters", { username: "u".repeat(65), password: PASSWORD }],
    ["a username with a space", { username: "bad name", password: PASSWORD }],
    ["a username with a slash", { username: "bad/name", password: PASSWORD }],
    ["a username with non-ASCII letters", { username: "jürgen", password: PASSWORD }],
    ["a password of 7 characters", { username: "validname", password: "1234567" }],
    ["a password of 257 characters", { username: "validname", password: "p".repeat(257) }],
    ["a numeric username", { username: 12345, password: PASSWORD }],
    ["a null password", { username: "validname", password: null }],
    ["an array password", { username: "validname", password: [PASSWORD] }],
    ["no username", { password: PASSWORD }],
    ["no password", { username: "validname" }],
    ["an empty object", {}],
  ])("answers 400 invalid_request to %s and creates nobody", async (_case, body) => {
    await expectError(await postJson("/auth/register", body), 400, "invalid_request");
    const { results } = await env.DB.prepare("SELECT id FROM users WHERE username_normalized = 'validname'").all();
    expect(results).toHaveLength(0);
  });

  it("says in its own words which field is wrong and what it takes", async () => {
    const cases: Array<[unknown, string]> = [
      [{ username: "ab", password: PASSWORD }, "username must be 3 to 64 characters of letters, digits and . _ @ -"],
      [{ username: "bad/name", password: PASSWORD }, "username must be 3 to 64 characters of letters, digits and . _ @ -"],
      [{ password: PASSWORD }, "username must be 3 to 64 characters of letters, digits and . _ @ -"],
      [{ username: "validname", password: "1234567" }, "password must be 8 to 256 characters"],
      [{ username: "validname", password: 12345678 }, "password must be 8 to 256 characters"],
      [[], "The request body must be a JSON object."],
    ];
    for (const [body, description] of cases) {
      expect(await (await postJson("/auth/register", body)).json(), JSON.stringify(body)).toEqual({ error: "invalid_request", error_description: description });
    }
  });

  it("answers 404 with ALLOW_REGISTRATION=false and creates nobody, while existing users still log in", async () => {
    const existing = await registerUser();
    const username = uniqueUsername("closed");
    await expectError(await register(username, PASSWORD, {}, { ALLOW_REGISTRATION: "false" }), 404, "not_found");
    const { results } = await env.DB.prepare("SELECT id FROM users WHERE username_normalized = ?1").bind(username).all();
    expect(results).toHaveLength(0);
    expect((await login(existing.username, PASSWORD, {}, { ALLOW_REGISTRATION: "false" })).status).toBe(200);
  });

  it("answers 429 with Retry-After once an address made REGISTRATIONS_PER_IP_PER_HOUR (20) attempts, taken names included", async () => {
    const ip = uniqueIp();
    const first = uniqueUsername("first");
    const registerFrom = (username: string, from = ip) => register(username, PASSWORD, fromIp(from));

    expect((await registerFrom(first)).status).toBe(201);
    expect((await registerFrom(first)).status).toBe(409);
    for (let attempt = 2; attempt < 20; attempt += 1) expect((await registerFrom(uniqueUsername("more"))).status).toBe(201);
    const refused = await registerFrom(uniqueUsername("over"));
    await expectError(refused, 429, "too_many_requests");
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);

    // Another address is not affected.
    expect((await registerFrom(uniqueUsername("other"), uniqueIp())).status).toBe(201);
  });

  it("counts registrations in the address's one login-limit object, which deletes itself once the hour has passed", async () => {
    const ip = uniqueIp();
    const throttle = throttleOfAddress(ip);
    expect((await register(uniqueUsername("counted"), PASSWORD, fromIp(ip))).status).toBe(201);
    expect((await login(uniqueUsername("ghost"), "wrong password", fromIp(ip))).status).toBe(401);
    expect(await attemptsIn(throttle)).toBe(2);

    // The failed login leaves the window (900 s) first; the registration counts for the hour.
    await letTimePass(throttle, 900);
    expect(await attemptsIn(throttle)).toBe(1);
    await letTimePass(throttle, 2_700);
    expect(await storedIn(throttle)).toMatchObject({ tables: [], alarm: null });
  });
});

describe("POST /auth/login", () => {
  it("answers a TokenResponse whose access token reaches the origin as the user and whose refresh token works", async () => {
    const { username, userId } = await registerUser();
    const response = await login(username.toUpperCase(), PASSWORD, { "User-Agent": "accounts-test" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const pair = (await response.json()) as TokenResponse;
    expect(pair).toEqual({
      access_token: expect.any(String),
      token_type: "Bearer",
      expires_in: 300,
      refresh_token: expect.stringMatching(/^rt1\./),
      session_id: expect.any(String),
    });

    const api = await call("/api/me", { headers: bearer(pair.access_token) });
    expect(api.status).toBe(200);
    const forwarded = ((await api.json()) as { headers: Record<string, string> }).headers;
    expect(forwarded["x-auth-user"]).toBe(userId);
    expect(forwarded["x-auth-session"]).toBe(pair.session_id);

    expect((await refresh(pair.refresh_token)).status).toBe(200);
  });

  it("records a login event for the user and lists the new session", async () => {
    const { username, userId } = await registerUser();
    const ip = uniqueIp();
    const pair = (await (await login(username, PASSWORD, fromIp(ip))).json()) as TokenResponse;
    const events = await eventsOf(userId, "login");
    expect(events).toEqual([expect.objectContaining({ type: "login", sub: userId, session_id: pair.session_id, ip })]);
    expect(await eventsOf(userId, "session_created")).toEqual([]);
    const sessions = (await (await call("/auth/sessions", { headers: bearer(pair.access_token) })).json()) as { sessions: Array<{ id: string }> };
    expect(sessions.sessions.map((session) => session.id)).toEqual([pair.session_id]);
  });

  it("gives a wrong password and an unknown username the identical 401 invalid_credentials", async () => {
    const { username } = await registerUser();
    const wrong = await login(username, "not the password");
    const unknown = await login(uniqueUsername("nobody"), "not the password");
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const wrongBody = await wrong.text();
    expect(await unknown.text()).toBe(wrongBody);
    expect(JSON.parse(wrongBody)).toEqual({ error: "invalid_credentials", error_description: expect.any(String) });
    for (const header of ["Content-Type", "Cache-Control", "WWW-Authenticate", "Retry-After"]) {
      expect(unknown.headers.get(header)).toBe(wrong.headers.get(header));
    }
  });

  it("runs one full password hash for an unknown username, as for a wrong password", async () => {
    const { username } = await registerUser();
    const vars = { LOGIN_MAX_FAILURES_PER_USERNAME: "1000" };
    const hashesOf = (name: string) =>
      pbkdf2RunsDuring(async () => expect((await login(name, "not the password", {}, vars)).status).toBe(401));
    const wrong = await hashesOf(username);
    // The unknown username runs the dummy hash: the same key derivation, at the current cost.
    const unknown = await hashesOf(uniqueUsername("ghost"));
    expect(wrong).toEqual([{ hash: "SHA-256", iterations: PASSWORD_ITERATIONS, saltBytes: 16, bits: 256 }]);
    expect(unknown).toEqual(wrong);
  });

  it("records login_failed with the user id for a wrong password, and without any username for an unknown one", async () => {
    const { username, userId } = await registerUser();
    const ip = uniqueIp();
    await login(username, "not the password", fromIp(ip));
    const ghost = uniqueUsername("ghost");
    await login(ghost, "hunter2-typed-into-the-wrong-field", fromIp(ip));

    const events = await eventsFrom(ip, "login_failed");
    expect(events).toHaveLength(2);
    expect(events).toContainEqual(expect.objectContaining({ sub: userId, session_id: null, detail: { reason: "wrong_password" } }));
    expect(events).toContainEqual(expect.objectContaining({ sub: null, session_id: null, detail: { reason: "unknown_username" } }));
    expect(JSON.stringify(events)).not.toContain(ghost);
    expect(JSON.stringify(events)).not.toContain("hunter2");
    expect(await eventsOf(userId, "login")).toEqual([]);
  });

  it.each([
    ["a numeric password", { username: "someone", password: 12345678 }],
    ["a missing password", { username: "someone" }],
    ["an empty password", { username: "someone", password: "" }],
    ["a password over 256 characters", { username: "someone", password: "p".repeat(257) }],
    ["an object username", { username: { $ne: "" }, password: PASSWORD }],
    ["a username over 64 characters", { username: "u".repeat(65), password: PASSWORD }],
  ])("answers 400 invalid_request to %s, without counting a failure", async (_case, body) => {
    await expectError(await postJson("/auth/login", body, {}, { LOGIN_MAX_FAILURES_PER_USERNAME: "1" }), 400, "invalid_request");
  });

  it("re-hashes a password stored with fewer iterations on the next successful login", async () => {
    const username = uniqueUsername("legacy");
    const userId = crypto.randomUUID();
    const oldHash = await hashPassword(PASSWORD, 1_000);
    await env.DB.prepare(
      `INSERT INTO users (id, username, username_normalized, password_hash, created_at, password_updated_at)
       VALUES (?1, ?2, ?2, ?3, 0, 0)`,
    )
      .bind(userId, username, oldHash)
      .run();

    // A wrong password changes nothing.
    expect((await login(username, "not the password")).status).toBe(401);
    expect((await userRow(userId))!.password_hash).toBe(oldHash);

    expect((await login(username, PASSWORD)).status).toBe(200);
    const row = (await userRow(userId))!;
    expect(row.password_hash).not.toBe(oldHash);
    expect(row.password_hash.startsWith(`pbkdf2-sha256$${PASSWORD_ITERATIONS}$`)).toBe(true);
    expect(row.password_updated_at).toBeGreaterThan(0);

    // The upgraded hash is the same password.
    expect((await login(username, PASSWORD)).status).toBe(200);
    expect((await login(username, "not the password")).status).toBe(401);
    expect((await userRow(userId))!.password_hash).toBe(row.password_hash);
  });
});

import { SignJWT, importJWK } from "jose";
import { describe, expect, inject, it } from "vitest";
import {
  adminHeaders,
  bearer,
  call,
  drainEvents,
  expectError,
  fromIp,
  login,
  openSession,
  PASSWORD,
  postJson,
  refresh,
  registerUser,
  TEST_SIGNING_KEYS,
  uniqueIp,
  uniqueSub,
} from "../helpers";

// The bench worker (bench/worker.ts, bench/wrangler.toml): the production worker plus the routes
// `npm run bench` measures against. Here `exports.default` is the bench worker.

// Where the bench worker's variables differ from production's, and why (bench/wrangler.toml).
const BENCH_VARS = {
  PUBLIC_PATH_PREFIXES: "/bench/pass-through",
  LOGIN_MAX_FAILURES_PER_IP: "1000",
  REGISTRATIONS_PER_IP_PER_HOUR: "1000",
};
const ADMIN_ONLY = [
  ["/bench/refresh-floor", "POST"],
  ["/bench/password-floor", "POST"],
  ["/bench/verify", "POST"],
  ["/bench/d1-writes?prefix=x", "GET"],
  ["/bench/object-bytes?user=x", "GET"],
  ["/bench/login-failures", "POST"],
  ["/bench/audit-rows", "POST"],
  ["/bench/housekeeping", "POST"],
  ["/bench/events-queue", "GET"],
  ["/bench/passkey-floor/login", "POST"],
] as const;

describe("the bench worker's configuration", () => {
  it("is the production worker's but for the bench's own variables: same variables, runtime and D1 migrations", () => {
    const { production, bench } = inject("workerConfigs");
    expect(bench.compatibilityDate).toBe(production.compatibilityDate);
    expect(bench.compatibilityFlags).toEqual(production.compatibilityFlags);
    expect(bench.migrationsDir).toBe(production.migrationsDir);
    expect(Object.keys(bench.vars).sort()).toEqual(Object.keys(production.vars).sort());
    const differing = Object.keys(production.vars).filter((name) => bench.vars[name] !== production.vars[name]);
    expect(Object.fromEntries(differing.map((name) => [name, bench.vars[name]]))).toEqual(BENCH_VARS);
  });

  it("has the production worker's queues, under names of its own: the EVENTS producer, the consumers' batching and retries", () => {
    const { production, bench } = inject("workerConfigs");
    expect(bench.queues.producers).toEqual(production.queues.producers);
    const settings = (consumers: Array<Record<string, unknown>>) => consumers.map(({ dead_letter_queue: dlq, ...rest }) => ({ ...rest, dlq: dlq !== undefined }));
    expect(settings(bench.queues.consumers)).toEqual(settings(production.queues.consumers));
  });
});

describe("the bench worker", () => {
  it("answers every other path as the production worker does", async () => {
    expect((await call("/api/ping")).status).toBe(401);
    expect((await call("/bench/other")).status).toBe(401);
    const sub = uniqueSub("bench-gateway");
    const session = await openSession(sub);
    const proxied = await call("/api/ping", { headers: bearer(session.access_token) });
    expect(proxied.status).toBe(200);
    expect(await proxied.json()).toMatchObject({ path: "/api/ping", headers: { "x-auth-user": sub } });
    expect((await refresh(session.refresh_token)).status).toBe(200);
  });

  it("forwards /bench/pass-through/ as a public path: no token checked, none forwarded, the echo origin answers", async () => {
    const { access_token } = await openSession(uniqueSub("bench-pass"));
    const passed = await call("/bench/pass-through/ping?x=1", { headers: { "X-Bench-Token": access_token } });
    expect(passed.status).toBe(200);
    const echoed = (await passed.json()) as { method: string; path: string; query: unknown; headers: Record<string, string> };
    expect(echoed).toMatchObject({ method: "GET", path: "/bench/pass-through/ping", query: { x: "1" } });
    expect(echoed.headers["x-auth-user"]).toBeUndefined();
  });

  it("answers its own routes only with the admin token", async () => {
    for (const [path, method] of ADMIN_ONLY) {
      for (const headers of [{}, bearer("not-the-admin-token")]) {
        const response = await call(path, { method, headers: { "Content-Type": "application/json", ...headers }, body: method === "POST" ? "{}" : undefined });
        expect(response.status, path).toBe(401);
        expect(response.headers.get("WWW-Authenticate"), path).toBe(`Bearer realm="admin"`);
        expect(await response.json(), path).toMatchObject({ error: "unauthorized" });
      }
    }
  });

  it("answers bad input to its routes with 400, never a 500", async () => {
    const cases: Array<[string, string]> = [
      ["/bench/refresh-floor", "not json"],
      ["/bench/refresh-floor", "null"],
      ["/bench/refresh-floor", `{"user":""}`],
      ["/bench/verify", "[]"],
      ["/bench/verify", `{"tokens":[1],"batches":1,"iterations":10}`],
      ["/bench/verify", `{"tokens":[],"batches":21,"iterations":10}`],
      ["/bench/verify", `{"tokens":[],"batches":1,"iterations":5001}`],
      ["/bench/login-failures", "{}"],
      ["/bench/login-failures", `{"username":"a.b","ip":"10.0.0.1","perUsername":10001,"perAddress":0}`],
      ["/bench/login-failures", `{"username":"a.b","ip":"10.0.0.1","perUsername":-1,"perAddress":0}`],
      ["/bench/login-failures", `{"username":"","ip":"10.0.0.1","perUsername":1,"perAddress":1}`],
      ["/bench/audit-rows", `{"count":250001,"due":0}`],
      ["/bench/audit-rows", `{"count":10,"due":11}`],
      ["/bench/audit-rows", `{"count":1.5,"due":0}`],
    ];
    for (const [path, body] of cases) {
      const response = await call(path, { method: "POST", headers: { ...adminHeaders, "Content-Type": "application/json" }, body });
      expect(response.status, `${path} ${body}`).toBe(400);
      expect(await response.json(), `${path} ${body}`).toMatchObject({ error: "invalid_request" });
    }
    const noPrefix = await call("/bench/d1-writes", { headers: adminHeaders });
    expect(noPrefix.status).toBe(400);
    const noUser = await call("/bench/object-bytes", { headers: adminHeaders });
    expect(noUser.status).toBe(400);
  });

  it("answers the refresh floor with a token response whose access token the gateway accepts, one generation per call", async () => {
    const user = uniqueSub("floor");
    const first = await postJson("/bench/refresh-floor", { user }, adminHeaders);
    expect(first.status).toBe(200);
    const body = (await first.json()) as { access_token: string };
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 300, refresh_token: `floor.${user}.1`, session_id: user });
    const proxied = await call("/api/ping", { headers: bearer(body.access_token) });
    expect(await proxied.json()).toMatchObject({ headers: { "x-auth-user": user, "x-auth-session": user } });

    const [second, third] = await Promise.all([1, 2].map(async () => (await (await postJson("/bench/refresh-floor", { user }, adminHeaders)).json()) as { refresh_token: string }));
    expect([second!.refresh_token, third!.refresh_token].sort()).toEqual([`floor.${user}.2`, `floor.${user}.3`]);
  });

  it("answers the introspection floor as introspection answers an active token, behind the same Bearer check", async () => {
    const form = (body: string, headers: Record<string, string> = adminHeaders) =>
      call("/bench/introspect-floor", { method: "POST", headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" }, body });
    const unauthorized = await form(`token=${uniqueSub("floor")}`, bearer("not-the-admin-token"));
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("WWW-Authenticate")).toBe(`Bearer realm="introspection"`);
    expect((await form("")).status).toBe(400);
    const answer = await form(`token=${uniqueSub("floor")}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("Cache-Control")).toBe("no-store");
    expect(await answer.json()).toEqual({ active: true });
  });

  it("answers the password floor after one PBKDF2 derivation", async () => {
    const response = await postJson("/bench/password-floor", {}, adminHeaders);
    expect(response.status).toBe(204);
  });

  it("times the verification of each token by the floor, the gateway and Hono", async () => {
    const signer = TEST_SIGNING_KEYS[0]!;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sid: "bench-verify" })
      .setProtectedHeader({ alg: signer.alg!, kid: signer.kid!, typ: "at+jwt" })
      .setIssuer("http://127.0.0.1:8787")
      .setAudience("edge-auth-gateway")
      .setSubject(uniqueSub("verify"))
      .setJti(crypto.randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(await importJWK(signer, signer.alg!));
    const response = await postJson("/bench/verify", { tokens: [token], batches: 2, iterations: 200 }, adminHeaders);
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as { results: Array<Record<"floor" | "gateway" | "hono", number[]>> };
    expect(results).toHaveLength(1);
    for (const verifier of ["floor", "gateway", "hono"] as const) {
      expect(results[0]![verifier], verifier).toHaveLength(2);
      expect(results[0]![verifier].every((microseconds) => Number.isFinite(microseconds) && microseconds > 0), verifier).toBe(true);
    }
  });

  it("reports what reached D1 from the users of a prefix: their events and each session record's version", async () => {
    // `_` is a LIKE wildcard: in a prefix it must match only itself, not the neighbour's `x`.
    const prefix = `${uniqueSub("d1w")}_`;
    const sub = `${prefix}0`;
    const session = await openSession(sub);
    const neighbour = `${prefix.slice(0, -1)}x0`;
    await openSession(neighbour);
    await drainEvents(sub, neighbour);
    const read = async () => (await (await call(`/bench/d1-writes?prefix=${encodeURIComponent(prefix)}`, { headers: adminHeaders })).json()) as { events: number; eventTypes: Record<string, number>; versions: Record<string, number>; databaseBytes: number };
    const before = await read();
    expect(Object.keys(before.versions)).toEqual([session.session_id]);

    expect((await refresh(session.refresh_token)).status).toBe(200);
    await drainEvents(sub);
    const after = await read();
    expect(after.events).toBe(before.events + 1);
    expect(after.eventTypes).toEqual({ session_created: 1, refresh: 1 });
    expect(Object.keys(after.versions)).toEqual([session.session_id]);
    expect(after.databaseBytes).toBeGreaterThan(0);
  });

  it("reports what the EVENTS queue's consumer did: batches, messages, its D1 calls, and the backlog", async () => {
    const sub = uniqueSub("bench-queue");
    const session = await openSession(sub);
    await drainEvents(sub);
    const read = async () => (await (await call("/bench/events-queue", { headers: adminHeaders })).json()) as { batches: number; messages: number; d1Calls: number; inFlight: number; backlog: number };
    const before = await read();
    expect((await refresh(session.refresh_token)).status).toBe(200);
    await drainEvents(sub);
    const after = await read();
    expect(after.messages - before.messages).toBe(1);
    expect(after.d1Calls - before.d1Calls).toBe(after.batches - before.batches);
    expect(after).toMatchObject({ inFlight: 0, backlog: 0 });
  });

  it("reports the size of a user's object: the same after rotations, larger with more sessions", async () => {
    const sub = uniqueSub("bytes");
    const bytes = async () => ((await (await call(`/bench/object-bytes?user=${sub}`, { headers: adminHeaders })).json()) as { bytes: number }).bytes;
    let token = (await openSession(sub)).refresh_token;
    await drainEvents(sub);
    const oneSession = await bytes();
    expect(oneSession).toBeGreaterThan(0);
    for (let rotation = 0; rotation < 30; rotation += 1) {
      const response = await refresh(token);
      expect(response.status).toBe(200);
      token = ((await response.json()) as { refresh_token: string }).refresh_token;
    }
    await drainEvents(sub);
    expect(await bytes()).toBe(oneSession);
    for (let session = 0; session < 60; session += 1) await openSession(sub);
    await drainEvents(sub);
    expect(await bytes()).toBeGreaterThan(oneSession);
  });

  it("fills the login limits a login counts in, as that many failed logins would: the next login is refused", async () => {
    // bench/wrangler.toml: 100 failures per username, 1,000 per address.
    const byName = await registerUser();
    const seeded = await postJson("/bench/login-failures", { username: byName.username.toUpperCase(), ip: uniqueIp(), perUsername: 100, perAddress: 0 }, adminHeaders);
    expect(seeded.status).toBe(200);
    expect(await seeded.json()).toMatchObject({ perUsername: { added: 100 }, perAddress: { added: 0 } });
    await expectError(await login(byName.username, PASSWORD, fromIp(uniqueIp())), 429, "too_many_requests");

    const byAddress = await registerUser();
    const ip = uniqueIp();
    const filled = await postJson("/bench/login-failures", { username: uniqueSub("nobody"), ip, perUsername: 0, perAddress: 1000 }, adminHeaders);
    expect(await filled.json()).toMatchObject({ perAddress: { added: 1000 } });
    await expectError(await login(byAddress.username, PASSWORD, fromIp(ip)), 429, "too_many_requests");
    expect((await login(byAddress.username, PASSWORD, fromIp(uniqueIp()))).status).toBe(200);
  });

  it("seeds audit events in bulk, and the daily housekeeping purges the ones past retention", async () => {
    const read = async () => ((await (await call("/bench/d1-writes?prefix=bench-audit-", { headers: adminHeaders })).json()) as { events: number; eventTypes: Record<string, number> }).events;
    const before = await read();
    const seeded = await postJson("/bench/audit-rows", { count: 2000, due: 500 }, adminHeaders);
    expect(seeded.status).toBe(200);
    expect(await seeded.json()).toMatchObject({ events: expect.any(Number), databaseBytes: expect.any(Number) });
    expect(await read()).toBe(before + 2000);
    const listed = await call("/auth/admin/events?sub=bench-audit-7&limit=1000", { headers: adminHeaders });
    const { events } = (await listed.json()) as { events: Array<{ type: string; sub: string }> };
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((event) => event.sub === "bench-audit-7" && ["login", "logout", "refresh"].includes(event.type))).toBe(true);

    expect((await postJson("/bench/housekeeping", {}, adminHeaders)).status).toBe(204);
    expect(await read()).toBe(before + 1500);
  });
});

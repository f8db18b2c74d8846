// Faults: D1 failing under every route, and the user's Durable Object evicted between requests.
// Only the routes that cannot answer without D1 (register, login, the admin event listing) answer
// 503 temporarily_unavailable; everything else answers as usual, and what it recorded reaches D1
// once D1 is back (the queue's consumer retries what D1 refused). An evicted Durable Object comes
// back from its storage: rotation, grace and reuse detection do not depend on anything it held in
// memory, and neither does its outbox.
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  adminHeaders,
  bearer,
  call,
  drainEvents,
  eventsOf,
  openSession,
  outboxSize,
  PASSWORD,
  postJson,
  queueMark,
  redeliverRetries,
  refresh,
  runUserAlarm,
  uniqueIp,
  uniqueSub,
  uniqueUsername,
  userAuthStub,
  withD1TableOffline,
  withQueueRefusing,
  type TokenResponse,
} from "../helpers";

type Table = "sessions" | "events" | "users";

/** The D1 session records of a user, as the admin back end would query them. */
async function d1Sessions(sub: string) {
  const { results } = await env.DB.prepare("SELECT id, revoked_reason, rotation_count FROM sessions WHERE user_id = ?1").bind(sub).all<{
    id: string;
    revoked_reason: string | null;
    rotation_count: number;
  }>();
  return results;
}

async function rotate(pair: TokenResponse): Promise<TokenResponse> {
  const response = await refresh(pair.refresh_token);
  expect(response.status).toBe(200);
  return response.json();
}

const sortedTypes = async (sub: string) => (await eventsOf(sub)).map((event) => event.type).sort();

describe.each(["sessions", "events", "users"] as Table[])("D1 table %s unavailable", (table) => {
  it("answers every route as the contract says, 503 with Retry-After only where D1 is needed, never 500, and loses no record", async () => {
    // Before the outage: an account, and sessions to refresh, list, delete, log out and revoke.
    const username = uniqueUsername("fault");
    const ip = uniqueIp();
    const registered = await postJson("/auth/register", { username, password: PASSWORD }, { "CF-Connecting-IP": ip });
    expect(registered.status).toBe(201);
    const { user_id: userId } = (await registered.json()) as { user_id: string };
    const subA = uniqueSub("fault-a");
    const [a1, a2, a3, a4] = [await openSession(subA), await openSession(subA), await openSession(subA), await openSession(subA)];
    const subB = uniqueSub("fault-b");
    const b1 = await openSession(subB);
    const subC = uniqueSub("fault-c");
    await openSession(subC);
    const subR = uniqueSub("fault-reuse");
    const r0 = await openSession(subR);
    await rotate(await rotate(r0));

    const answers: Array<[string, Response, number]> = [];
    const subs = [userId, subA, subB, subC, subR];
    const mark = queueMark();
    await withD1TableOffline(table, async () => {
      const needsUsers = table === "users" ? 503 : null;
      const send = async (name: string, response: Promise<Response>, usual: number, unavailable: number | null = null) => {
        answers.push([name, await response, unavailable ?? usual]);
      };
      await send("POST /auth/register", postJson("/auth/register", { username: uniqueUsername("fault"), password: PASSWORD }, { "CF-Connecting-IP": uniqueIp() }), 201, needsUsers);
      await send("POST /auth/login", postJson("/auth/login", { username, password: PASSWORD }, { "CF-Connecting-IP": ip }), 200, needsUsers);
      await send("POST /auth/login (wrong password)", postJson("/auth/login", { username, password: "wrong password" }, { "CF-Connecting-IP": uniqueIp() }), 401, needsUsers);
      await send("POST /auth/refresh", refresh(a1.refresh_token), 200);
      await send("POST /auth/refresh (reused token)", refresh(r0.refresh_token), 400);
      await send("POST /auth/refresh (unknown token)", refresh("rt1.unknown"), 400);
      await send("GET /auth/sessions", call("/auth/sessions", { headers: bearer(a1.access_token) }), 200);
      await send("DELETE /auth/sessions/:id", call(`/auth/sessions/${a2.session_id}`, { method: "DELETE", headers: bearer(a1.access_token) }), 204);
      await send("POST /auth/logout (refresh token)", postJson("/auth/logout", { refresh_token: a3.refresh_token }), 204);
      await send("POST /auth/logout (Bearer)", call("/auth/logout", { method: "POST", headers: bearer(a4.access_token) }), 204);
      await send("POST /auth/logout-all", call("/auth/logout-all", { method: "POST", headers: bearer(b1.access_token) }), 204);
      await send("POST /auth/admin/sessions", postJson("/auth/admin/sessions", { sub: subA }, adminHeaders), 201);
      await send("POST /auth/admin/users/:sub/revoke", call(`/auth/admin/users/${encodeURIComponent(subC)}/revoke`, { method: "POST", headers: adminHeaders }), 204);
      await send("GET /auth/admin/events", call("/auth/admin/events", { headers: adminHeaders }), 200, table === "events" ? 503 : null);
      await send("GET /.well-known/jwks.json", call("/.well-known/jwks.json"), 200);
      await send("GET /api/x (gateway)", call("/api/x", { headers: bearer(a1.access_token) }), 200);
      await send("GET /auth/nowhere", call("/auth/nowhere"), 404);
      // Everything the objects recorded reaches the queue's consumer while the table is away.
      await drainEvents(...subs);
    });

    for (const [name, response, expected] of answers) {
      expect(response.status, name).toBe(expected);
      if (expected === 503) {
        expect(Number(response.headers.get("Retry-After")), name).toBeGreaterThan(0);
        expect(await response.json(), name).toMatchObject({ error: "temporarily_unavailable" });
      }
    }

    // The objects kept nothing back: what D1 refused waits in the queue, and once D1 is back the
    // retries (handed over at once here) write every record.
    for (const sub of subs) expect(await outboxSize(userAuthStub(sub)), sub).toBe(0);
    const retried = await redeliverRetries(mark);
    expect(retried.length > 0).toBe(table !== "users");
    expect(retried.filter((delivery) => delivery.outcome !== "ack")).toEqual([]);

    expect(await sortedTypes(userId)).toEqual(table === "users" ? [] : ["login", "login_failed"]);
    expect(await sortedTypes(subA)).toEqual(["logout", "logout", "refresh", "session_created", "session_created", "session_created", "session_created", "session_created", "session_revoked"]);
    expect(await sortedTypes(subB)).toEqual(["logout_all", "session_created"]);
    expect(await sortedTypes(subC)).toEqual(["admin_revoke", "session_created"]);
    expect(await sortedTypes(subR)).toEqual(["refresh", "refresh", "refresh_token_reuse", "session_created"]);

    const records = new Map((await d1Sessions(subA)).map((record) => [record.id, record]));
    expect(records.size).toBe(5);
    // Its rotation reaches D1 within the hour (records follow rotations at most hourly); the
    // object has it, and the refresh event above is in D1.
    expect(records.get(a1.session_id)).toMatchObject({ revoked_reason: null, rotation_count: 0 });
    expect(records.get(a2.session_id)).toMatchObject({ revoked_reason: "session_revoked" });
    expect(records.get(a3.session_id)).toMatchObject({ revoked_reason: "logout" });
    expect(records.get(a4.session_id)).toMatchObject({ revoked_reason: "logout" });
    expect((await d1Sessions(subR)).map((record) => record.revoked_reason)).toEqual(["reuse"]);
    expect((await d1Sessions(subC)).map((record) => record.revoked_reason)).toEqual(["admin_revoke"]);
  });
});

describe("a Durable Object evicted between requests", () => {
  it("still rotates on the next refresh, and still detects reuse of a token used before the eviction", async () => {
    const sub = uniqueSub("evict");
    const pair = await openSession(sub);
    const sibling = await openSession(sub);
    const stub = userAuthStub(sub);

    await evictDurableObject(stub);
    const first = await rotate(pair);
    await evictDurableObject(stub);
    const second = await rotate(first);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await eventsOf(sub, "refresh")).map((event) => event.detail)).toEqual([{ generation: 2 }, { generation: 1 }]);

    await evictDurableObject(stub);
    // The first token is two generations behind: reuse (rule 5), whatever the object forgot.
    const reused = await refresh(pair.refresh_token);
    expect(reused.status).toBe(400);
    const [reuse, ...more] = await eventsOf(sub, "refresh_token_reuse");
    expect(more).toEqual([]);
    expect(reuse!.detail).toMatchObject({ generations_behind: 2, revoked_session_ids: expect.arrayContaining([pair.session_id, sibling.session_id]) });
    for (const token of [second.refresh_token, sibling.refresh_token]) expect((await refresh(token)).status).toBe(400);
  });

  it("still answers a replay within the grace period with the same token after an eviction (rule 4 is in storage, not memory)", async () => {
    const sub = uniqueSub("evict-grace");
    const pair = await openSession(sub);
    const first = await rotate(pair);
    await evictDurableObject(userAuthStub(sub));
    const replay = await rotate(pair);
    expect(replay.refresh_token).toBe(first.refresh_token);
    expect(await eventsOf(sub, "refresh_grace_replay")).toHaveLength(1);
    expect(await eventsOf(sub, "refresh_token_reuse")).toEqual([]);
  });

  it("sends what it queued while the queue refused it even when it is evicted before the queue takes it", async () => {
    const sub = uniqueSub("evict-outbox");
    const pair = await openSession(sub);
    await drainEvents(sub);
    const stub = userAuthStub(sub);
    await withQueueRefusing(async () => {
      await rotate(pair);
      expect(await runUserAlarm(sub)).toBe(true);
      expect(await outboxSize(stub)).toBe(1);
      await evictDurableObject(stub);
    });
    // The alarm the failed send set survives the eviction and sends from storage.
    expect(await runUserAlarm(sub)).toBe(true);
    expect(await outboxSize(stub)).toBe(0);
    expect(await sortedTypes(sub)).toEqual(["refresh", "session_created"]);
  });
});

import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ISSUE_TIMES_KEPT } from "../src/sessions/refresh-rules";
import type { UserAuth } from "../src/sessions/user-auth";
import {
  ageSession,
  drainEvents,
  eventsOf,
  openSession,
  postJson,
  refresh,
  queueMark,
  redeliverRetries,
  retriedSince,
  sessionRecord,
  uniqueSub,
  userAuthStub,
  withD1TableOffline,
  type TokenResponse,
} from "./helpers";

// The UserAuth Durable Object's storage: bounded however long a session lives, durable across
// evictions, and a D1 outage neither fails a refresh nor loses its record (the queue retries it).

interface StorageSnapshot {
  sessions: number;
  outbox: number;
  issueTimesBytes: number;
  issueTimesCount: number;
  databaseSize: number;
}

function snapshot(sub: string): Promise<StorageSnapshot> {
  return runInDurableObject(userAuthStub(sub), (_instance: UserAuth, state) => {
    const sql = state.storage.sql;
    const issueTimes = sql.exec<{ bytes: number; count: number }>(
      "SELECT max(length(CAST(issue_times AS BLOB))) AS bytes, max(json_array_length(issue_times)) AS count FROM sessions",
    ).one();
    return {
      sessions: sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n,
      outbox: sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n,
      issueTimesBytes: issueTimes.bytes,
      issueTimesCount: issueTimes.count,
      databaseSize: sql.databaseSize,
    };
  });
}

function generationOf(sub: string, sessionId: string) {
  return runInDurableObject(userAuthStub(sub), (_instance: UserAuth, state) =>
    state.storage.sql.exec<{ generation: number }>("SELECT generation FROM sessions WHERE id = ?", sessionId).one().generation,
  );
}

async function rotate(pair: TokenResponse): Promise<TokenResponse> {
  const response = await refresh(pair.refresh_token);
  expect(response.status).toBe(200);
  return response.json();
}

async function rotateTimes(pair: TokenResponse, times: number) {
  let current = pair;
  for (let index = 0; index < times; index += 1) current = await rotate(current);
  return current;
}

describe("storage per session", () => {
  it("stays bounded over a 500-rotation chain", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const afterTen = await rotateTimes(first, 10);
    const small = await snapshot(sub);
    const last = await rotateTimes(afterTen, 490);
    await drainEvents(sub);
    const large = await snapshot(sub);

    expect(await generationOf(sub, first.session_id)).toBe(500);
    expect(large.sessions).toBe(1);
    expect(large.outbox).toBe(0);
    expect(large.issueTimesCount).toBe(ISSUE_TIMES_KEPT);
    // 64 millisecond timestamps of 13 digits, commas and brackets.
    expect(large.issueTimesBytes).toBeLessThanOrEqual(ISSUE_TIMES_KEPT * 14 + 1);
    // Same pages as after 10 rotations, give or take a page or two of SQLite bookkeeping.
    expect(large.databaseSize).toBeLessThanOrEqual(small.databaseSize + 8192);

    // The chain still works at both ends: the current token rotates, the first one is reuse.
    const next = await rotate(last);
    expect(next.session_id).toBe(first.session_id);
    expect((await refresh(first.refresh_token)).status).toBe(400);
    const [reuse] = await eventsOf(sub, "refresh_token_reuse");
    expect(reuse!.detail).toMatchObject({ generations_behind: 501, revoked_session_ids: [first.session_id] });
  });
});

describe("eviction", () => {
  it("keeps sessions across an eviction: the current token refreshes and the grace replay still works", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const second = await rotate(first);
    await evictDurableObject(userAuthStub(sub));

    // Within the grace window the previous token still gets the same successor.
    const replay = await refresh(first.refresh_token);
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as TokenResponse).refresh_token).toBe(second.refresh_token);

    await evictDurableObject(userAuthStub(sub));
    const third = await rotate(second);
    expect(third.session_id).toBe(first.session_id);
    expect(await generationOf(sub, first.session_id)).toBe(2);
  });

  it("still detects reuse after an eviction and revokes every session of the user", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const current = await rotateTimes(first, 2);
    const other = await openSession(sub);
    await evictDurableObject(userAuthStub(sub));

    expect((await refresh(first.refresh_token)).status).toBe(400);
    await evictDurableObject(userAuthStub(sub));
    expect((await refresh(current.refresh_token)).status).toBe(400);
    expect((await refresh(other.refresh_token)).status).toBe(400);
    const [reuse] = await eventsOf(sub, "refresh_token_reuse");
    expect(reuse!.detail).toMatchObject({ generations_behind: 2 });
    expect([...(reuse!.detail!.revoked_session_ids as string[])].sort()).toEqual([first.session_id, other.session_id].sort());
  });
});

describe("the D1 record of a session", () => {
  it("is written at once when the session opens or ends, and follows its rotations at most once an hour", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    expect(await sessionRecord(sub, first.session_id)).toMatchObject({ rotation_count: 0, revoked_at: null });

    // Two rotations within the hour: the object has them, D1 does not yet.
    const third = await rotateTimes(first, 2);
    expect(await generationOf(sub, first.session_id)).toBe(2);
    expect(await sessionRecord(sub, first.session_id)).toMatchObject({ rotation_count: 0 });

    // An hour after the last record, the next rotation records the session again.
    await ageSession(sub, first.session_id, 3_600_000);
    const fourth = await rotate(third);
    const recorded = await sessionRecord(sub, first.session_id);
    expect(recorded).toMatchObject({ rotation_count: 3 });
    expect(recorded!.last_used_at).toBeGreaterThan(Date.now() - 60_000);
    const fifth = await rotate(fourth);
    expect(await sessionRecord(sub, first.session_id)).toMatchObject({ rotation_count: 3 });

    // Ending it goes to D1 at once, with the exact values.
    expect((await postJson("/auth/logout", { refresh_token: fifth.refresh_token })).status).toBe(204);
    expect(await sessionRecord(sub, first.session_id)).toMatchObject({ rotation_count: 4, revoked_reason: "logout" });
    // Every rotation is still in the audit trail (AUDIT_REFRESH_EVENTS is on by default).
    expect(await eventsOf(sub, "refresh")).toHaveLength(4);
  });
});

describe("D1 outage during a refresh", () => {
  it("still answers 200, sends the writes on, and the queue's retries write them once D1 is back", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    await drainEvents(sub);
    let latest = first;
    const mark = queueMark();

    await withD1TableOffline("events", async () => {
      const second = await rotate(first);
      latest = await rotate(second);
      expect(latest.session_id).toBe(first.session_id);
      // The object sent both events on; D1 refused them, and the consumer asked for each again
      // within 30 s rather than dropping it or holding the object's outbox.
      await drainEvents(sub);
      expect((await snapshot(sub)).outbox).toBe(0);
      const retried = retriedSince(mark);
      expect(retried.map(({ body }) => (body.kind === "event" ? body.event.type : body.kind))).toEqual(["refresh", "refresh"]);
      for (const { delaySeconds } of retried) expect(delaySeconds).toBeGreaterThan(0), expect(delaySeconds).toBeLessThanOrEqual(30);
      const offline = await env.DB.prepare("SELECT count(*) AS n FROM events_offline WHERE sub = ?1 AND type = 'refresh'").bind(sub).first();
      expect(offline).toEqual({ n: 0 });
    });

    expect((await redeliverRetries(mark)).map((delivery) => delivery.outcome)).toEqual(["ack", "ack"]);
    const refreshes = await eventsOf(sub, "refresh");
    expect(refreshes.map((event) => event.detail)).toEqual([{ generation: 2 }, { generation: 1 }]);
    // The session kept working throughout.
    await rotate(latest);
  });

  it("still detects reuse and revokes during the outage, and records it once D1 is back", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const second = await rotateTimes(first, 2);
    await drainEvents(sub);
    const mark = queueMark();

    await withD1TableOffline("sessions", async () => {
      expect((await refresh(first.refresh_token)).status).toBe(400);
      expect((await refresh(second.refresh_token)).status).toBe(400);
      await drainEvents(sub);
      const retried = retriedSince(mark);
      expect(retried.some(({ body }) => body.kind === "event" && body.event.type === "refresh_token_reuse")).toBe(true);
    });

    expect((await redeliverRetries(mark)).every((delivery) => delivery.outcome === "ack")).toBe(true);
    expect(await sessionRecord(sub, first.session_id)).toMatchObject({ revoked_reason: "reuse" });
    const [reuse] = await eventsOf(sub, "refresh_token_reuse");
    expect(reuse).toMatchObject({ session_id: first.session_id, detail: { generations_behind: 2, revoked_session_ids: [first.session_id] } });
  });
});

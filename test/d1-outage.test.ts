import { describe, expect, it } from "vitest";
import {
  adminHeaders,
  bearer,
  call,
  openSession,
  PASSWORD,
  postJson,
  queueMark,
  redeliverRetries,
  refresh,
  retriedSince,
  drainEvents,
  uniqueIp,
  uniqueSub,
  uniqueUsername,
  withD1TableOffline,
  type TokenResponse,
} from "./helpers";

async function expectTemporarilyUnavailable(response: Response) {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get("Retry-After"))).toBeGreaterThan(0);
  expect(await response.json()).toMatchObject({ error: "temporarily_unavailable" });
}

describe("D1 unavailable", () => {
  it("answers register and login with 503 temporarily_unavailable and Retry-After, never 500", async () => {
    const username = uniqueUsername();
    const ip = uniqueIp();
    expect((await postJson("/auth/register", { username, password: PASSWORD }, { "CF-Connecting-IP": ip })).status).toBe(201);

    await withD1TableOffline("users", async () => {
      await expectTemporarilyUnavailable(await postJson("/auth/register", { username: uniqueUsername(), password: PASSWORD }));
      for (let attempt = 0; attempt < 6; attempt += 1) {
        await expectTemporarilyUnavailable(await postJson("/auth/login", { username, password: PASSWORD }, { "CF-Connecting-IP": ip }));
      }
    });
    // Logins that could not be judged were not counted as failures: six of them would have
    // reached the per-address limit of five.
    expect((await postJson("/auth/login", { username, password: PASSWORD }, { "CF-Connecting-IP": ip })).status).toBe(200);
  });

  it("answers the admin event listing with 503 while the events table is away", async () => {
    await withD1TableOffline("events", async () => {
      await expectTemporarilyUnavailable(await call("/auth/admin/events", { headers: adminHeaders }));
    });
    expect((await call("/auth/admin/events", { headers: adminHeaders })).status).toBe(200);
  });

  it("keeps refresh, the session list, session delete, logout, admin sessions and the gateway working, and loses nothing", async () => {
    const sub = uniqueSub();
    const kept = await openSession(sub);
    const dropped = await openSession(sub);
    let opened: TokenResponse | undefined;
    let next: TokenResponse | undefined;
    const mark = queueMark();

    await withD1TableOffline("sessions", () =>
      withD1TableOffline("events", async () => {
        const rotated = await refresh(kept.refresh_token);
        expect(rotated.status).toBe(200);
        next = await rotated.json();
        const listed = await call("/auth/sessions", { headers: bearer(next!.access_token) });
        expect(listed.status).toBe(200);
        expect(((await listed.json()) as { sessions: unknown[] }).sessions).toHaveLength(2);
        expect((await call(`/auth/sessions/${dropped.session_id}`, { method: "DELETE", headers: bearer(next!.access_token) })).status).toBe(204);
        expect((await call("/api/anything", { headers: bearer(next!.access_token) })).status).toBe(200);
        opened = await openSession(sub);
        expect((await postJson("/auth/logout", { refresh_token: opened.refresh_token })).status).toBe(204);
        // The consumer got every message while D1 was away, and asked for each to come back.
        await drainEvents(sub);
        expect(retriedSince(mark).length).toBeGreaterThan(0);
      }),
    );

    // Once D1 is back the retries arrive (handed over at once here): every event of the outage is there.
    const retried = await redeliverRetries(mark);
    expect(retried.filter((delivery) => delivery.outcome !== "ack")).toEqual([]);
    const response = await call(`/auth/admin/events?sub=${encodeURIComponent(sub)}`, { headers: adminHeaders });
    const types = ((await response.json()) as { events: Array<{ type: string }> }).events.map((event) => event.type).sort();
    expect(types).toEqual(["logout", "refresh", "session_created", "session_created", "session_created", "session_revoked"]);
  });
});

// Races between refreshing a session and ending it, as real parallel requests. Whatever order the
// user's Durable Object sees them in, once every request has settled the session is over: no
// refresh token any of them handed out still works, nothing answered 5xx, and ending a session was
// never mistaken for refresh-token reuse.
import { describe, expect, it } from "vitest";
import { adminHeaders, bearer, call, eventsOf, openSession, postJson, refresh, uniqueSub, type TokenResponse } from "../helpers";

const PARALLEL = 50;
/** One request in this many ends the session; the rest refresh. */
const REVOKE_EVERY = 5;

interface RaceResult {
  refreshes: Array<{ status: number; body: Partial<TokenResponse> & { error?: string } }>;
  revocations: number[];
}

/** Resolves after `ms` milliseconds. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Fires PARALLEL requests together: refreshes of `pair`'s refresh token, every REVOKE_EVERY-th one
 * `revoke(index)` instead. Each starts after a spread-out pause of 0 to 10 ms, so the ends land
 * before, among and after the rotations instead of all in front of them.
 */
async function race(pair: TokenResponse, revoke: (index: number) => Promise<Response>): Promise<RaceResult> {
  const inFlight = Array.from({ length: PARALLEL }, (_, index) => {
    const start = pause((index * 7) % 11);
    return index % REVOKE_EVERY === 2
      ? { kind: "revoke" as const, response: start.then(() => revoke(index)) }
      : { kind: "refresh" as const, response: start.then(() => refresh(pair.refresh_token)) };
  });
  const responses = await Promise.all(inFlight.map((request) => request.response));
  const result: RaceResult = { refreshes: [], revocations: [] };
  for (const [index, response] of responses.entries()) {
    // A revocation ends the session (204) or finds it ended (404); a refresh rotates or is refused.
    const answers = inFlight[index]!.kind === "revoke" ? [204, 404] : [200, 400];
    expect(answers, `request ${index}: ${response.status}`).toContain(response.status);
    if (inFlight[index]!.kind === "revoke") result.revocations.push(response.status);
    else result.refreshes.push({ status: response.status, body: (await response.json()) as RaceResult["refreshes"][number]["body"] });
  }
  return result;
}

/**
 * What every race must leave behind: refreshes answered 200 or invalid_grant, and every refresh
 * token handed out (and the one raced with) refused by a new refresh, with no reuse recorded.
 */
async function expectSessionOver(sub: string, pair: TokenResponse, result: RaceResult) {
  for (const refreshed of result.refreshes) {
    expect([200, 400]).toContain(refreshed.status);
    if (refreshed.status === 400) expect(refreshed.body.error).toBe("invalid_grant");
  }
  const issued = new Set(result.refreshes.flatMap((refreshed) => (refreshed.status === 200 ? [refreshed.body.refresh_token!] : [])));
  for (const token of [...issued, pair.refresh_token]) {
    const again = await refresh(token);
    expect(again.status, `a refresh token handed out in the race still works`).toBe(400);
    expect(await again.json()).toMatchObject({ error: "invalid_grant" });
  }
  // The access token still verifies (access tokens are not revoked): the session list no longer has the session.
  const listed = (await (await call("/auth/sessions", { headers: bearer(pair.access_token) })).json()) as { sessions: Array<{ id: string }> };
  expect(listed.sessions.map((session) => session.id)).not.toContain(pair.session_id);
  expect(await eventsOf(sub, "refresh_token_reuse")).toEqual([]);
}

describe(`races: ${PARALLEL} parallel requests refresh a session while others end it`, () => {
  it("refresh racing logout (by refresh token and by Bearer): the session ends, every logout answers 204, and logout is not reuse", async () => {
    const sub = uniqueSub("race-logout");
    const pair = await openSession(sub);
    const result = await race(pair, (index) =>
      index % 2 === 0 ? postJson("/auth/logout", { refresh_token: pair.refresh_token }) : call("/auth/logout", { method: "POST", headers: bearer(pair.access_token) }),
    );
    expect(result.revocations).toEqual(Array(PARALLEL / REVOKE_EVERY).fill(204));
    await expectSessionOver(sub, pair, result);
    // Idempotent: one session ended, one logout event.
    expect(await eventsOf(sub, "logout")).toHaveLength(1);
  });

  it("refresh racing logout-all: every session of the user ends", async () => {
    const sub = uniqueSub("race-logout-all");
    const pair = await openSession(sub);
    const sibling = await openSession(sub);
    const result = await race(pair, () => call("/auth/logout-all", { method: "POST", headers: bearer(pair.access_token) }));
    expect(result.revocations).toEqual(Array(PARALLEL / REVOKE_EVERY).fill(204));
    await expectSessionOver(sub, pair, result);
    expect((await refresh(sibling.refresh_token)).status).toBe(400);
    const listed = (await (await call("/auth/sessions", { headers: bearer(pair.access_token) })).json()) as { sessions: unknown[] };
    expect(listed.sessions).toEqual([]);
  });

  it("refresh racing the admin revoke: every session of the user ends", async () => {
    const sub = uniqueSub("race-admin");
    const pair = await openSession(sub);
    const sibling = await openSession(sub);
    const result = await race(pair, () => call(`/auth/admin/users/${encodeURIComponent(sub)}/revoke`, { method: "POST", headers: adminHeaders }));
    expect(result.revocations).toEqual(Array(PARALLEL / REVOKE_EVERY).fill(204));
    await expectSessionOver(sub, pair, result);
    expect((await refresh(sibling.refresh_token)).status).toBe(400);
  });

  it("refresh racing DELETE /auth/sessions/:id from another session: exactly one delete wins, the others find nothing", async () => {
    const sub = uniqueSub("race-delete");
    const pair = await openSession(sub);
    const phone = await openSession(sub);
    const result = await race(pair, () => call(`/auth/sessions/${pair.session_id}`, { method: "DELETE", headers: bearer(phone.access_token) }));
    expect(result.revocations.filter((status) => status === 204)).toHaveLength(1);
    expect(result.revocations.filter((status) => status === 404)).toHaveLength(PARALLEL / REVOKE_EVERY - 1);
    await expectSessionOver(sub, pair, result);
    expect(await eventsOf(sub, "session_revoked")).toHaveLength(1);
    // The session that deleted it is untouched.
    expect((await refresh(phone.refresh_token)).status).toBe(200);
  });

  it("refresh racing DELETE of its own current session: the session ends all the same", async () => {
    const sub = uniqueSub("race-delete-self");
    const pair = await openSession(sub);
    const result = await race(pair, () => call(`/auth/sessions/${pair.session_id}`, { method: "DELETE", headers: bearer(pair.access_token) }));
    expect(result.revocations.filter((status) => status === 204)).toHaveLength(1);
    await expectSessionOver(sub, pair, result);
  });
});

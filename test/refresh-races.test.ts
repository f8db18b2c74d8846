import { describe, expect, it } from "vitest";
import {
  eventsOf,
  openSession,
  postJson,
  refresh,
  storedSession,
  storedSessions,
  type TokenResponse,
  uniqueSub,
} from "./helpers";

// Real parallel requests through the worker: the Durable Object must serialize them so that a
// refresh token rotates exactly once however many requests present it at the same moment. Under
// the wrangler.toml settings (10 s grace window, REUSE_REVOKES=user); without a grace window:
// test/strict-sessions/refresh-races.test.ts.

const PARALLEL = 50;

/** Status and parsed body of each response. */
function settle(responses: Response[]) {
  return Promise.all(responses.map(async (response) => ({ status: response.status, body: (await response.json()) as Partial<TokenResponse> & { error?: string } })));
}

async function rotate(pair: TokenResponse): Promise<TokenResponse> {
  const response = await refresh(pair.refresh_token);
  expect(response.status).toBe(200);
  return response.json();
}

describe("concurrent refreshes of one token", () => {
  it(`gives all ${PARALLEL} parallel refreshes 200 and the same new refresh token when grace is on, rotating once`, async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    const results = await settle(await Promise.all(Array.from({ length: PARALLEL }, () => refresh(pair.refresh_token))));

    expect(results.map((result) => result.status)).toEqual(Array(PARALLEL).fill(200));
    const refreshTokens = new Set(results.map((result) => result.body.refresh_token));
    expect(refreshTokens.size).toBe(1);
    expect(refreshTokens.has(pair.refresh_token)).toBe(false);
    // Every caller got its own access token.
    expect(new Set(results.map((result) => result.body.access_token)).size).toBe(PARALLEL);

    expect((await storedSession(sub, pair.session_id)).generation).toBe(1);
    expect(await eventsOf(sub, "refresh")).toHaveLength(1);
    expect(await eventsOf(sub, "refresh_grace_replay")).toHaveLength(PARALLEL - 1);
    expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(0);

    // The shared successor is the session's current token and rotates normally.
    const [shared] = refreshTokens;
    const next = await refresh(shared!);
    expect(next.status).toBe(200);
    expect((await storedSession(sub, pair.session_id)).generation).toBe(2);
  });

  it("rotates each of several sessions of one user exactly once under parallel load", async () => {
    const sub = uniqueSub();
    const pairs = await Promise.all(Array.from({ length: 5 }, () => openSession(sub)));
    const requests = pairs.flatMap((pair) => Array.from({ length: 10 }, () => refresh(pair.refresh_token).then(async (response) => ({ pair, response }))));
    const results = await Promise.all(requests);
    for (const { response } of results) expect(response.status).toBe(200);
    for (const session of await storedSessions(sub)) {
      expect(session.generation).toBe(1);
      expect(session.revoked_at).toBeNull();
    }
    expect(await eventsOf(sub, "refresh")).toHaveLength(5);
  });
});

describe("refresh racing logout of the same session", () => {
  it("never leaves a usable refresh token once both have finished", async () => {
    for (let round = 0; round < 10; round += 1) {
      const sub = uniqueSub();
      const pair = await openSession(sub);
      const logout = () => postJson("/auth/logout", { refresh_token: pair.refresh_token });
      const refreshes = () => Array.from({ length: 3 }, () => refresh(pair.refresh_token));
      // Alternate which request is sent first.
      const responses = round % 2 === 0 ? await Promise.all([logout(), ...refreshes()]) : await Promise.all([...refreshes(), logout()]);
      const logoutResponse = round % 2 === 0 ? responses[0]! : responses.at(-1)!;
      const refreshResults = await settle(round % 2 === 0 ? responses.slice(1) : responses.slice(0, -1));

      expect(logoutResponse.status).toBe(204);
      const issued = new Set<string>();
      for (const result of refreshResults) {
        if (result.status === 200) issued.add(result.body.refresh_token!);
        else expect(result).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
      }
      for (const token of [pair.refresh_token, ...issued]) {
        const response = await refresh(token);
        expect(response.status, `round ${round}`).toBe(400);
      }
      const session = await storedSession(sub, pair.session_id);
      expect(session.revoked_reason).toBe("logout");
      // Logging out with a used token of the chain is not reuse.
      expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(0);
    }
  });
});

describe("reuse racing a rotation", () => {
  it("ends with every session of the user revoked when an old token and the current one are refreshed in parallel", async () => {
    for (let round = 0; round < 5; round += 1) {
      const sub = uniqueSub();
      const first = await openSession(sub);
      const second = await rotate(first);
      const current = await rotate(second);
      const otherSession = await openSession(sub);

      // `first` is two generations old: reuse whatever the grace window says. Alternate which
      // request is sent first.
      const sendReuse = () => refresh(first.refresh_token);
      const sendRotation = () => refresh(current.refresh_token);
      const [reuse, rotation] =
        round % 2 === 0
          ? await settle(await Promise.all([sendReuse(), sendRotation()]))
          : (await settle(await Promise.all([sendRotation(), sendReuse()]))).reverse();
      expect(reuse).toMatchObject({ status: 400, body: { error: "invalid_grant" } });

      const survivors = [current.refresh_token, otherSession.refresh_token];
      if (rotation!.status === 200) survivors.push(rotation!.body.refresh_token!);
      for (const token of survivors) expect((await refresh(token)).status, `round ${round}`).toBe(400);

      const sessions = await storedSessions(sub);
      expect(sessions).toHaveLength(2);
      for (const session of sessions) expect(session.revoked_reason).toBe("reuse");
      expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(1);
    }
  });
});

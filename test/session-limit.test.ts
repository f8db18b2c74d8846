import { describe, expect, it } from "vitest";
import { bearer, call, eventsOf, openSession, refresh, uniqueSub, type TokenResponse } from "./helpers";

// MAX_SESSIONS_PER_USER is 100 by default.
const LIMIT = 100;

async function listedIds(accessToken: string): Promise<string[]> {
  const response = await call("/auth/sessions", { headers: bearer(accessToken) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { sessions: Array<{ id: string }> }).sessions.map((session) => session.id);
}

describe("MAX_SESSIONS_PER_USER", () => {
  it("revokes the least recently used session when one more is opened, and records why", async () => {
    const sub = uniqueSub();
    const pairs: TokenResponse[] = [];
    for (let index = 0; index < LIMIT; index += 1) pairs.push(await openSession(sub));
    // The oldest session is used again, so the second oldest is now the least recently used.
    const oldestRefreshed = (await (await refresh(pairs[0]!.refresh_token)).json()) as TokenResponse;

    const newest = await openSession(sub);
    const listed = await listedIds(newest.access_token);
    expect(listed).toHaveLength(LIMIT);
    expect(listed).toContain(newest.session_id);
    expect(listed).toContain(pairs[0]!.session_id);
    expect(listed).not.toContain(pairs[1]!.session_id);

    const refused = await refresh(pairs[1]!.refresh_token);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: "invalid_grant" });
    expect((await refresh(oldestRefreshed.refresh_token)).status).toBe(200);

    const revoked = await eventsOf(sub, "session_revoked");
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ session_id: pairs[1]!.session_id, detail: { reason: "session_limit" } });
    // A revoked session's token coming back is not reuse: the session was ended, not stolen.
    expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(0);
  });

  it("keeps the count at the limit however many logins follow", async () => {
    const sub = uniqueSub();
    const opened = await Promise.all(Array.from({ length: LIMIT + 20 }, () => openSession(sub)));
    expect(await listedIds(opened.at(-1)!.access_token)).toHaveLength(LIMIT);
    expect(await eventsOf(sub, "session_revoked")).toHaveLength(20);
  });
});

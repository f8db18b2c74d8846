import { describe, expect, it } from "vitest";
import { ageSession, bearer, call, openSession, refresh, uniqueSub, type TokenResponse } from "../helpers";

// GET /auth/sessions under a 60 s idle limit inside a 300 s session (vitest.config.ts,
// "strict-sessions").

const SECOND = 1000;

async function onlyListedSession(accessToken: string) {
  const response = await call("/auth/sessions", { headers: bearer(accessToken) });
  expect(response.status).toBe(200);
  const { sessions } = (await response.json()) as { sessions: Array<{ created_at: string; last_used_at: string; expires_at: string | null }> };
  expect(sessions).toHaveLength(1);
  const [session] = sessions;
  return { created: Date.parse(session!.created_at), lastUsed: Date.parse(session!.last_used_at), expires: Date.parse(session!.expires_at!) };
}

describe("GET /auth/sessions", () => {
  it("gives expires_at as the earlier of the idle and absolute limits", async () => {
    const sub = uniqueSub();
    let pair = await openSession(sub);
    // A new session: the idle limit comes first.
    const fresh = await onlyListedSession(pair.access_token);
    expect(fresh.expires - fresh.lastUsed).toBe(60 * SECOND);

    // Refreshed every 50 s for 250 s: now the absolute limit comes first.
    for (let round = 0; round < 5; round += 1) {
      await ageSession(sub, pair.session_id, 50 * SECOND);
      const response = await refresh(pair.refresh_token);
      expect(response.status).toBe(200);
      pair = (await response.json()) as TokenResponse;
    }
    const busy = await onlyListedSession(pair.access_token);
    expect(busy.expires - busy.created).toBe(300 * SECOND);
    expect(busy.expires).toBeLessThan(busy.lastUsed + 60 * SECOND);
  });
});

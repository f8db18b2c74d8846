import { describe, expect, it } from "vitest";
import { bearer, call, openSession, uniqueSub } from "../helpers";

// GET /auth/sessions when REFRESH_IDLE_TTL_SECONDS and SESSION_MAX_TTL_SECONDS are both 0
// (vitest.config.ts, "unlimited-sessions").

describe("GET /auth/sessions", () => {
  it("gives expires_at null when both limits are 0", async () => {
    const forever = await openSession(uniqueSub());
    const response = await call("/auth/sessions", { headers: bearer(forever.access_token) });
    expect(response.status).toBe(200);
    const { sessions } = (await response.json()) as { sessions: unknown[] };
    expect(sessions).toEqual([expect.objectContaining({ id: forever.session_id, expires_at: null, current: true })]);
  });
});

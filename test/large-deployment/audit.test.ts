import { describe, expect, it } from "vitest";
import { eventsOf, queueMessagesOfRefreshes, openSession, postJson, refresh, uniqueSub, type TokenResponse } from "../helpers";

// AUDIT_REFRESH_EVENTS=false (vitest.config.ts, "large-deployment").

describe("with per-rotation audit events off", () => {
  it("sends nothing through the queue for a hundred refreshes within the hour", async () => {
    expect(await queueMessagesOfRefreshes(100)).toEqual({ event: 0, session: 0, webhook: 0 });
  });

  it("still records every security event: session opened, reuse with its revocation, logout", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const second = (await (await refresh(first.refresh_token)).json()) as TokenResponse;
    // A grace replay is routine, not recorded either.
    expect((await refresh(first.refresh_token)).status).toBe(200);
    const third = (await (await refresh(second.refresh_token)).json()) as TokenResponse;
    expect((await refresh(first.refresh_token)).status).toBe(400);
    const other = await openSession(sub);
    expect((await postJson("/auth/logout", { refresh_token: other.refresh_token })).status).toBe(204);

    const types = (await eventsOf(sub)).map((event) => event.type).sort();
    expect(types).toEqual(["logout", "refresh_token_reuse", "session_created", "session_created"]);
    expect((await refresh(third.refresh_token)).status).toBe(400);
  });
});

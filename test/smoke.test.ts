import { describe, expect, it } from "vitest";
import { bearer, call, expectError, expectInvalidGrant, openSession, refresh, uniqueSub, type TokenResponse } from "./helpers";

describe("smoke", () => {
  it("opens a session, calls the API and refreshes, with and without worker variable overrides", async () => {
    const pair = await openSession(uniqueSub(), { role: "admin" });
    const api = await call("/api/x?a=1", { headers: bearer(pair.access_token) });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { headers: Record<string, string> }).headers["x-auth-session"]).toBe(pair.session_id);
    const refreshed = await refresh(pair.refresh_token, { ACCESS_TOKEN_TTL_SECONDS: "60" });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as TokenResponse;
    expect(next.expires_in).toBe(60);
    expect((await refresh(next.refresh_token)).status).toBe(200);
    // Two generations back: refused.
    await expectInvalidGrant(await refresh(pair.refresh_token));
    await expectError(await call("/anything", {}, { ACCESS_TOKEN_TTL_SECONDS: "soon" }), 503, "server_misconfigured");
  });
});

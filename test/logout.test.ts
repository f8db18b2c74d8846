import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { requireSettings } from "../src/config";
import { signAccessToken } from "../src/tokens/access";
import { loadKeyRing } from "../src/tokens/key-ring";
import { listSessions } from "./listed-sessions";
import { bearer, call, expectInvalidGrant, openSession, refresh, type TokenResponse, uniqueSub } from "./helpers";

// Ending the caller's sessions with an access token: logout-all, logout by access token, and
// the session routes without one. Listing and deleting one session: test/sessions.test.ts.

function logoutAll(accessToken: string) {
  return call("/auth/logout-all", { method: "POST", headers: bearer(accessToken) });
}

/**
 * The access token the gateway issued for a session an hour ago: signed by its own key and
 * signer, and long expired (ACCESS_TOKEN_TTL_SECONDS is 300).
 */
async function accessTokenFromAnHourAgo(sub: string, sessionId: string): Promise<string> {
  const config = requireSettings(env);
  const ring = await loadKeyRing(config.signingKeys!);
  return signAccessToken(ring, config, { sub, sid: sessionId, claims: {} }, Date.now() / 1000 - 3600);
}

describe("POST /auth/logout-all", () => {
  it("revokes every session of the user, rotated tokens included, and leaves other users alone", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const second = await openSession(sub);
    const third = await openSession(sub);
    const rotated = (await (await refresh(third.refresh_token)).json()) as TokenResponse;
    const bystander = await openSession(uniqueSub("bystander"));

    const response = await logoutAll(first.access_token);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");

    for (const token of [first.refresh_token, second.refresh_token, third.refresh_token, rotated.refresh_token]) {
      await expectInvalidGrant(await refresh(token));
    }
    expect(await listSessions(first.access_token)).toEqual([]);
    expect((await refresh(bystander.refresh_token)).status).toBe(200);
    expect(await listSessions(bystander.access_token)).toHaveLength(1);
  });

  it("leaves no refresh token usable when refreshes race with it", async () => {
    const sub = uniqueSub();
    const pairs = await Promise.all(Array.from({ length: 5 }, () => openSession(sub)));

    const [logout, ...refreshes] = await Promise.all([
      logoutAll(pairs[0]!.access_token),
      ...pairs.map((pair) => refresh(pair.refresh_token)),
    ]);
    expect(logout!.status).toBe(204);
    // Each refresh either lost the race (400) or won it and got a token that logout-all then revoked.
    const survivors: string[] = [];
    for (const response of refreshes) {
      expect([200, 400]).toContain(response.status);
      if (response.status === 200) survivors.push(((await response.json()) as TokenResponse).refresh_token);
    }
    for (const token of [...pairs.map((pair) => pair.refresh_token), ...survivors]) {
      await expectInvalidGrant(await refresh(token));
    }
    const { results } = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL")
      .bind(sub)
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(0);
  });
});

describe("session routes without an access token", () => {
  it("answer 401 with an RFC 6750 challenge on list, delete and logout-all", async () => {
    const requests: Array<[string, RequestInit]> = [
      ["/auth/sessions", {}],
      [`/auth/sessions/${crypto.randomUUID()}`, { method: "DELETE" }],
      ["/auth/logout-all", { method: "POST" }],
    ];
    for (const [path, init] of requests) {
      const missing = await call(path, init);
      expect(missing.status, path).toBe(401);
      expect(missing.headers.get("WWW-Authenticate"), path).toBe('Bearer realm="edge-auth-gateway"');

      const bad = await call(path, { ...init, headers: { Authorization: "Bearer not.a.jwt" } });
      expect(bad.status, path).toBe(401);
      expect(await bad.json()).toMatchObject({ error: "invalid_token" });
      expect(bad.headers.get("WWW-Authenticate"), path).toContain('error="invalid_token"');
    }
  });

  it("does not accept a refresh token or the admin token as the Bearer token", async () => {
    const pair = await openSession(uniqueSub());
    for (const token of [pair.refresh_token, "test-admin-token"]) {
      const response = await call("/auth/sessions", { headers: bearer(token) });
      expect(response.status).toBe(401);
      const logout = await call("/auth/logout-all", { method: "POST", headers: bearer(token) });
      expect(logout.status).toBe(401);
    }
    expect((await refresh(pair.refresh_token)).status).toBe(200);
  });
});

describe("POST /auth/logout with an access token", () => {
  it("logs out with a genuine access token even after it expired, and refuses a tampered one", async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    const expired = await accessTokenFromAnHourAgo(sub, pair.session_id);
    expect((await call("/api/x", { headers: bearer(expired) })).status).toBe(401);

    const [header, payload, signature] = expired.split(".");
    const tampered = `${header}.${payload}x.${signature}`;
    expect((await call("/auth/logout", { method: "POST", headers: bearer(tampered) })).status).toBe(401);
    expect((await refresh(pair.refresh_token)).status).toBe(200);

    const second = await openSession(sub);
    const secondExpired = await accessTokenFromAnHourAgo(sub, second.session_id);
    expect((await call("/auth/logout", { method: "POST", headers: bearer(secondExpired) })).status).toBe(204);
    await expectInvalidGrant(await refresh(second.refresh_token));
  });
});

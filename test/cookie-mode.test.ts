import { describe, expect, it } from "vitest";
import { adminHeaders, BASE, bearer, call, eventsOf, expectError, expectInvalidGrant, login, openSession, PASSWORD, postJson, registerUser, storedSession, uniqueSub, uniqueUsername, type TokenResponse } from "./helpers";
import { APP, COOKIE, COOKIE_MODE, EVIL, refreshCookie, type Cookie } from "./cookie-routes";

async function loginInCookieMode(): Promise<{ userId: string; response: Response; pair: TokenResponse; cookie: Cookie }> {
  const { username, userId } = await registerUser(uniqueUsername("cookie"));
  const response = await login(username, PASSWORD, { Origin: APP }, COOKIE_MODE);
  expect(response.status).toBe(200);
  const pair = (await response.clone().json()) as TokenResponse;
  return { userId, response, pair, cookie: refreshCookie(response)! };
}

/** A cookie-only call (no body token), as a browser would send it. */
function withCookie(path: string, token: string, headers: Record<string, string> = {}) {
  return call(path, { method: "POST", headers: { Cookie: `${COOKIE}=${token}`, ...headers } }, COOKIE_MODE);
}

describe("cookie transport (REFRESH_COOKIE=true)", () => {
  it("sets the refresh token from login as the __Host- cookie: HttpOnly, Secure, SameSite=Strict, Path=/, no Domain", async () => {
    const { pair, cookie } = await loginInCookieMode();
    expect(cookie.value).toBe(pair.refresh_token);
    expect(cookie.attributes).toEqual(expect.arrayContaining(["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]));
    expect(cookie.attributes.some((attribute) => attribute.toLowerCase().startsWith("domain="))).toBe(false);
    const maxAge = Number(cookie.attributes.find((attribute) => attribute.startsWith("Max-Age="))?.slice(8));
    expect(maxAge).toBeGreaterThan(0);
  });

  it("refreshes from the cookie alone for an allowed Origin and sets the new token as the cookie", async () => {
    const { pair, cookie } = await loginInCookieMode();
    const response = await withCookie("/auth/refresh", cookie.value, { Origin: APP });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(response.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    const next = (await response.json()) as TokenResponse;
    expect(next.session_id).toBe(pair.session_id);
    const rotated = refreshCookie(response)!;
    expect(rotated.value).toBe(next.refresh_token);
    expect(rotated.value).not.toBe(cookie.value);
    expect(rotated.attributes).toEqual(expect.arrayContaining(["HttpOnly", "Secure", "SameSite=Strict", "Path=/"]));

    // The old cookie is used now: once its successor was used too, it is reuse.
    expect((await withCookie("/auth/refresh", rotated.value, { Origin: APP })).status).toBe(200);
    await expectInvalidGrant(await withCookie("/auth/refresh", cookie.value, { Origin: APP }));
  });

  it("accepts the gateway's own origin", async () => {
    const { cookie } = await loginInCookieMode();
    expect((await withCookie("/auth/refresh", cookie.value, { Origin: new URL(BASE).origin })).status).toBe(200);
  });

  it.each([
    ["no Origin", {}],
    ["a foreign Origin", { Origin: EVIL }],
    ["an allowed host on another scheme", { Origin: "http://app.example.com" }],
    ["an Origin of null", { Origin: "null" }],
  ])("refuses a cookie refresh with %s with 403 and rotates nothing", async (_case, headers) => {
    const { userId, cookie } = await loginInCookieMode();
    const refused = await withCookie("/auth/refresh", cookie.value, headers);
    await expectError(refused, 403, "forbidden_origin");
    expect(refreshCookie(refused)).toBeNull();
    expect(await eventsOf(userId, "refresh")).toEqual([]);

    // The same token still refreshes from the right origin, as a rotation, not a replay.
    expect((await withCookie("/auth/refresh", cookie.value, { Origin: APP })).status).toBe(200);
    expect(await eventsOf(userId, "refresh")).toHaveLength(1);
    expect(await eventsOf(userId, "refresh_grace_replay")).toEqual([]);
  });

  it("logs out from the cookie for an allowed Origin and clears the cookie", async () => {
    const { pair, cookie } = await loginInCookieMode();
    const response = await withCookie("/auth/logout", cookie.value, { Origin: APP });
    expect(response.status).toBe(204);
    const cleared = refreshCookie(response);
    expect(cleared?.value).toBe("");
    expect(cleared?.attributes).toEqual(expect.arrayContaining(["Max-Age=0", "Path=/"]));
    await expectInvalidGrant(await postJson("/auth/refresh", { refresh_token: pair.refresh_token }, {}, COOKIE_MODE));
  });

  it("refuses a cookie logout from a foreign Origin and leaves the session alive", async () => {
    const { userId, pair, cookie } = await loginInCookieMode();
    const refused = await withCookie("/auth/logout", cookie.value, { Origin: EVIL });
    expect(refused.status).toBe(403);
    expect(await eventsOf(userId, "logout")).toEqual([]);
    expect((await call("/api/x", { headers: bearer(pair.access_token) }, COOKIE_MODE)).status).toBe(200);
    expect((await withCookie("/auth/refresh", cookie.value, { Origin: APP })).status).toBe(200);
  });

  it("takes a token in the body over the cookie, without the Origin rule (not cookie-authenticated)", async () => {
    const { pair } = await loginInCookieMode();
    const response = await call(
      "/auth/refresh",
      {
        method: "POST",
        headers: { "Content-Type": "application/json", Cookie: `${COOKIE}=rt1.garbage` },
        body: JSON.stringify({ refresh_token: pair.refresh_token }),
      },
      COOKIE_MODE,
    );
    expect(response.status).toBe(200);
  });

  it("clears the cookie when the refresh token it holds is refused", async () => {
    const { cookie } = await loginInCookieMode();
    const rotated = refreshCookie(await withCookie("/auth/refresh", cookie.value, { Origin: APP }))!;
    expect((await withCookie("/auth/refresh", rotated.value, { Origin: APP })).status).toBe(200);
    const reused = await withCookie("/auth/refresh", cookie.value, { Origin: APP });
    expect(refreshCookie(reused)?.attributes).toContain("Max-Age=0");
    await expectInvalidGrant(reused);
  });

  it("clears a malformed refresh cookie when refusing it", async () => {
    const refused = await withCookie("/auth/refresh", "rt1.not-a-token", { Origin: APP });
    await expectInvalidGrant(refused);
    expect(refreshCookie(refused)?.attributes).toContain("Max-Age=0");
  });

  it("refuses a request carrying the cookie twice (one planted) and clears it, rotating nothing", async () => {
    const { userId, cookie } = await loginInCookieMode();
    for (const pair of [`${COOKIE}=${cookie.value}; ${COOKIE}=rt1.planted`, `${COOKIE}=rt1.planted; ${COOKIE}=${cookie.value}`]) {
      const refused = await call("/auth/refresh", { method: "POST", headers: { Cookie: pair, Origin: APP } }, COOKIE_MODE);
      await expectInvalidGrant(refused);
      expect(refreshCookie(refused)?.attributes).toContain("Max-Age=0");
    }
    expect(await eventsOf(userId, "refresh")).toEqual([]);
    expect((await withCookie("/auth/refresh", cookie.value, { Origin: APP })).status).toBe(200);
  });

  // A space (or tab) before `=` still names the cookie: a check that compared untrimmed names let
  // an attacker's own token through ahead of the victim's.
  it.each([
    ["a space before = on the first copy", (planted: string, real: string) => `${COOKIE} =${planted}; ${COOKIE}=${real}`],
    ["a space before = on the second copy", (planted: string, real: string) => `${COOKIE}=${real}; ${COOKIE} =${planted}`],
    ["a tab before =", (planted: string, real: string) => `${COOKIE}\t=${planted}; ${COOKIE}=${real}`],
    ["spaces around both names", (planted: string, real: string) => ` ${COOKIE}  =${planted};  ${COOKIE} =${real}`],
  ])("counts a copy with %s, refusing both and clearing the cookie", async (_case, cookieHeader) => {
    const { userId, pair, cookie } = await loginInCookieMode();
    const attackerSub = uniqueSub("attacker");
    const attacker = await openSession(attackerSub);
    const refused = await call("/auth/refresh", { method: "POST", headers: { Cookie: cookieHeader(attacker.refresh_token, cookie.value), Origin: APP } }, COOKIE_MODE);
    await expectInvalidGrant(refused);
    expect(refreshCookie(refused)?.attributes).toContain("Max-Age=0");
    expect((await storedSession(attackerSub, attacker.session_id)).generation).toBe(0);
    expect((await storedSession(userId, pair.session_id)).generation).toBe(0);
  });

  it("reads a cookie whose name has a space before = as the cookie", async () => {
    const { pair, cookie } = await loginInCookieMode();
    const response = await call("/auth/refresh", { method: "POST", headers: { Cookie: `theme=dark; ${COOKIE} =${cookie.value}`, Origin: APP } }, COOKIE_MODE);
    expect(response.status).toBe(200);
    expect(((await response.json()) as TokenResponse).session_id).toBe(pair.session_id);
  });

  it("ignores a cookie without the __Host- prefix, which another host could have set", async () => {
    const { cookie } = await loginInCookieMode();
    const response = await call("/auth/refresh", { method: "POST", headers: { Cookie: `refresh_token=${cookie.value}`, Origin: APP } }, COOKIE_MODE);
    await expectError(response, 400, "invalid_request");
  });

  it("never sets the cookie for a session the admin route opens", async () => {
    const response = await postJson("/auth/admin/sessions", { sub: `cookie-${crypto.randomUUID()}` }, { ...adminHeaders, Origin: APP }, COOKIE_MODE);
    expect(response.status).toBe(201);
    expect(refreshCookie(response)).toBeNull();
  });
});

describe("CORS for ALLOWED_ORIGINS", () => {
  function preflight(origin: string) {
    return call(
      "/auth/refresh",
      { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" } },
      COOKIE_MODE,
    );
  }

  it("answers a preflight from an allowed origin with that origin and credentials", async () => {
    const response = await preflight(APP);
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(APP);
    expect(response.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    expect(response.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    expect(response.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("content-type");
    expect(response.headers.get("Vary")).toContain("Origin");
  });

  it("does not allow a foreign origin, in a preflight or an actual request", async () => {
    const response = await preflight(EVIL);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const actual = await login("nobody", "whatever", { Origin: EVIL }, COOKIE_MODE);
    expect(actual.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("never answers with a wildcard origin", async () => {
    for (const origin of [APP, EVIL, "*"]) {
      expect((await preflight(origin)).headers.get("Access-Control-Allow-Origin")).not.toBe("*");
    }
  });
});

describe("cookie transport off (the default)", () => {
  it("sets no cookie on login and ignores a refresh cookie", async () => {
    const { username } = await registerUser(uniqueUsername("nocookie"));
    const response = await login(username, PASSWORD);
    expect(response.status).toBe(200);
    expect(refreshCookie(response)).toBeNull();
    const pair = (await response.json()) as TokenResponse;

    const cookieOnly = await call("/auth/refresh", { method: "POST", headers: { Cookie: `${COOKIE}=${pair.refresh_token}`, Origin: APP } });
    await expectError(cookieOnly, 400, "invalid_request");
  });
});

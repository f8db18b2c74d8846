// Cross-site requests against every route that can set or clear the refresh cookie (cookie mode):
// a page on another site posts a form, a text/plain "JSON" body, the browser's own cookie or
// nothing at all, under every spelling of a foreign Origin and with only Fetch Metadata to go on.
// Whatever it sends, it gets 403 forbidden_origin and no Set-Cookie, and nothing changes: no
// login into the attacker's session, no forced logout, no rotation.
import { describe, expect, it } from "vitest";
import { call, expectError, type Vars } from "../helpers";
import { APP, COOKIE, COOKIE_MODE, COOKIE_SETTING_ROUTES, EVIL, OWN_ORIGIN, refreshCookie, type RouteFixture } from "../cookie-routes";

/** What a page on another site can make a browser send, given the fixture's credentials. */
const BODY_FORMS: Array<[string, (fixture: RouteFixture) => RequestInit]> = [
  ["the route's ordinary request", (fixture) => fixture.init()],
  // The finding: a form POST needs no preflight, and the attacker's own token plants its session.
  ["a form body with the attacker's own refresh token", (fixture) => form(fixture, { grant_type: "refresh_token", refresh_token: fixture.refreshToken })],
  // ...and a token that is refused would clear the victim's cookie: a forced logout.
  ["a form body with a refresh token that is not one", (fixture) => form(fixture, { refresh_token: "x" })],
  ["the browser's own refresh cookie and no body", (fixture) => withHeaders(fixture, { Cookie: `${COOKIE}=${fixture.refreshToken}` }, null)],
  // <form enctype="text/plain"> can spell a JSON object, under the wrong media type.
  ["a text/plain body that spells JSON", (fixture) => withHeaders(fixture, { "Content-Type": "text/plain" }, `{"refresh_token":"${fixture.refreshToken}","x":"="}`)],
  ["malformed JSON", (fixture) => withHeaders(fixture, { "Content-Type": "application/json" }, "{")],
  ["no body and no Content-Type", (fixture) => withHeaders(fixture, {}, null)],
];

/** Every way a request says it comes from another site. */
const CROSS_SITE: Array<[string, Record<string, string>]> = [
  ["a foreign Origin", { Origin: EVIL }],
  ["Origin: null (a sandboxed frame, a data: URL)", { Origin: "null" }],
  ["an allowed host on another scheme", { Origin: "http://app.example.com" }],
  ["the gateway's own host on another scheme", { Origin: "https://gateway.test" }],
  ["an allowed origin as a prefix of another host", { Origin: "https://app.example.com.evil.example.net" }],
  ["an allowed origin with a trailing slash", { Origin: `${APP}/` }],
  ["an allowed origin in capitals", { Origin: "HTTPS://APP.EXAMPLE.COM" }],
  ["a foreign Origin with a lying Sec-Fetch-Site: same-origin", { Origin: EVIL, "Sec-Fetch-Site": "same-origin" }],
  ["no Origin and Sec-Fetch-Site: cross-site", { "Sec-Fetch-Site": "cross-site" }],
  ["no Origin and Sec-Fetch-Site: Cross-Site", { "Sec-Fetch-Site": "Cross-Site" }],
];

function withHeaders(fixture: RouteFixture, headers: Record<string, string>, body: string | null): RequestInit {
  // The fixture's own headers stay (the Bearer token of logout-all); its body and type go.
  const base = new Headers(fixture.init().headers);
  base.delete("Content-Type");
  for (const [name, value] of Object.entries(headers)) base.set(name, value);
  return { method: "POST", headers: base, body };
}

function form(fixture: RouteFixture, fields: Record<string, string>): RequestInit {
  return withHeaders(fixture, { "Content-Type": "application/x-www-form-urlencoded" }, new URLSearchParams(fields).toString());
}

function sendCrossSite(path: string, init: RequestInit, signal: Record<string, string>, vars: Vars = COOKIE_MODE) {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(signal)) headers.set(name, value);
  return call(path, { ...init, headers }, vars);
}

describe.each(COOKIE_SETTING_ROUTES)("cross-site requests to $path", ({ path, success, setUp }) => {
  it.each(CROSS_SITE)("refuses every body form with %s: 403 forbidden_origin, no Set-Cookie, nothing changed", async (_case, signal) => {
    const fixture = await setUp();
    for (const [bodyForm, build] of BODY_FORMS) {
      const response = await sendCrossSite(path, build(fixture), signal);
      expect(response.headers.getSetCookie(), bodyForm).toEqual([]);
      await expectError(response, 403, "forbidden_origin");
    }
    await fixture.unchanged();
  });

  it("still answers an over-size body with 413 first (the size limit of every /auth/* route), and sets no cookie", async () => {
    const fixture = await setUp();
    const init = withHeaders(fixture, { "Content-Type": "application/json" }, JSON.stringify({ refresh_token: "x".repeat(20_000) }));
    const response = await sendCrossSite(path, init, { Origin: EVIL });
    expect(response.headers.getSetCookie()).toEqual([]);
    await expectError(response, 413, "request_too_large");
    await fixture.unchanged();
  });

  it.each([
    ["no Origin and Sec-Fetch-Site: same-origin", { "Sec-Fetch-Site": "same-origin" }],
    ["no Origin and Sec-Fetch-Site: same-site", { "Sec-Fetch-Site": "same-site" }],
    ["no Origin and Sec-Fetch-Site: none (a navigation the user started)", { "Sec-Fetch-Site": "none" }],
    ["an allowed Origin, which is cross-site by nature", { Origin: APP, "Sec-Fetch-Site": "cross-site" }],
    ["the gateway's own Origin", { Origin: OWN_ORIGIN, "Sec-Fetch-Site": "same-origin" }],
  ])("lets a request with %s through, cookie and all", async (_case, signal) => {
    const fixture = await setUp();
    const response = await sendCrossSite(path, fixture.init(), signal);
    expect(response.status).toBe(success.status);
    const cookie = refreshCookie(response);
    expect(cookie).not.toBeNull();
    if (success.cookie === "set") expect(cookie!.value).not.toBe("");
    else expect(cookie!.value).toBe("");
  });
});

describe.each(COOKIE_SETTING_ROUTES.filter(({ path }) => path === "/auth/login" || path === "/auth/refresh"))(
  "cross-site requests to $path with DPOP=required",
  ({ path, setUp }) => {
    it("refuses the origin first, before the missing proof that would otherwise answer 400", async () => {
      const fixture = await setUp();
      const response = await sendCrossSite(path, fixture.init(), { Origin: EVIL }, { ...COOKIE_MODE, DPOP: "required" });
      expect(response.headers.getSetCookie()).toEqual([]);
      await expectError(response, 403, "forbidden_origin");
      await fixture.unchanged();
    });
  },
);

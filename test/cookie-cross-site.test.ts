// With REFRESH_COOKIE on, a request from a browser on another site may not set or clear the
// refresh cookie: otherwise a cross-site form logs the browser into the attacker's session (login
// CSRF) or logs the user out. The adversarial suite tries every body form
// (test/adversarial/cross-site-cookie.test.ts); this file is the rule itself.
import { describe, expect, it } from "vitest";
import { call, expectError } from "./helpers";
import { APP, COOKIE_MODE, COOKIE_SETTING_ROUTES, EVIL, OWN_ORIGIN, refreshCookie } from "./cookie-routes";

const CROSS_SITE: Array<[string, Record<string, string>]> = [
  ["an Origin that is neither the gateway's nor allowed", { Origin: EVIL }],
  ["no Origin but Sec-Fetch-Site: cross-site", { "Sec-Fetch-Site": "cross-site" }],
];

const LET_THROUGH: Array<[string, Record<string, string>]> = [
  ["an allowed Origin", { Origin: APP }],
  ["the gateway's own Origin", { Origin: OWN_ORIGIN }],
  ["no Origin (a native app or a back end)", {}],
];

describe.each(COOKIE_SETTING_ROUTES)("$path in cookie mode", ({ path, success, setUp }) => {
  it.each(CROSS_SITE)("refuses a request with %s: 403 forbidden_origin, no Set-Cookie, nothing changed", async (_case, headers) => {
    const fixture = await setUp();
    const refused = await call(path, fixture.init(headers), COOKIE_MODE);
    await expectError(refused, 403, "forbidden_origin");
    expect(refused.headers.getSetCookie()).toEqual([]);
    await fixture.unchanged();

    // The same request from the app goes through: it was the site that was refused, not the request.
    const fromApp = await call(path, fixture.init({ Origin: APP }), COOKIE_MODE);
    expect(fromApp.status).toBe(success.status);
  });

  it.each(LET_THROUGH)(`answers a request with %s as usual and ${success.cookie === "set" ? "sets" : "clears"} the cookie`, async (_case, headers) => {
    const fixture = await setUp();
    const response = await call(path, fixture.init(headers), COOKIE_MODE);
    expect(response.status).toBe(success.status);
    const cookie = refreshCookie(response);
    if (success.cookie === "set") {
      expect(cookie?.value).toBe(((await response.json()) as { refresh_token: string }).refresh_token);
    } else {
      expect(cookie?.value).toBe("");
      expect(cookie?.attributes).toContain("Max-Age=0");
    }
  });

  it("leaves a request from another site alone when REFRESH_COOKIE is off: there is no cookie to set", async () => {
    const fixture = await setUp();
    const response = await call(path, fixture.init({ Origin: EVIL, "Sec-Fetch-Site": "cross-site" }));
    expect(response.status).toBe(success.status);
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});

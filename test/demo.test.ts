import { describe, expect, it } from "vitest";
import { call, expectError } from "./helpers";

describe("the demo app (DEMO)", () => {
  it("is an ordinary gateway path while DEMO is unset or false", async () => {
    await expectError(await call("/demo"), 401, "unauthorized");
    await expectError(await call("/demo/app.js", {}, { DEMO: "false" }), 401, "unauthorized");
  });

  it("serves the page, its script and its style with DEMO=true, under a strict CSP", async () => {
    const page = await call("/demo", {}, { DEMO: "true", ACCESS_TOKEN_TTL_SECONDS: "5" });
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(page.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/demo/app.js"></script>');
    expect(html).toContain('data-access-ttl="5"');
    expect(html).toContain('data-refresh-cookie="false"');

    const script = await call("/demo/app.js", {}, { DEMO: "true" });
    expect(script.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    // The client is bundled in: the demo needs nothing else.
    expect(await script.text()).toContain("AuthClientError");
    const style = await call("/demo/demo.css", {}, { DEMO: "true" });
    expect(style.headers.get("Content-Type")).toMatch(/^text\/css/);
  });

  it("has the second factor's parts: the code step of a login, TOTP enrolment with a QR code, recovery codes and the amr", async () => {
    const html = await (await call("/demo", {}, { DEMO: "true" })).text();
    for (const id of ["mfa-step", "mfa-code", "mfa-verify", "totp-enrol", "totp-qr", "totp-secret", "totp-confirm", "recovery-codes", "totp-disable", "recovery-renew", "amr"]) {
      expect(html, id).toContain(`id="${id}"`);
    }
    // The code step waits hidden until a login answers mfa_required.
    expect(html).toMatch(/<form id="mfa-step" hidden>/);
    const script = await (await call("/demo/app.js", {}, { DEMO: "true" })).text();
    // The client's mfa step and the QR encoder are bundled in; the page loads nothing else.
    for (const name of ["verifyMfa", "enrollTotp", "confirmTotp", "renderSVG"]) expect(script, name).toContain(name);
    expect(script).toContain("and logged in");
  });

  it("has the account lifecycle's part: address, new password, code or token, its buttons and the dev inbox", async () => {
    const html = await (await call("/demo", {}, { DEMO: "true" })).text();
    for (const id of ["email", "new-password", "secret", "register-email", "forgot", "reset", "send-code", "verify", "change-password", "delete-account", "show-account", "inbox"]) {
      expect(html, id).toContain(`id="${id}"`);
    }
    const script = await (await call("/demo/app.js", {}, { DEMO: "true" })).text();
    expect(script).toContain("/demo/inbox");
  });

  it("says whether the refresh cookie is on, for the page's cookie mode", async () => {
    const html = await (await call("/demo", {}, { DEMO: "true", REFRESH_COOKIE: "true" })).text();
    expect(html).toContain('data-refresh-cookie="true"');
  });

  it("leaves other methods and other paths under /demo to the gateway", async () => {
    await expectError(await call("/demo", { method: "POST" }, { DEMO: "true" }), 401, "unauthorized");
    await expectError(await call("/demo/other", {}, { DEMO: "true" }), 401, "unauthorized");
    await expectError(await call("/demonstration", {}, { DEMO: "true" }), 401, "unauthorized");
  });

  it("refuses a DEMO that is not true or false, naming it", async () => {
    const response = await call("/demo", {}, { DEMO: "yes" });
    expect(await expectError(response, 503, "server_misconfigured")).toContain("DEMO");
  });
});

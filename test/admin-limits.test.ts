import { describe, expect, it } from "vitest";
import { adminHeaders, bearer, call, openSession, postJson, refresh, uniqueSub } from "./helpers";

async function expectInvalidRequest(response: Response, mentioning: string) {
  expect(response.status).toBe(400);
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe("invalid_request");
  expect(body.error_description).toContain(mentioning);
}

describe("user ids (sub) of admin sessions", () => {
  it.each([
    ["a trailing space, which the origin would read as another user", "victim "],
    ["a header break", "alice\r\nX-Evil: 1"],
    ["a tab", "a\tb"],
    ["a non-ASCII letter", "jos\u00e9"],
    ["a NUL", "a\u0000"],
    ["256 characters", "x".repeat(256)],
    ["nothing", ""],
  ])("refuses a sub with %s with 400 and opens no session", async (_what, sub) => {
    await expectInvalidRequest(await postJson("/auth/admin/sessions", { sub }, adminHeaders), "sub");
  });

  it("accepts 255 printable ASCII characters, punctuation included, and forwards them unchanged", async () => {
    const sub = `${"!#$%&'*+-.^_`|~:@=,;"}${uniqueSub()}`.padEnd(255, "~");
    const pair = await openSession(sub);
    const echoed = await call("/api/me", { headers: bearer(pair.access_token) });
    expect(((await echoed.json()) as { headers: Record<string, string> }).headers["x-auth-user"]).toBe(sub);
  });

  it("refuses the same ids on the revoke route and in the events filter", async () => {
    await expectInvalidRequest(await call(`/auth/admin/users/${encodeURIComponent("victim ")}/revoke`, { method: "POST", headers: adminHeaders }), "sub");
    await expectInvalidRequest(await call(`/auth/admin/events?sub=${encodeURIComponent("jos\u00e9")}`, { headers: adminHeaders }), "sub");
  });
});

describe("session claims", () => {
  it("refuses claims over 4,096 bytes of JSON, so no access token outgrows what the gateway verifies", async () => {
    const claims = Object.fromEntries(Array.from({ length: 60 }, (_, index) => [`claim${index}`, "x".repeat(100)]));
    await expectInvalidRequest(await postJson("/auth/admin/sessions", { sub: uniqueSub(), claims }, adminHeaders), "4096 bytes");
  });

  it("takes claims of just under 4,096 bytes, and every token of the session verifies at the gateway", async () => {
    const claims = { blob: "x".repeat(4096 - '{"blob":""}'.length) };
    expect(new TextEncoder().encode(JSON.stringify(claims)).byteLength).toBe(4096);
    const pair = await openSession(uniqueSub(), claims);
    expect((await call("/api/me", { headers: bearer(pair.access_token) })).status).toBe(200);
    const next = (await (await refresh(pair.refresh_token)).json()) as { access_token: string };
    expect((await call("/api/me", { headers: bearer(next.access_token) })).status).toBe(200);
  });

  it("counts bytes, not characters: multi-byte text is measured as sent", async () => {
    const claims = { name: "\u00e9".repeat(2100) };
    await expectInvalidRequest(await postJson("/auth/admin/sessions", { sub: uniqueSub(), claims }, adminHeaders), "4096 bytes");
  });

  it("refuses a cnf claim, which the gateway sets itself for DPoP-bound sessions", async () => {
    await expectInvalidRequest(await postJson("/auth/admin/sessions", { sub: uniqueSub(), claims: { cnf: "x" } }, adminHeaders), "cnf");
  });
});

import { describe, expect, it } from "vitest";
import { dpopClient } from "../dpop-proofs";
import { adminHeaders, call, expectError, login, PASSWORD, postJson, registerUser, uniqueSub, type TokenResponse } from "../helpers";

// DPOP=required (vitest.config.ts, "dpop-required").

describe("with DPOP=required", () => {
  it("refuses a login, an admin session or a refresh without a DPoP header with 400 invalid_dpop_proof, before anything else", async () => {
    const { username } = await registerUser();
    await expectError(await login(username, PASSWORD), 400, "invalid_dpop_proof");
    // Before the body, the credentials and the admin token are even looked at.
    await expectError(await call("/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{not json" }), 400, "invalid_dpop_proof");
    await expectError(await postJson("/auth/admin/sessions", { sub: uniqueSub() }, {}), 400, "invalid_dpop_proof");
    await expectError(await postJson("/auth/refresh", { refresh_token: "rt1.anything" }), 400, "invalid_dpop_proof");
  });

  it("opens, refreshes and logs out bound sessions", async () => {
    const client = await dpopClient();
    const { username } = await registerUser();
    const pair = (await (await login(username, PASSWORD, { DPoP: await client.proof("POST", "/auth/login") })).json()) as TokenResponse;
    expect(pair.token_type).toBe("DPoP");
    const next = await postJson("/auth/refresh", { refresh_token: pair.refresh_token }, { DPoP: await client.proof("POST", "/auth/refresh") });
    expect(next.status).toBe(200);
    const admin = await postJson("/auth/admin/sessions", { sub: uniqueSub() }, { ...adminHeaders, DPoP: await client.proof("POST", "/auth/admin/sessions") });
    expect(admin.status).toBe(201);
    // Logout binds nothing, so it needs no proof.
    const { refresh_token } = (await next.json()) as TokenResponse;
    expect((await postJson("/auth/logout", { refresh_token })).status).toBe(204);
  });
});

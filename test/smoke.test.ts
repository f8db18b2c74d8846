import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("opens a session and refreshes it", async () => {
    const open = await exports.default.fetch("http://gw/auth/admin/sessions", {
      method: "POST",
      headers: { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" },
      body: JSON.stringify({ sub: "alice", claims: { role: "admin" } }),
    });
    const pair = (await open.json()) as Record<string, string>;
    expect(open.status, JSON.stringify(pair)).toBe(201);
    const api = await exports.default.fetch("http://gw/api/x?a=1", { headers: { Authorization: `Bearer ${pair.access_token}` } });
    expect(api.status).toBe(200);
    console.log(await api.json());
    const refreshed = await exports.default.fetch("http://gw/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: pair.refresh_token }),
    });
    expect(refreshed.status).toBe(200);
  });
});

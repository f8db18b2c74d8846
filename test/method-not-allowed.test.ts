import { describe, expect, it } from "vitest";
import { call } from "./helpers";

describe("a known /auth path called with a method it does not serve", () => {
  it.each([
    ["GET", "/auth/login", "POST"],
    ["PUT", "/auth/refresh", "POST"],
    ["DELETE", "/auth/register", "POST"],
    ["POST", "/auth/sessions", "GET, HEAD"],
    ["PATCH", "/auth/sessions/2f3c5a36-0d1e-4a55-9a8e-2f1b8d8e9c01", "DELETE"],
    ["GET", "/auth/logout-all", "POST"],
    ["DELETE", "/auth/admin/events", "GET, HEAD"],
    ["GET", "/auth/admin/users/alice/revoke", "POST"],
    ["POST", "/auth/account", "GET, HEAD, DELETE"],
    ["GET", "/auth/password", "POST"],
    ["GET", "/auth/password/forgot", "POST"],
    ["PUT", "/auth/password/reset", "POST"],
    ["GET", "/auth/email/verification", "POST"],
    ["GET", "/auth/email/verify", "POST"],
    ["POST", "/auth/admin/users", "GET, HEAD"],
    ["DELETE", "/auth/admin/users/alice", "GET, HEAD"],
  ])("answers %s %s with 405 method_not_allowed and Allow: %s", async (method, path, allow) => {
    const response = await call(path, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe(allow);
    expect(await response.json()).toMatchObject({ error: "method_not_allowed" });
  });

  it("still answers 404 for a path that does not exist under /auth", async () => {
    const response = await call("/auth/nothing-here", { method: "GET" });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "not_found" });
  });
});

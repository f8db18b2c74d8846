import { describe, expect, it } from "vitest";
import { adminHeaders, bearer, call, openSession, postJson, uniqueSub, type Vars } from "./helpers";

// The bench routes live in the bench worker alone (bench/worker.ts, tested in test/bench/). In the
// production worker every `/bench/...` path is a gateway path like any other, whatever the
// variables say: BENCH_ROUTES, the flag that used to turn the routes on, is nothing now.
const BENCH_PATHS = [
  ["/bench/pass-through/ping", { method: "GET" }],
  ["/bench/verify", { method: "POST" }],
  ["/bench/refresh-floor", { method: "POST" }],
  ["/bench/password-floor", { method: "POST" }],
  ["/bench/d1-writes?prefix=x", { method: "GET" }],
] as const;
const OLD_FLAG_ON = { BENCH_ROUTES: "true" } as Vars;

describe("the production worker's /bench/ paths", () => {
  it("answer 401 without an access token, as every gateway path does, even with BENCH_ROUTES set", async () => {
    for (const vars of [undefined, OLD_FLAG_ON]) {
      for (const [path, init] of BENCH_PATHS) {
        const response = await call(path, init, vars);
        expect(response.status, path).toBe(401);
        expect(response.headers.get("WWW-Authenticate"), path).toMatch(/^Bearer realm=/);
        expect(await response.json(), path).toMatchObject({ error: "unauthorized" });
      }
    }
  });

  it("refuse the admin token, which is not an access token: no refresh floor answers", async () => {
    const response = await postJson("/bench/refresh-floor", { user: uniqueSub("floor") }, adminHeaders, OLD_FLAG_ON);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "invalid_token" });
  });

  it("reach the origin with an access token, like any other path", async () => {
    const { access_token } = await openSession(uniqueSub("bench"));
    for (const [path, init] of BENCH_PATHS) {
      const response = await call(path, { ...init, headers: bearer(access_token) }, OLD_FLAG_ON);
      expect(response.status, path).toBe(200);
      expect(await response.json(), path).toMatchObject({ method: init.method, path: path.split("?")[0] });
    }
  });
});

import { describe, expect, it } from "vitest";
import { adminHeaders, bearer, call, openSession, postJson, recordingOrigin, uniqueSub } from "./helpers";

// The routes of `npm run bench` (src/bench/) answer only while BENCH_ROUTES is on.

describe("bench routes", () => {
  it("are ordinary gateway paths while BENCH_ROUTES is off (the default): 401 without an access token", async () => {
    for (const [path, init] of [
      ["/bench/pass-through/ping", {}],
      ["/bench/verify", { method: "POST" }],
      ["/bench/refresh-floor", { method: "POST" }],
      ["/bench/password-floor", { method: "POST" }],
      ["/bench/d1-writes?prefix=x", {}],
    ] as const) {
      const response = await call(path, init);
      expect(response.status, path).toBe(401);
      expect(response.headers.get("WWW-Authenticate"), path).toMatch(/^Bearer realm=/);
    }
    // With a token they reach the origin like any other path.
    const { access_token } = await openSession(uniqueSub("bench"));
    const response = await call("/bench/verify", { headers: bearer(access_token) });
    expect(((await response.json()) as { path: string }).path).toBe("/bench/verify");
  });

  it("forward the pass-through path to the echo origin without verification, never to ORIGIN_URL, while BENCH_ROUTES is on", async () => {
    const origin = recordingOrigin();
    const passed = await call("/bench/pass-through/ping?x=1", {}, { BENCH_ROUTES: "true", ORIGIN_URL: origin.url });
    expect(passed.status).toBe(200);
    expect(await passed.json()).toMatchObject({ method: "GET", path: "/bench/pass-through/ping", query: { x: "1" } });
    expect(await origin.requests()).toEqual([]);
  });

  it("answer the refresh floor only with the admin token, while BENCH_ROUTES is on", async () => {
    const on = { BENCH_ROUTES: "true" };
    const user = uniqueSub("floor");
    for (const path of ["/bench/refresh-floor", "/bench/password-floor", "/bench/verify"]) {
      expect((await postJson(path, { user }, {}, on)).status, path).toBe(401);
      expect((await postJson(path, { user }, bearer("not-the-admin-token"), on)).status, path).toBe(401);
    }
    expect((await call("/bench/d1-writes?prefix=x", {}, on)).status).toBe(401);

    const first = await postJson("/bench/refresh-floor", { user }, adminHeaders, on);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ token_type: "Bearer", refresh_token: `floor.${user}.1`, session_id: user });
    const second = (await (await postJson("/bench/refresh-floor", { user }, adminHeaders, on)).json()) as { refresh_token: string };
    expect(second.refresh_token).toBe(`floor.${user}.2`);
  });
});

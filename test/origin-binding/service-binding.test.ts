// A Worker origin behind the service binding ORIGIN (vitest.config.ts's origin-binding project:
// an auxiliary worker, test/origin-binding/origin-worker.ts, that verifies with the origin SDK).
// With the binding there, ORIGIN_URL is not used: the origin has no public route at all.
import { describe, expect, it } from "vitest";
import { bearer, call, expectError, openSession, recordingOrigin, uniqueSub } from "../helpers";

interface WorkerOriginAnswer {
  method: string;
  url: string;
  verified?: { user: string | null; session: string | null };
  refused?: string;
  headers: Record<string, string>;
  body: string;
}

describe("gateway: a Worker origin through the service binding ORIGIN", () => {
  it("forwards a verified request to the bound worker, signed, with method, path, query, body and identity", async () => {
    const sub = uniqueSub("binding");
    const { access_token, session_id } = await openSession(sub);
    const response = await call("/api/orders/7?page=2&tag=a%20b", { method: "PUT", headers: { ...bearer(access_token), "Content-Type": "text/plain" }, body: "new order" });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as WorkerOriginAnswer;
    expect(answer.verified).toEqual({ user: sub, session: session_id });
    expect(answer.method).toBe("PUT");
    expect(new URL(answer.url).pathname + new URL(answer.url).search).toBe("/api/orders/7?page=2&tag=a%20b");
    expect(answer.body).toBe("new order");
    expect(answer.headers["x-auth-user"]).toBe(sub);
    expect(answer.headers["x-forwarded-host"]).toBe("gateway.test");
  });

  it("forwards a public path without identity, still signed", async () => {
    const response = await call("/public/feed?x=1", {}, { PUBLIC_PATH_PREFIXES: "/public" });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as WorkerOriginAnswer;
    expect(answer.verified).toEqual({ user: null, session: null });
  });

  it("is used instead of ORIGIN_URL when both are set: nothing reaches the URL", async () => {
    const origin = recordingOrigin();
    const { access_token } = await openSession(uniqueSub("binding"));
    const response = await call("/api/me", { headers: bearer(access_token) }, { ORIGIN_URL: origin.url });
    expect(response.status).toBe(200);
    expect(((await response.json()) as WorkerOriginAnswer).verified?.user).toMatch(/^binding-/);
    expect(await origin.requests()).toEqual([]);
  });

  it("answers 401 without a token: the bound worker never sees the request", async () => {
    await expectError(await call("/api/me"), 401, "unauthorized");
  });

  it("reaches the worker unsigned when ORIGIN_SIGNING_SECRET is unset, and the worker refuses it as missing", async () => {
    const { access_token } = await openSession(uniqueSub("binding"));
    const response = await call("/api/me", { headers: bearer(access_token) }, { ORIGIN_SIGNING_SECRET: "" });
    expect(response.status).toBe(200);
    expect(((await response.json()) as WorkerOriginAnswer).refused).toBe("missing");
  });
});

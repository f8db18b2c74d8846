import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  bearer,
  call,
  eventsOf,
  login,
  openSession,
  outboxSize,
  PASSWORD,
  refresh,
  registerUser,
  sessionRecord,
  uniqueSub,
  userAuthStub,
  type TokenResponse,
} from "./helpers";

// The Durable Objects never call D1: what they record goes to D1 through the EVENTS queue, whose
// consumer runs apart from any request. So the one thing a refresh could wait on after its commit
// is the queue; here it never answers, and nothing waits for it.

/**
 * Makes one user's Durable Object see an EVENTS queue whose sends never settle until `release()`,
 * as if the queue were stuck. Nothing is timed; a request that waited on the send would simply
 * never answer and the test would time out.
 */
async function hangQueueOf(sub: string): Promise<{ release: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const stuck = {
    send: async (...args: Parameters<Env["EVENTS"]["send"]>) => {
      await released;
      return env.EVENTS.send(...args);
    },
    sendBatch: async (...args: Parameters<Env["EVENTS"]["sendBatch"]>) => {
      await released;
      return env.EVENTS.sendBatch(...args);
    },
  } as unknown as Env["EVENTS"];
  await runInDurableObject(userAuthStub(sub), (instance) => {
    (instance as unknown as { env: Env }).env = { ...env, EVENTS: stuck };
  });
  return {
    release: async () => {
      release();
      await runInDurableObject(userAuthStub(sub), (instance) => {
        (instance as unknown as { env: Env }).env = env;
      });
    },
  };
}

describe("no request waits on what its Durable Object sends after the commit", () => {
  it("answers refresh, login, logout and the session list while the user's queue sends hang, and delivers every record after", async () => {
    const { username, userId } = await registerUser();
    const first = (await (await login(username, PASSWORD)).json()) as TokenResponse;
    const { release } = await hangQueueOf(userId);

    const rotated = await refresh(first.refresh_token);
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as TokenResponse;
    const second = await login(username, PASSWORD);
    expect(second.status).toBe(200);
    const listed = await call("/auth/sessions", { headers: bearer(next.access_token) });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { sessions: unknown[] }).sessions).toHaveLength(2);
    const other = (await second.json()) as TokenResponse;
    expect((await call("/auth/logout", { method: "POST", headers: bearer(other.access_token) })).status).toBe(204);
    // Everything is committed in the object, waiting for the queue.
    expect(await outboxSize(userAuthStub(userId))).toBeGreaterThanOrEqual(4);

    await release();
    const types = (await eventsOf(userId)).map((event) => event.type).sort();
    expect(types).toEqual(["login", "login", "logout", "refresh"]);
    expect(await outboxSize(userAuthStub(userId))).toBe(0);
    expect(await sessionRecord(userId, other.session_id)).toMatchObject({ revoked_reason: "logout" });
  });

  it("answers refreshes and a reuse revocation while the queue hangs, then records both", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const { release } = await hangQueueOf(sub);
    const second = (await (await refresh(first.refresh_token)).json()) as TokenResponse;
    expect((await refresh(second.refresh_token)).status).toBe(200);
    // Two generations back: reuse, revoked while the queue hangs.
    expect((await refresh(first.refresh_token)).status).toBe(400);
    await release();
    expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(1);
    expect(await sessionRecord(sub, first.session_id)).toMatchObject({ revoked_reason: "reuse" });
  });
});

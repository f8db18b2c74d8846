import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  bearer,
  call,
  eventsOf,
  login,
  openSession,
  PASSWORD,
  queuedWrites,
  refresh,
  registerUser,
  sessionRecord,
  uniqueSub,
  userAuthStub,
  type TokenResponse,
} from "./helpers";

/**
 * Makes one user's Durable Object see a D1 whose calls never settle until `release()`: as if the
 * one D1 primary were a continent away and stuck. Nothing is timed; a request that waited on D1
 * would simply never answer and the test would time out.
 */
async function hangD1Of(sub: string): Promise<{ release: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const stuck: D1Database = {
    prepare: (query: string) => env.DB.prepare(query),
    batch: async (statements: D1PreparedStatement[]) => {
      await released;
      return env.DB.batch(statements);
    },
    exec: async (query: string) => {
      await released;
      return env.DB.exec(query);
    },
    withSession: () => {
      throw new Error("not used");
    },
    dump: () => {
      throw new Error("not used");
    },
  } as unknown as D1Database;
  await runInDurableObject(userAuthStub(sub), (instance) => {
    (instance as unknown as { env: Env }).env = { ...env, DB: stuck };
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

describe("no request waits on D1 that does not read it", () => {
  it("answers refresh, login, logout and the session list while the user's D1 writes hang, and delivers every record after", async () => {
    const { username, userId } = await registerUser();
    const first = (await (await login(username, PASSWORD)).json()) as TokenResponse;
    const { release } = await hangD1Of(userId);

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
    // Everything is committed in the object, waiting for D1.
    expect(await queuedWrites(userAuthStub(userId))).toBeGreaterThanOrEqual(4);

    await release();
    const types = (await eventsOf(userId)).map((event) => event.type).sort();
    expect(types).toEqual(["login", "login", "logout", "refresh"]);
    expect(await queuedWrites(userAuthStub(userId))).toBe(0);
    expect(await sessionRecord(userId, other.session_id)).toMatchObject({ revoked_reason: "logout" });
  });

  it("answers refreshes and a reuse revocation while D1 hangs, then records both", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const { release } = await hangD1Of(sub);
    const second = (await (await refresh(first.refresh_token)).json()) as TokenResponse;
    expect((await refresh(second.refresh_token)).status).toBe(200);
    // Two generations back: reuse, revoked while D1 hangs.
    expect((await refresh(first.refresh_token)).status).toBe(400);
    await release();
    expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(1);
    expect(await sessionRecord(sub, first.session_id)).toMatchObject({ revoked_reason: "reuse" });
  });
});

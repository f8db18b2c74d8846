import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { dpopClient } from "../dpop-proofs";
import {
  adminHeaders,
  bearer,
  call,
  drainEvents,
  expectInvalidGrant,
  login,
  PASSWORD,
  postJson,
  refresh,
  registerUser,
  storedSessions,
  uniqueSub,
  userAuthStub,
  type TokenResponse,
} from "../helpers";

// MAX_SESSIONS_PER_USER=5 (vitest.config.ts, "session-cap"): what a loop of logins of one user
// leaves in the user's Durable Object, and in D1.
const CAP = 5;

/** Rows in each table of the user's Durable Object, read in place. */
function objectRows(sub: string) {
  return runInDurableObject(userAuthStub(sub), (_instance, state) => {
    const count = (sql: string) => state.storage.sql.exec<{ n: number }>(sql).one().n;
    return {
      sessions: count("SELECT count(*) AS n FROM sessions"),
      active: count("SELECT count(*) AS n FROM sessions WHERE revoked_at IS NULL"),
      proofs: count("SELECT count(*) AS n FROM dpop_proofs"),
      outbox: count("SELECT count(*) AS n FROM outbox"),
    };
  });
}

/** The user's rows in D1 once its queued writes have arrived: session records, and events by type. */
async function d1Rows(sub: string) {
  await drainEvents(sub);
  const sessions = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?1").bind(sub).first<{ n: number }>();
  const events = await env.DB.prepare("SELECT type, count(*) AS n FROM events WHERE sub = ?1 GROUP BY type").bind(sub).all<{ type: string; n: number }>();
  return { sessions: sessions!.n, events: Object.fromEntries(events.results.map((row) => [row.type, row.n])) };
}

/** The `refresh_refused` log lines (rule and reason) the worker writes while `action` runs. */
async function refusalsDuring(action: () => Promise<unknown>) {
  const spy = vi.spyOn(console, "warn");
  try {
    await action();
    return spy.mock.calls.flatMap(([line]) => {
      const parsed = typeof line === "string" && line.startsWith("{") ? (JSON.parse(line) as { event?: string; rule?: unknown; reason?: string }) : null;
      return parsed?.event === "refresh_refused" ? [{ rule: parsed.rule, reason: parsed.reason }] : [];
    });
  } finally {
    spy.mockRestore();
  }
}

describe(`a user's storage with MAX_SESSIONS_PER_USER=${CAP}`, () => {
  it("keeps at most the cap of ended sessions besides the active ones after 300 sessions opened in a row, half of them DPoP-bound", async () => {
    const sub = uniqueSub("loop");
    const client = await dpopClient();
    const opened: TokenResponse[] = [];
    for (let index = 0; index < 300; index += 1) {
      const headers = index % 2 === 0 ? { ...adminHeaders, DPoP: await client.proof("POST", "/auth/admin/sessions") } : adminHeaders;
      const response = await postJson("/auth/admin/sessions", { sub }, headers);
      expect(response.status).toBe(201);
      opened.push(await response.json());
    }

    expect(await objectRows(sub)).toEqual({ sessions: 2 * CAP, active: CAP, proofs: expect.any(Number), outbox: 0 });
    // One proof per bound session kept, at most: the dropped sessions' proofs went with them.
    expect((await objectRows(sub)).proofs).toBeLessThanOrEqual(2 * CAP);
    // The ones kept: the last five opened (active) and the last five ended, i.e. revoked by the cap.
    const kept = new Map((await storedSessions(sub)).map((session) => [session.id, session]));
    expect([...kept.keys()].sort()).toEqual(opened.slice(-2 * CAP).map((pair) => pair.session_id).sort());
    for (const pair of opened.slice(-2 * CAP, -CAP)) expect(kept.get(pair.session_id)?.revoked_reason).toBe("session_limit");

    // D1 keeps the audit record of every session until its retention: it is bounded by
    // SESSION_RETENTION_SECONDS and AUDIT_RETENTION_SECONDS, not by the cap.
    expect(await d1Rows(sub)).toEqual({ sessions: 300, events: { session_created: 300, session_revoked: 300 - CAP } });
  });

  it("answers invalid_grant to a dropped session's token as to an unknown one (rule 1), and to a kept ended one as revoked (rule 2)", async () => {
    const sub = uniqueSub("dropped");
    const opened: TokenResponse[] = [];
    for (let index = 0; index < 3 * CAP; index += 1) opened.push(await postJson("/auth/admin/sessions", { sub }, adminHeaders).then((response) => response.json()));
    const dropped = opened[0]!;
    const endedButKept = opened[2 * CAP - 1]!;
    const refusals = await refusalsDuring(async () => {
      await expectInvalidGrant(await refresh(dropped.refresh_token));
      await expectInvalidGrant(await refresh(endedButKept.refresh_token));
    });
    expect(refusals).toEqual([
      { rule: 1, reason: "unknown_token" },
      { rule: 2, reason: "revoked" },
    ]);
    // Ending a session is not reuse, dropped or not.
    expect((await d1Rows(sub)).events.refresh_token_reuse).toBeUndefined();
  });

  it("drops the oldest ended sessions when logout-all ends the active ones, keeping those it just ended", async () => {
    const sub = uniqueSub("logout-all");
    const opened: TokenResponse[] = [];
    for (let index = 0; index < 2 * CAP; index += 1) opened.push(await postJson("/auth/admin/sessions", { sub }, adminHeaders).then((response) => response.json()));
    expect(await call("/auth/logout-all", { method: "POST", headers: bearer(opened.at(-1)!.access_token) }).then((response) => response.status)).toBe(204);
    const kept = await storedSessions(sub);
    expect(kept.map((session) => session.id).sort()).toEqual(opened.slice(-CAP).map((pair) => pair.session_id).sort());
    expect(new Set(kept.map((session) => session.revoked_reason))).toEqual(new Set(["logout_all"]));
  });

  it("holds the same bound for password logins", async () => {
    const { username, userId } = await registerUser();
    for (let index = 0; index < 3 * CAP; index += 1) expect((await login(username, PASSWORD)).status).toBe(200);
    expect(await objectRows(userId)).toMatchObject({ sessions: 2 * CAP, active: CAP, outbox: 0 });
  });
});

import { describe, expect, it } from "vitest";
import {
  eventsOf,
  expectInvalidGrant,
  openSession,
  refresh,
  sessionRecord,
  type TokenResponse,
  uniqueSub,
} from "../helpers";

// Real parallel requests through the worker with REFRESH_REUSE_GRACE_SECONDS=0 (vitest.config.ts,
// "strict-sessions"): the Durable Object serializes them, so exactly one request rotates the token
// and every other one presents a used token.

const PARALLEL = 50;


describe("concurrent refreshes of one token without a grace window", () => {
  it(`gives exactly one of ${PARALLEL} parallel refreshes 200, then revokes the session as reused`, async () => {
    const sub = uniqueSub();
    const pair = await openSession(sub);
    const responses = await Promise.all(Array.from({ length: PARALLEL }, () => refresh(pair.refresh_token)));
    const results = await Promise.all(
      responses.map(async (response) => ({ status: response.status, body: (await response.json()) as Partial<TokenResponse> & { error?: string } })),
    );

    const winners = results.filter((result) => result.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((result) => result.status === 400 && result.body.error === "invalid_grant")).toHaveLength(PARALLEL - 1);

    expect(await sessionRecord(sub, pair.session_id)).toMatchObject({ rotation_count: 1, revoked_reason: "reuse" });
    expect(await eventsOf(sub, "refresh")).toHaveLength(1);
    // The first replay revoked the session; the rest met a revoked session (rule 2).
    expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(1);

    // The winner's new refresh token died with the session.
    await expectInvalidGrant(await refresh(winners[0]!.body.refresh_token!));
  });
});

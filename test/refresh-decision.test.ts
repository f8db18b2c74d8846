import { describe, expect, it } from "vitest";
import { ISSUE_TIMES_KEPT, decideRefresh, type SessionState } from "../src/sessions/refresh-rules";
import { sessionSettings as policy } from "./session-settings";

// decideRefresh, one describe per rule: pure, every test passes `now` explicitly, no clock
// involved. The time arithmetic it uses (limits, issue times): test/refresh-times.test.ts.
const T0 = Date.UTC(2026, 0, 1);
const SECOND = 1000;
const DAY = 86_400 * SECOND;

/** A session created at T0 and rotated to `generation`, one rotation a second, last used at its last rotation. */
function session(generation: number, overrides: Partial<SessionState> = {}): SessionState {
  const issueTimes = Array.from({ length: generation + 1 }, (_, index) => T0 + index * SECOND).slice(-ISSUE_TIMES_KEPT);
  return { generation, issueTimes, createdAt: T0, lastUsedAt: issueTimes.at(-1)!, revokedAt: null, jkt: null, ...overrides };
}

const authentic = (generation: number, proof: { jkt: string; jtiSeen: boolean } | null = null) => ({ generation, authentic: true, proof });
/** The moment generation 5 of `session(5)` was issued. */
const ROTATED = T0 + 5 * SECOND;

describe("decideRefresh, rule 1: unknown, malformed or forged", () => {
  it("refuses a token of a session the object does not hold", () => {
    expect(decideRefresh(null, authentic(0), policy(), T0)).toEqual({ rule: 1, kind: "refuse", reason: "unknown_token", rememberProof: false });
  });

  it("refuses a token whose MAC is wrong, even for the current generation", () => {
    expect(decideRefresh(session(5), { generation: 5, authentic: false, proof: null }, policy(), ROTATED)).toMatchObject({ rule: 1, kind: "refuse" });
  });

  it("refuses a generation above the current one, which was never issued", () => {
    expect(decideRefresh(session(5), authentic(6), policy(), ROTATED)).toMatchObject({ rule: 1, reason: "unknown_token" });
  });

  it("comes before rule 2: a forged token of a revoked session is still just unknown", () => {
    expect(decideRefresh(session(5, { revokedAt: ROTATED }), { generation: 5, authentic: false, proof: null }, policy(), ROTATED)).toMatchObject({ rule: 1 });
  });
});

describe("decideRefresh, rule 2: revoked or expired", () => {
  it("refuses any token of a revoked session, the current one included, without further effect", () => {
    for (const generation of [5, 4, 0]) {
      expect(decideRefresh(session(5, { revokedAt: ROTATED }), authentic(generation), policy(), ROTATED + 1)).toEqual({
        rule: 2,
        kind: "refuse",
        reason: "revoked",
        rememberProof: false,
      });
    }
  });

  it("expires a session idle for REFRESH_IDLE_TTL_SECONDS, at the exact millisecond", () => {
    const settings = policy({ refreshIdleTtlSeconds: 60 });
    expect(decideRefresh(session(5), authentic(5), settings, ROTATED + 60 * SECOND - 1)).toMatchObject({ rule: 3 });
    expect(decideRefresh(session(5), authentic(5), settings, ROTATED + 60 * SECOND)).toEqual({ rule: 2, kind: "expire", reason: "idle_timeout", rememberProof: false });
  });

  it("expires a session older than SESSION_MAX_TTL_SECONDS even while it is in use", () => {
    const settings = policy({ refreshIdleTtlSeconds: 60, sessionMaxTtlSeconds: 3600 });
    const busy = session(5, { lastUsedAt: T0 + 3599 * SECOND });
    expect(decideRefresh(busy, authentic(5), settings, T0 + 3600 * SECOND)).toEqual({ rule: 2, kind: "expire", reason: "max_lifetime", rememberProof: false });
  });

  it("never expires a session when both limits are 0, ten years on", () => {
    const settings = policy({ refreshIdleTtlSeconds: 0, sessionMaxTtlSeconds: 0 });
    expect(decideRefresh(session(5), authentic(5), settings, T0 + 3650 * DAY)).toEqual({ rule: 3, kind: "rotate", rememberProof: false });
  });

  it("checks expiry before reuse: an old token of an expired session expires it rather than revoking the user", () => {
    const settings = policy({ refreshIdleTtlSeconds: 60 });
    expect(decideRefresh(session(5), authentic(1), settings, ROTATED + 61 * SECOND)).toMatchObject({ rule: 2, kind: "expire" });
  });
});

describe("decideRefresh, rule 3: the current token", () => {
  it("rotates the current token of a live session", () => {
    expect(decideRefresh(session(0), authentic(0), policy(), T0)).toEqual({ rule: 3, kind: "rotate", rememberProof: false });
    expect(decideRefresh(session(5), authentic(5), policy(), ROTATED + 13 * DAY)).toEqual({ rule: 3, kind: "rotate", rememberProof: false });
  });
});

describe("decideRefresh, rule 4: grace replay", () => {
  it("replays for the token rotated just before the current one, up to REFRESH_REUSE_GRACE_SECONDS after the rotation", () => {
    expect(decideRefresh(session(5), authentic(4), policy(), ROTATED)).toEqual({ rule: 4, kind: "grace_replay", rememberProof: false });
    expect(decideRefresh(session(5), authentic(4), policy(), ROTATED + 10 * SECOND)).toEqual({ rule: 4, kind: "grace_replay", rememberProof: false });
  });

  it("is reuse one millisecond after the grace window", () => {
    expect(decideRefresh(session(5), authentic(4), policy(), ROTATED + 10 * SECOND + 1)).toMatchObject({ rule: 5, kind: "reuse" });
  });

  it("follows a longer REFRESH_REUSE_GRACE_SECONDS", () => {
    expect(decideRefresh(session(5), authentic(4), policy({ refreshReuseGraceSeconds: 60 }), ROTATED + 59 * SECOND)).toMatchObject({ rule: 4 });
    expect(decideRefresh(session(5), authentic(4), policy({ refreshReuseGraceSeconds: 60 }), ROTATED + 61 * SECOND)).toMatchObject({ rule: 5 });
  });

  it("never applies to a token two or more generations back", () => {
    expect(decideRefresh(session(5), authentic(3), policy(), ROTATED + 1)).toMatchObject({ rule: 5 });
    expect(decideRefresh(session(5), authentic(0), policy(), ROTATED + 1)).toMatchObject({ rule: 5 });
  });

  it("is off when REFRESH_REUSE_GRACE_SECONDS is 0: the previous token is reuse at once", () => {
    expect(decideRefresh(session(5), authentic(4), policy({ refreshReuseGraceSeconds: 0 }), ROTATED)).toMatchObject({ rule: 5, kind: "reuse" });
  });
});

describe("decideRefresh, rule 5: reuse", () => {
  it("revokes the scope REUSE_REVOKES names and says how far behind the token was and when it was rotated", () => {
    expect(decideRefresh(session(5), authentic(2), policy(), ROTATED + 60 * SECOND)).toEqual({
      rule: 5,
      kind: "reuse",
      reason: "reuse",
      scope: "user",
      generationsBehind: 3,
      successorIssuedAt: T0 + 3 * SECOND,
      rememberProof: false,
    });
    expect(decideRefresh(session(5), authentic(2), policy({ reuseRevokes: "session" }), ROTATED + 60 * SECOND)).toMatchObject({ scope: "session" });
  });

  it("dates the previous token's rotation as the current token's issue time (generations_behind 1)", () => {
    expect(decideRefresh(session(5), authentic(4), policy(), ROTATED + 11 * SECOND)).toMatchObject({ generationsBehind: 1, successorIssuedAt: ROTATED });
  });

  it("cannot date a rotation older than the kept issue times, but still detects the reuse", () => {
    expect(decideRefresh(session(200), authentic(3), policy(), T0 + 300 * SECOND)).toMatchObject({
      rule: 5,
      generationsBehind: 197,
      successorIssuedAt: null,
    });
  });
});

describe("decideRefresh, the DPoP check between rules 1 and 2", () => {
  const KEY = "thumbprint-of-the-bound-key";
  const OTHER = "thumbprint-of-another-key";
  const bound = (overrides: Partial<SessionState> = {}) => session(5, { jkt: KEY, ...overrides });

  it("never binds an unbound session at a refresh: a proof changes nothing, and is not remembered", () => {
    // A thief's copy of an unbound session's token, refreshed first with a proof of its own key,
    // must leave the session exactly as a proofless refresh would, or the real client could never
    // trigger reuse detection again.
    for (const proof of [{ jkt: KEY, jtiSeen: false }, { jkt: OTHER, jtiSeen: false }]) {
      expect(decideRefresh(session(5), authentic(5, proof), policy(), ROTATED)).toEqual(decideRefresh(session(5), authentic(5), policy(), ROTATED));
      expect(decideRefresh(session(5), authentic(5, proof), policy(), ROTATED)).toEqual({ rule: 3, kind: "rotate", rememberProof: false });
      expect(decideRefresh(session(5), authentic(4, proof), policy(), ROTATED)).toEqual({ rule: 4, kind: "grace_replay", rememberProof: false });
      // A used token with a proof is reuse all the same (rule 5), not a refused proof.
      expect(decideRefresh(session(5), authentic(4, proof), policy(), ROTATED + 11 * SECOND)).toMatchObject({ rule: 5, kind: "reuse", rememberProof: false });
    }
  });

  it("ignores the proof's jti for an unbound session: nothing was remembered, nothing is a replay", () => {
    expect(decideRefresh(session(5), authentic(5, { jkt: KEY, jtiSeen: true }), policy(), ROTATED)).toEqual({ rule: 3, kind: "rotate", rememberProof: false });
  });

  it("rotates a bound session with a proof of its key, and remembers that proof", () => {
    expect(decideRefresh(bound(), authentic(5, { jkt: KEY, jtiSeen: false }), policy(), ROTATED)).toEqual({ rule: 3, kind: "rotate", rememberProof: true });
    expect(decideRefresh(bound(), authentic(4, { jkt: KEY, jtiSeen: false }), policy(), ROTATED)).toEqual({ rule: 4, kind: "grace_replay", rememberProof: true });
  });

  it("remembers a bound key's fresh proof whatever the rules after the DPoP check decide", () => {
    const proof = { jkt: KEY, jtiSeen: false };
    expect(decideRefresh(bound({ revokedAt: ROTATED }), authentic(5, proof), policy(), ROTATED)).toMatchObject({ rule: 2, rememberProof: true });
    expect(decideRefresh(bound(), authentic(5, proof), policy({ refreshIdleTtlSeconds: 60 }), ROTATED + 60 * SECOND)).toMatchObject({ rule: 2, kind: "expire", rememberProof: true });
    expect(decideRefresh(bound(), authentic(2, proof), policy(), ROTATED + 60 * SECOND)).toMatchObject({ rule: 5, rememberProof: true });
  });

  it("refuses a bound session without a proof, or with another key's, before any rule can rotate or revoke", () => {
    const cases = [
      { proof: null, failure: "no_proof" },
      { proof: { jkt: OTHER, jtiSeen: false }, failure: "another_key" },
    ] as const;
    for (const { proof, failure } of cases) {
      // The current token, and a used one that would otherwise be reuse (rule 5): neither happens.
      // The failure is named, for the dpop_proof_failed event the object records.
      for (const generation of [5, 2]) {
        expect(decideRefresh(bound(), authentic(generation, proof), policy(), ROTATED + 60 * SECOND)).toEqual({
          rule: "dpop",
          kind: "dpop_failure",
          reason: "dpop_key_mismatch",
          failure,
          rememberProof: false,
        });
      }
    }
  });

  it("refuses a proof whose jti the session saw already, even by the right key", () => {
    expect(decideRefresh(bound(), authentic(5, { jkt: KEY, jtiSeen: true }), policy(), ROTATED)).toEqual({
      rule: "dpop",
      kind: "refuse",
      reason: "dpop_replay",
      rememberProof: false,
    });
  });

  it("comes after rule 1: a forged token is unknown whatever its proof", () => {
    expect(decideRefresh(bound(), { generation: 5, authentic: false, proof: null }, policy(), ROTATED)).toMatchObject({ rule: 1 });
  });

  it("comes before rule 2: a revoked bound session refuses a proofless refresh as unproven", () => {
    expect(decideRefresh(bound({ revokedAt: ROTATED }), authentic(5), policy(), ROTATED)).toMatchObject({ rule: "dpop" });
  });
});

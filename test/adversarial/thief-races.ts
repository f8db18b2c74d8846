// A thief with a DPoP key of its own holds a copy of the real client's first refresh token and
// races the client for the session: every interleaving of their refreshes, one after another and
// as real parallel requests. Whatever the order, the run must end with reuse detected (the
// session revoked, so the thief holds nothing) or the thief refused (a session bound to the
// client's key), and never with the client locked out while the thief holds the session.
// Shared by the grace-on suite (test/adversarial/) and the grace-off one (test/strict-sessions/).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { parseRefreshToken } from "../../src/tokens/refresh";
import { dpopClient, type DpopClient } from "../dpop-proofs";
import { adminHeaders, postJson, uniqueSub, userAuthStub, type TokenResponse } from "../helpers";

export type Actor = "thief" | "victim";
/** The real client: without a key (a Bearer session), or bound to its own key from login. */
export type VictimKind = "unbound" | "bound";

const GRACE_MS = Number(env.REFRESH_REUSE_GRACE_SECONDS) * 1000;

/** Every order of `thief` thief steps and `victim` victim steps. */
export function interleavings(thief: number, victim: number): Actor[][] {
  if (thief === 0) return [Array<Actor>(victim).fill("victim")];
  if (victim === 0) return [Array<Actor>(thief).fill("thief")];
  return [
    ...interleavings(thief - 1, victim).map((rest): Actor[] => ["thief", ...rest]),
    ...interleavings(thief, victim - 1).map((rest): Actor[] => ["victim", ...rest]),
  ];
}

/**
 * The sequences the suites run: every interleaving of one refresh each and of two each (the
 * settling refreshes after each sequence add two more, so every run holds four to six).
 */
export const SEQUENCES: Actor[][] = [...interleavings(1, 1), ...interleavings(2, 2)];

/** Parallel rounds: how many refreshes each actor fires at once, with its latest token. */
export const PARALLEL_SHAPES: Array<Record<Actor, number>> = [
  { thief: 3, victim: 1 },
  { thief: 1, victim: 3 },
  { thief: 2, victim: 2 },
];

interface Answer {
  actor: Actor;
  status: number;
  body: Partial<TokenResponse> & { error?: string };
}

/** One race: the session, both actors' keys and latest tokens, and every answer either got. */
class Race {
  readonly answers: Answer[] = [];
  readonly latest: Record<Actor, string>;

  private constructor(
    readonly sub: string,
    readonly sessionId: string,
    readonly kind: VictimKind,
    readonly keys: { thief: DpopClient; victim: DpopClient | null },
    first: string,
  ) {
    this.latest = { thief: first, victim: first };
  }

  /** The real client logs in (the admin route, relaying its proof when bound); the thief copies its first refresh token. */
  static async start(kind: VictimKind): Promise<Race> {
    const sub = uniqueSub(`thief-${kind}`);
    const victim = kind === "bound" ? await dpopClient() : null;
    const headers = victim ? { ...adminHeaders, DPoP: await victim.proof("POST", "/auth/admin/sessions") } : adminHeaders;
    const response = await postJson("/auth/admin/sessions", { sub }, headers);
    expect(response.status).toBe(201);
    const pair = (await response.json()) as TokenResponse;
    return new Race(sub, pair.session_id, kind, { thief: await dpopClient(), victim }, pair.refresh_token);
  }

  /** `actor` refreshes its latest token: the thief always with a proof of its own key, the client with its key's when it has one. */
  async refresh(actor: Actor): Promise<Answer> {
    const key = this.keys[actor];
    const headers: Record<string, string> = key ? { DPoP: await key.proof("POST", "/auth/refresh") } : {};
    const response = await postJson("/auth/refresh", { refresh_token: this.latest[actor] }, headers);
    const answer: Answer = { actor, status: response.status, body: (await response.json()) as Answer["body"] };
    this.answers.push(answer);
    return answer;
  }

  /** Fires `shape` refreshes at once (each actor with its latest token), then keeps each actor's newest token. */
  async parallel(shape: Record<Actor, number>, round: number) {
    const actors = (["thief", "victim"] as const).flatMap((actor) => Array<Actor>(shape[actor]).fill(actor));
    // Spread-out starts (0 to 10 ms), so the requests land in different orders from round to round.
    const answers = await Promise.all(
      actors.map((actor, index) => new Promise((resolve) => setTimeout(resolve, (index * 7 + round * 3) % 11)).then(() => this.refresh(actor))),
    );
    for (const actor of ["thief", "victim"] as const) {
      const tokens = answers.filter((answer) => answer.actor === actor && answer.status === 200).map((answer) => answer.body.refresh_token!);
      const newest = tokens.sort((a, b) => parseRefreshToken(b)!.generation - parseRefreshToken(a)!.generation)[0];
      if (newest) this.latest[actor] = newest;
    }
  }

  /** One step of a sequence: `actor` refreshes, and keeps the new token when it got one. */
  async step(actor: Actor) {
    const answer = await this.refresh(actor);
    if (answer.status === 200) this.latest[actor] = answer.body.refresh_token!;
  }

  /**
   * The end of every race: the grace window passes, the client refreshes with its latest token,
   * the window passes again, then the thief does. Whoever presents a token rotated away is then
   * reuse (rule 5), so an unbound session cannot stay shared between them.
   */
  async settle() {
    await this.#passGrace();
    await this.step("victim");
    await this.#passGrace();
    await this.step("thief");
  }

  /** Lets the grace window pass: the session's issue times, all rule 4 looks at, move back past it. */
  async #passGrace() {
    if (GRACE_MS === 0) return;
    await runInDurableObject(userAuthStub(this.sub), (_instance, state) => {
      const sql = state.storage.sql;
      const { issue_times } = sql.exec<{ issue_times: string }>("SELECT issue_times FROM sessions WHERE id = ?", this.sessionId).one();
      const moved = (JSON.parse(issue_times) as number[]).map((at) => at - GRACE_MS - 1000);
      sql.exec("UPDATE sessions SET issue_times = ? WHERE id = ?", JSON.stringify(moved), this.sessionId);
    });
  }
}

/** Runs one sequence of steps, then settles and checks the outcome. */
export async function raceInSequence(kind: VictimKind, steps: Actor[]) {
  const race = await Race.start(kind);
  for (const actor of steps) await race.step(actor);
  await race.settle();
  await expectReuseDetectedOrThiefRefused(race, { victimRacedItself: false });
}

/** Runs two parallel rounds of `shape`, then settles and checks the outcome. */
export async function raceInParallel(kind: VictimKind, shape: Record<Actor, number>, repetition: number) {
  const race = await Race.start(kind);
  await race.parallel(shape, repetition);
  await race.parallel(shape, repetition + 1);
  await race.settle();
  // Without grace, the client's own parallel refreshes of one token are reuse by design (one
  // wins, the rest revoke the session): that ends the race too, and the thief holds nothing.
  await expectReuseDetectedOrThiefRefused(race, { victimRacedItself: shape.victim > 1 && GRACE_MS === 0 });
}

/**
 * What every race must end with. Never the client refused while the session lives on: any
 * refusal the client met is reuse detected, the session revoked, so the thief holds nothing
 * either. A session bound to the client's key: the thief refused every time and the client never
 * (unless, without grace, it raced itself). An unbound session: the thief got only Bearer tokens
 * and bound nothing, and reuse was detected, so the session is revoked and neither holds it.
 */
async function expectReuseDetectedOrThiefRefused(race: Race, { victimRacedItself }: { victimRacedItself: boolean }) {
  for (const answer of race.answers) {
    expect([200, 400], `${answer.actor}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
    if (answer.status === 400) expect(answer.body.error, answer.actor).toBe("invalid_grant");
  }
  // Read from the user's object, the authority (the audit events these leave are tested in test/dpop.test.ts).
  const session = await sessionState(race);
  const byActor = (actor: Actor) => race.answers.filter((answer) => answer.actor === actor);
  const reuseDetected = async () => {
    expect(session.revoked_reason, "the client was refused, yet the session was not revoked as reused").toBe("reuse");
    for (const actor of ["thief", "victim"] as const) expect((await race.refresh(actor)).status, `${actor} after the race`).toBe(400);
  };
  if (byActor("victim").some((answer) => answer.status === 400)) await reuseDetected();

  if (race.kind === "bound") {
    // The thief refused every time: its key is not the session's, which stays the client's.
    expect(byActor("thief").map((answer) => answer.status)).toEqual(byActor("thief").map(() => 400));
    expect(session.jkt).toBe(race.keys.victim!.jkt);
    expect(session.dpop_failure_event_at).not.toBeNull();
    for (const answer of byActor("victim").filter((entry) => entry.status === 200)) expect(answer.body.token_type).toBe("DPoP");
    if (victimRacedItself) return;
    expect(byActor("victim").map((answer) => answer.status)).toEqual(byActor("victim").map(() => 200));
    expect(session.revoked_at).toBeNull();
    expect((await race.refresh("victim")).status).toBe(200);
    return;
  }

  // Unbound: no answer bound the session to the thief's key, and reuse was detected.
  for (const answer of race.answers.filter((entry) => entry.status === 200)) expect(answer.body.token_type, answer.actor).toBe("Bearer");
  expect(session.jkt).toBeNull();
  expect(session.dpop_failure_event_at).toBeNull();
  await reuseDetected();
}

/** The session's row in the user's object: how it ended, its key, and whether a failed DPoP check was recorded. */
function sessionState(race: Race) {
  return runInDurableObject(userAuthStub(race.sub), (_instance, state) =>
    state.storage.sql
      .exec<{ revoked_at: number | null; revoked_reason: string | null; jkt: string | null; dpop_failure_event_at: number | null }>(
        "SELECT revoked_at, revoked_reason, jkt, dpop_failure_event_at FROM sessions WHERE id = ?",
        race.sessionId,
      )
      .one(),
  );
}

import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { PARALLEL_SHAPES, raceInParallel, raceInSequence, SEQUENCES, type VictimKind } from "../adversarial/thief-races";

// Without a grace window (REFRESH_REUSE_GRACE_SECONDS=0, REUSE_REVOKES=session: vitest.config.ts,
// "strict-sessions"); the grace-on runs are in test/adversarial/thief-with-own-key.test.ts.
const KINDS: VictimKind[] = ["unbound", "bound"];

describe.each(KINDS)(`a thief with its own DPoP key races a client with a %s session (grace ${env.REFRESH_REUSE_GRACE_SECONDS} s)`, (kind) => {
  it.each(SEQUENCES.map((steps) => [steps.join(", "), steps] as const))("in sequence: %s", async (_name, steps) => {
    await raceInSequence(kind, steps);
  });

  it.each(PARALLEL_SHAPES.flatMap((shape) => [0, 1].map((repetition) => [`${shape.thief} thief and ${shape.victim} client refreshes at once, twice (run ${repetition + 1})`, shape, repetition] as const)))(
    "as parallel requests: %s",
    async (_name, shape, repetition) => {
      await raceInParallel(kind, shape, repetition);
    },
  );
});

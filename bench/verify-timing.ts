import { verifyWithJwks } from "hono/utils/jwt/jwt";
import type { HonoJsonWebKey } from "hono/utils/jwt/jws";
import { base64url, decodeProtectedHeader } from "jose";
import { verifyAccessToken, type AccessTokenSettings } from "../src/tokens/access";
import { verifySignature, type KeyRing } from "../src/tokens/key-ring";

/** What verifies the token in each timed batch. */
export const VERIFIERS = ["floor", "gateway", "hono"] as const;
export type Verifier = (typeof VERIFIERS)[number];

/** Microseconds per verification, one number per timed batch. */
export type VerifyTimings = Record<Verifier, number[]>;

/**
 * Times `iterations` verifications of one access token, `batches` times per verifier, the
 * verifiers taking turns so that a change in the machine's load hits them alike:
 * - `floor`: one bare signature check (the key ring's `verifySignature`: one `crypto.subtle.verify`)
 *   of the token's signing input and signature, decoded beforehand: the least any verifier does;
 * - `gateway`: this gateway's `verifyAccessToken`;
 * - `hono`: Hono's `verifyWithJwks` over the published JWK set, with `typ: "at+jwt"`, `iss` and
 *   `aud` checked, what a Hono user would write instead.
 * Every verification must succeed, or this throws. Time is read with `performance.now()` around
 * each batch; the local runtime of `wrangler dev` advances it during synchronous work at a 1 ms
 * grain, so a batch must last well over 10 ms. (Deployed Workers freeze it between I/O: this
 * is for local runs only.)
 */
export async function timeVerifications(
  token: string,
  ring: KeyRing,
  settings: AccessTokenSettings,
  { batches, iterations }: { batches: number; iterations: number },
): Promise<VerifyTimings> {
  const { kid } = decodeProtectedHeader(token);
  const entry = typeof kid === "string" ? ring.byKid.get(kid) : undefined;
  if (!entry) throw new Error("the token's kid is not in SIGNING_KEYS");
  const signingInput = new TextEncoder().encode(token.slice(0, token.lastIndexOf(".")));
  const signature = base64url.decode(token.slice(token.lastIndexOf(".") + 1));
  const honoOptions = {
    keys: ring.jwks.keys as HonoJsonWebKey[],
    allowedAlgorithms: ring.algorithms,
    verification: { typ: "at+jwt", iss: settings.issuer, aud: settings.audience },
  };

  const verifiers: Record<Verifier, () => Promise<boolean>> = {
    floor: () => verifySignature(entry, signature, signingInput),
    gateway: async () => (await verifyAccessToken(token, ring, settings, Date.now() / 1000)).ok,
    hono: async () => (await verifyWithJwks(token, honoOptions)).sub !== undefined,
  };

  const timings: VerifyTimings = { floor: [], gateway: [], hono: [] };
  // Batch -1 warms every verifier up (and proves the token verifies) and is not kept.
  for (let batch = -1; batch < batches; batch += 1) {
    const order = VERIFIERS.map((_, index) => VERIFIERS[(index + Math.max(batch, 0)) % VERIFIERS.length]!);
    for (const name of order) {
      const verify = verifiers[name];
      const started = performance.now();
      for (let index = 0; index < iterations; index += 1) {
        if (!(await verify())) throw new Error(`${name} refused the token`);
      }
      const elapsed = performance.now() - started;
      if (batch >= 0) timings[name].push((elapsed * 1000) / iterations);
    }
  }
  if (VERIFIERS.every((name) => timings[name].every((microseconds) => microseconds === 0))) {
    throw new Error("performance.now() did not advance: this runtime freezes its clock between I/O");
  }
  return timings;
}

/**
 * What a verifier answers: what it accepted, or the one named reason it refused. Every check of
 * something a client presents has this shape (access tokens, DPoP proofs; next, passkey
 * assertions and upstream ID tokens), so that a caller can log the reason (`logRefusal`) and turn
 * it into what the client is told in one place (src/errors/refusals.ts), and a test can assert
 * why, not only that, something was refused.
 *
 * @example
 * type ProofVerdict = Verdict<{ proof: DpopProof }, DpopProofReason>;
 * const verdict: ProofVerdict = { ok: false, reason: "wrong_htu" };
 */
export type Verdict<Accepted extends object, Reason extends string, Refused extends object = object> =
  | ({ ok: true } & Accepted)
  | ({ ok: false; reason: Reason } & Refused);

/** What a refusal's log line may carry besides its reason: ids and names, never a token, proof, key or secret. */
export type RefusalDetail = Record<string, string | number | boolean | null>;

/**
 * Logs one refusal as one JSON line, `{"event":"<what>_refused","reason":...}`, so an operator can
 * tell a forged token from an expired one while the client sees one generic answer. Callers pass
 * ids (a session id, the scheme it came in), never what was presented.
 *
 * @example
 * logRefusal("access_token", "bad_signature", { scheme: "Bearer" });
 * // {"event":"access_token_refused","reason":"bad_signature","scheme":"Bearer"}
 */
export function logRefusal(what: string, reason: string, detail: RefusalDetail = {}): void {
  const named = { event: `${what}_refused`, reason };
  // Named first for whoever reads the line, and again last so that no detail can rename them.
  console.warn(JSON.stringify({ ...named, ...detail, ...named }));
}

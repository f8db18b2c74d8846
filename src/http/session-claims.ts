import { claimsHookOf, splitClaims } from "../sessions/claims-lease";
import { userAuthFor } from "../sessions/lookup";
import type { IssuedSession } from "../sessions/rpc";
import type { SessionClaims } from "../tokens/access";
import { askClaimsHook, type ClaimsHookFailure } from "./claims-hook";
import type { AppContext } from "./context";

/**
 * The custom claims the access token of `issued` carries. Usually the ones the session holds; when
 * the user's object handed this answer the session's claims hook call (`issued.claimsHook`: at
 * opening, and on a refresh whose claims were due), the hook is asked first and its answer stored
 * with a second small RPC (`UserAuth.replaceClaims`), and the token carries what the session holds
 * after that. The refresh token was committed before any of this, so the hook's time is added to
 * the answer but never holds the object, and whatever the hook does (fail, hang, answer garbage)
 * the session keeps its last claims and the sign-in or refresh succeeds: one log line says why.
 */
export async function claimsToSign(c: AppContext, issued: IssuedSession): Promise<SessionClaims> {
  const hook = issued.claimsHook === null ? null : claimsHookOf(c.env);
  if (hook === null || issued.claimsHook === null) return issued.claims;
  const started = Date.now();
  try {
    // The custom claims only: what the gateway keeps among them itself (`idp`) is not the hook's.
    const request = { sub: issued.sub, sid: issued.sessionId, amr: issued.amr, claims: splitClaims(issued.claims).custom };
    const verdict = await askClaimsHook(hook, request, c.get("config").originSigningSecret, started);
    if (!verdict.ok) {
      logKept(verdict.reason, issued.sessionId, started, verdict.detail);
      return issued.claims;
    }
    const stored = await userAuthFor(c.env, issued.sub).replaceClaims({ sessionId: issued.sessionId, lease: issued.claimsHook.lease, claims: verdict.claims });
    return stored ?? issued.claims;
  } catch (error) {
    // Not the hook's answer (that never throws) but storing it: the object was unreachable.
    logKept("not_stored", issued.sessionId, started, { problem: (error as Error).name });
    return issued.claims;
  }
}

/**
 * One line per hook call that left the claims as they were: the reason, the session, how long it
 * took, and statuses, sizes and rule messages (which name a claim, never its value).
 */
function logKept(reason: string, sessionId: string, started: number, detail: ClaimsHookFailure): void {
  const named = { event: "claims_hook_failed", reason };
  console.warn(JSON.stringify({ ...named, session_id: sessionId, ms: Date.now() - started, ...detail, ...named }));
}

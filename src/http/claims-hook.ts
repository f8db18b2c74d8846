import * as z from "zod/mini";
import { readAtMost } from "../bounded-read";
import type { Verdict } from "../errors/verdict";
import type { ClaimsHook } from "../sessions/claims-lease";
import type { SessionClaims } from "../tokens/access";
import { SessionClaimsRules } from "./claim-rules";
import { signForOrigin } from "./origin-signature";

/**
 * The request to the claims hook and the reading of its answer: `POST {"sub","sid","amr","claims"}`
 * to `CLAIMS_HOOK_URL` (or through the service binding `CLAIMS`) with `X-Auth-User` and
 * `X-Auth-Session`, signed like a forwarded request when `ORIGIN_SIGNING_SECRET` is set, so the
 * hook can tell the gateway from anyone else who reaches it. Only a 200 whose body is
 * `{"claims":{...}}` within the claim rules (src/http/claim-rules.ts) replaces the claims; every
 * other outcome is a named reason and the session keeps the claims it had. Nothing here throws.
 */

/** The whole budget of one call, from the request to the last byte of the answer. */
export const CLAIMS_HOOK_BUDGET_MS = 2000;

/**
 * The most of an answer that is read: a body that claims or turns out to be longer is refused
 * without reading further. Claims are at most 4,096 bytes of compact JSON; this leaves room for
 * whitespace and fields beside them.
 */
export const MAX_CLAIMS_ANSWER_BYTES = 16_384;

/** Why the hook's answer did not replace the claims. */
export type ClaimsHookReason =
  /** The request failed: refused connection, DNS, TLS, a binding that threw. */
  | "unreachable"
  /** No complete answer within `CLAIMS_HOOK_BUDGET_MS`. */
  | "timeout"
  /** A 3xx: redirects are not followed (the signature is for the hook's own URL). */
  | "redirect"
  /** Any status but 200 and 3xx. */
  | "status"
  /** A body over `MAX_CLAIMS_ANSWER_BYTES`. */
  | "too_large"
  /** Not UTF-8 JSON. */
  | "not_json"
  /** JSON, but not `{"claims":{...}}` within the claim rules: refused whole. */
  | "claim_rules";

/** What a failed call tells the log: names, sizes and statuses, never a claim's value. */
export type ClaimsHookFailure = { status?: number; bytes?: number; problem?: string; claims?: number };

export type ClaimsHookVerdict = Verdict<{ claims: SessionClaims }, ClaimsHookReason, { detail: ClaimsHookFailure }>;

/** What the hook is told about the session. */
export interface ClaimsHookRequest {
  sub: string;
  sid: string;
  amr: readonly string[] | null;
  /** The claims the session holds now. */
  claims: SessionClaims;
}

const Answer = z.object({ claims: SessionClaimsRules });
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Asks the hook for a session's claims, within `CLAIMS_HOOK_BUDGET_MS`.
 *
 * @example
 * const verdict = await askClaimsHook(hook, { sub, sid, amr: ["pwd"], claims: {} }, config.originSigningSecret, Date.now());
 * if (verdict.ok) verdict.claims; // { "role": "admin" }
 */
export async function askClaimsHook(hook: ClaimsHook, session: ClaimsHookRequest, signingSecret: string | null, now: number): Promise<ClaimsHookVerdict> {
  const headers = new Headers({ "Content-Type": "application/json", Accept: "application/json" });
  headers.set("X-Auth-User", session.sub);
  headers.set("X-Auth-Session", session.sid);
  // Signed after the identity headers are set: the signature covers them.
  if (signingSecret !== null) {
    await signForOrigin(headers, signingSecret, { method: "POST", pathAndQuery: `${hook.url.pathname}${hook.url.search}` }, now / 1000);
  }
  const body = JSON.stringify({ sub: session.sub, sid: session.sid, amr: session.amr, claims: session.claims });

  const abort = new AbortController();
  let timer: number | null = null;
  const deadline = new Promise<ClaimsHookVerdict>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve(failed("timeout"));
    }, CLAIMS_HOOK_BUDGET_MS);
  });
  const call = async (): Promise<ClaimsHookVerdict> => {
    let response: Response;
    try {
      const init: RequestInit = { method: "POST", headers, body, redirect: "manual", signal: abort.signal };
      response = await (hook.binding ? hook.binding.fetch(hook.url, init) : fetch(hook.url, init));
    } catch {
      return failed(abort.signal.aborted ? "timeout" : "unreachable");
    }
    try {
      return await verdictOf(response);
    } catch {
      // The body broke off (or was aborted by the deadline) before its end.
      return failed(abort.signal.aborted ? "timeout" : "unreachable");
    }
  };
  try {
    return await Promise.race([call(), deadline]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/** The verdict on a response: only a 200 with claims within the rules passes. */
async function verdictOf(response: Response): Promise<ClaimsHookVerdict> {
  const status = response.status;
  if (status !== 200) {
    await response.body?.cancel();
    return failed(status >= 300 && status < 400 ? "redirect" : "status", { status });
  }
  const bytes = await readAtMost(response, MAX_CLAIMS_ANSWER_BYTES);
  if (bytes === null) return failed("too_large", { status });
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return failed("not_json", { status, bytes: bytes.byteLength });
  }
  const answer = z.safeParse(Answer, value);
  if (!answer.success) {
    return failed("claim_rules", { status, bytes: bytes.byteLength, problem: answer.error.issues[0]?.message ?? "not valid", claims: claimCount(value) });
  }
  return { ok: true, claims: answer.data.claims };
}

function failed(reason: ClaimsHookReason, detail: ClaimsHookFailure = {}): ClaimsHookVerdict {
  return { ok: false, reason, detail };
}

/** How many claims an answer that broke the rules held, when it held an object of them: for the log, which never shows them. */
function claimCount(value: unknown): number | undefined {
  const claims = typeof value === "object" && value !== null ? (value as { claims?: unknown }).claims : undefined;
  return typeof claims === "object" && claims !== null ? Object.keys(claims).length : undefined;
}

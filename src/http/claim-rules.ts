import * as z from "zod/mini";
import { GATEWAY_CLAIMS } from "../tokens/authentication-claims";
import { rule } from "./validation";

/**
 * The rules a session's custom claims follow, wherever they come from: the body of
 * `POST /auth/admin/sessions` and the answer of the claims hook (src/http/claims-hook.ts) are
 * checked by this one schema, so the two can never disagree. An object whose values are strings,
 * numbers, booleans or arrays of up to 100 of them (no nested object); names of 1 to 128
 * characters, none of them a claim the gateway sets itself (`GATEWAY_CLAIMS`: the registered
 * claims, `cnf`, `amr`, `auth_time`, `idp`) and not `__proto__`; at most `MAX_CLAIMS_BYTES` of
 * JSON. Every message names where the problem is (`claims.role`) and which rule it breaks, never a
 * value, so a refusal can be logged as it is.
 *
 * @example
 * const Body = z.object({ claims: z.optional(SessionClaimsRules) });
 */

// Every access token of the session carries the claims: bounded so that a token always stays
// well under the verifier's size cap.
export const MAX_CLAIMS_BYTES = 4096;

const CLAIM_VALUE = "must be a string, number, boolean or an array of up to 100 of them";
const ClaimScalar = z.union([z.string(), z.number(), z.boolean()], rule(CLAIM_VALUE));
const reserved = new Set<string>(GATEWAY_CLAIMS);
const utf8 = new TextEncoder();

export const SessionClaimsRules = z.pipe(
  // zod's record drops a `__proto__` key without a word; refuse it instead of losing a claim.
  z.unknown().check(z.refine((claims) => !isObjectWithOwn(claims, "__proto__"), rule("must not name __proto__"))),
  z
    .record(
      z.string(),
      z.union([ClaimScalar, z.array(ClaimScalar, rule(CLAIM_VALUE)).check(z.maxLength(100))], rule(CLAIM_VALUE)),
      rule("must be a JSON object"),
    )
    .check(
      z.refine((claims) => Object.keys(claims).every((name) => name.length >= 1 && name.length <= 128), "claim names must be 1 to 128 characters"),
      z.refine(
        (claims) => Object.keys(claims).every((name) => !reserved.has(name)),
        rule(`must not name a claim the gateway sets (${GATEWAY_CLAIMS.join(", ")})`),
      ),
      z.refine((claims) => utf8.encode(JSON.stringify(claims)).byteLength <= MAX_CLAIMS_BYTES, rule(`must be at most ${MAX_CLAIMS_BYTES} bytes of JSON`)),
    ),
);

function isObjectWithOwn(value: unknown, name: string): boolean {
  return typeof value === "object" && value !== null && Object.hasOwn(value, name);
}

import { validator } from "hono/validator";
import * as z from "zod/mini";
import { invalidRequest } from "../errors/auth-error";

// zod/mini rather than zod: the same schemas without zod's locales and method chains, which would
// otherwise make up most of the worker's bundle. It carries no messages of its own, so every
// description on the wire is ours.

type Issue = { path?: PropertyKey[] };

/**
 * zod's `error` option for a field: any problem zod finds with it, its checks included, is
 * reported as "<field> <text>", the field named by where it sits (`username`, `claims.role`), so
 * one schema reads right in a body and in a query.
 *
 * @example
 * const Username = z.string(rule("must be 3 to 64 characters")).check(z.minLength(3), z.maxLength(64));
 * // { "username": "ab" } → 400 "username must be 3 to 64 characters"
 */
export function rule(text: string) {
  return { error: (issue: Issue) => `${fieldName(issue)} ${text}` };
}

/** `value` as `schema` reads it, or 400 `invalid_request` describing the first problem. */
export function checked<S extends z.ZodMiniType>(schema: S, value: unknown): z.output<S> {
  const result = z.safeParse(schema, value, { error: unruledProblem });
  if (!result.success) throw invalidRequest(result.error.issues[0]?.message ?? "The request is not valid.");
  return result.data;
}

/** Checks the query string against `schema`; the handler reads the result with `c.req.valid("query")`. */
export function queryOf<S extends z.ZodMiniType>(schema: S) {
  // A repeated parameter arrives as an array, which a field that takes one value refuses.
  return validator("query", (value) => checked(schema, value));
}

// A problem no `rule` covers still gets our words, never zod's. Only a body can be wrong as a
// whole: a query always arrives as an object.
function unruledProblem(issue: Issue): string {
  return issue.path?.length ? `${fieldName(issue)} is not valid` : "The request body must be a JSON object.";
}

function fieldName(issue: Issue): string {
  return issue.path?.map(String).join(".") || "the request";
}

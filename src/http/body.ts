import type { MiddlewareHandler } from "hono";
import { validator } from "hono/validator";
import * as z from "zod/mini";
import type { AppEnv } from "./context";
import { AuthError } from "../errors/auth-error";
import { checked } from "./validation";

/** The largest request body an `/auth/*` route reads (docs/api.md: 16 KiB, else 413). */
export const MAX_BODY_BYTES = 16_384;

/** What `bodyOf(schema)` adds to a route: its handler reads the checked body as `c.req.valid("json")`. */
export type CheckedBody<S extends z.ZodMiniType<object>> = { in: { json: z.input<S> }; out: { json: z.output<S> } };

/**
 * Checks an `/auth/*` request body against `schema`, in the contract's order: a body that is not
 * JSON (or, with `form`, `application/x-www-form-urlencoded`) is 415 `unsupported_media_type`;
 * malformed JSON or fields of the wrong type are 400 `invalid_request`. A request without a body
 * and without a Content-Type is checked as `{}`, so routes whose fields are all optional accept
 * it. The size limit (413) runs before this, in `index.ts`.
 *
 * @example
 * routes.post("/logout", bodyOf(z.object({ refresh_token: z.optional(z.string()) })), async function logout(c) {
 *   const { refresh_token } = c.req.valid("json");
 * });
 */
export function bodyOf<S extends z.ZodMiniType<object>>(
  schema: S,
  { form = false } = {},
): MiddlewareHandler<AppEnv, string, CheckedBody<S>> {
  // Hono's validator parses the body (400 on malformed JSON or form); the schema checks the fields.
  const fromJson: MiddlewareHandler = validator("json", (value): object => checked(schema, value));
  // A form is the other spelling of the same fields (RFC 6749 section 6, for /auth/refresh), so
  // its handler reads it where it reads JSON.
  const fromForm: MiddlewareHandler = validator("form", (value, c): object => {
    const body = checked(schema, value);
    c.req.addValidatedData("json", body);
    return body;
  });

  return async function checkBody(c, next) {
    const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (mediaType === "application/json") return fromJson(c, next);
    if (form && mediaType === "application/x-www-form-urlencoded") return fromForm(c, next);
    if (mediaType === "" && (await c.req.arrayBuffer()).byteLength === 0) {
      c.req.addValidatedData("json", checked(schema, {}));
      return next();
    }
    throw new AuthError(
      "unsupported_media_type",
      415,
      form ? "Send the body as application/json or application/x-www-form-urlencoded." : "Send the body as application/json.",
    );
  };
}

/**
 * For POST and DELETE routes that take no fields: a body is optional, but one that is there must
 * still be a JSON object (415, 400), checked before authentication like every other body.
 */
export const bodyWithoutFields = bodyOf(z.object({}));

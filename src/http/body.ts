import { createMiddleware } from "hono/factory";
import { validator } from "hono/validator";
import { z } from "zod";
import type { AppContext, AppEnv } from "./context";
import { AuthError, invalidRequest } from "./errors";

/** The largest request body an `/auth/*` route reads (DESIGN.md: 16 KiB, else 413). */
export const MAX_BODY_BYTES = 16_384;

/**
 * Validates an `/auth/*` request body against `schema`, in the contract's order: a body that is
 * not JSON (or, with `form`, `application/x-www-form-urlencoded`) is 415 `unsupported_media_type`;
 * malformed JSON or fields of the wrong type are 400 `invalid_request`. A request without a body
 * is validated as `{}`, so routes whose fields are all optional accept it. The size limit (413)
 * runs before this, in `index.ts`. Read the result with `validBody`.
 */
export function bodyOf<T extends z.ZodType>(schema: T, { form = false } = {}) {
  const check = (value: unknown, c: AppContext): Record<string, unknown> => {
    const result = schema.safeParse(value);
    if (!result.success) throw invalidRequest(describe(result.error));
    c.set("body", result.data);
    return result.data as Record<string, unknown>;
  };
  // Hono's validator parses the body (400 on malformed JSON or form); zod checks the fields.
  const json = validator("json", check);
  const urlencoded = validator("form", check);

  return createMiddleware<AppEnv>(async function validateBody(c, next) {
    const mediaType = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (mediaType === "application/json") return json(c, next);
    if (form && mediaType === "application/x-www-form-urlencoded") return urlencoded(c, next);
    if (mediaType === "" && (await c.req.arrayBuffer()).byteLength === 0) {
      check({}, c);
      return next();
    }
    throw new AuthError(
      "unsupported_media_type",
      415,
      form ? "Send the body as application/json or application/x-www-form-urlencoded." : "Send the body as application/json.",
    );
  });
}

/** The body that `bodyOf(schema)` validated for this request. */
export function validBody<T extends z.ZodType>(c: AppContext, _schema: T): z.infer<T> {
  return c.get("body") as z.infer<T>;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "The request body is not valid.";
  const field = issue.path.join(".");
  return field ? `${field}: ${issue.message}` : issue.message;
}

/**
 * For POST and DELETE routes that take no fields: a body is optional, but one that is there must
 * still be a JSON object (415, 400), checked before authentication like every other body.
 */
export const bodyWithoutFields = bodyOf(z.object({}));

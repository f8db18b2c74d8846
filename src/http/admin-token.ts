import { createMiddleware } from "hono/factory";
import { bearerToken } from "./authenticate";
import type { AppEnv } from "./context";
import { AuthError } from "../errors/auth-error";

/**
 * Guards the admin routes with `Authorization: Bearer $ADMIN_API_TOKEN`. Unset token: every admin
 * request is 401. The comparison runs over SHA-256 digests with `timingSafeEqual`, so neither the
 * token's content nor its length leaks through timing.
 */
export const requireAdmin = createMiddleware<AppEnv>(async function requireAdmin(c, next) {
  const expected = c.get("config").adminApiToken;
  const presented = bearerToken(c);
  if (expected === null || !presented || !(await equalInConstantTime(presented, expected))) {
    throw new AuthError("unauthorized", 401, "The admin API token is missing or wrong.", {
      "WWW-Authenticate": `Bearer realm="admin"`,
    });
  }
  await next();
});

async function equalInConstantTime(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [left, right] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(left, right);
}

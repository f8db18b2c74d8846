import { createMiddleware } from "hono/factory";
import type { Config } from "../config";
import { bearerToken } from "./authenticate";
import type { AppEnv } from "./context";
import { AuthError } from "../errors/auth-error";

/**
 * Guards the routes of a back end with a Bearer token that is one of `tokensOf(config)` (unset
 * ones are skipped; none set: every request is 401 with `WWW-Authenticate: Bearer realm="<realm>"`).
 * Each comparison runs over SHA-256 digests with `timingSafeEqual`, and every configured token is
 * compared whatever the first gave, so neither a token's content, nor its length, nor which one
 * matched leaks through timing.
 */
function requireBackEndToken(realm: string, description: string, tokensOf: (config: Config) => ReadonlyArray<string | null>) {
  return createMiddleware<AppEnv>(async function requireBackEndToken(c, next) {
    const expected = tokensOf(c.get("config")).filter((token): token is string => token !== null);
    const presented = bearerToken(c);
    const matches = presented ? await Promise.all(expected.map((token) => equalInConstantTime(presented, token))) : [];
    if (!matches.includes(true)) {
      throw new AuthError("unauthorized", 401, description, { "WWW-Authenticate": `Bearer realm="${realm}"` });
    }
    await next();
  });
}

/** `/auth/admin/*`: `Authorization: Bearer $ADMIN_API_TOKEN`. */
export const requireAdmin = requireBackEndToken("admin", "The admin API token is missing or wrong.", (config) => [config.adminApiToken]);

/** `POST /auth/introspect`: `Authorization: Bearer` with `INTROSPECTION_TOKEN` or `ADMIN_API_TOKEN`. */
export const requireIntrospectionToken = requireBackEndToken(
  "introspection",
  "The introspection token (INTROSPECTION_TOKEN or the admin API token) is missing or wrong.",
  (config) => [config.introspectionToken, config.adminApiToken],
);

async function equalInConstantTime(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [left, right] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(left, right);
}

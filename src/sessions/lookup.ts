import type { RefreshTokenParts } from "../tokens/refresh";

/** The UserAuth Durable Object of a user. */
export function userAuthFor(env: Env, sub: string) {
  return env.USER_AUTH.get(env.USER_AUTH.idFromName(sub));
}

/**
 * The UserAuth Durable Object a refresh token (or an authorization code, a link ticket) names, or null when the id is not one of this
 * namespace: `idFromString` rejects ids it did not mint. Such a token is forged (refresh rule 1)
 * and never reaches an object; the object checks everything else of rule 1.
 */
export function userAuthOfToken(env: Env, token: Pick<RefreshTokenParts, "objectId">) {
  try {
    return env.USER_AUTH.get(env.USER_AUTH.idFromString(token.objectId));
  } catch {
    return null;
  }
}

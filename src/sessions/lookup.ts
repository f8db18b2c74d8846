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

// `Symbol.dispose` (explicit resource management), which workerd's RPC stubs implement; not in
// the ES2022 library this project compiles against.
const DISPOSE = (Symbol as unknown as { dispose: symbol }).dispose;

/** The user's passkeys (`UserAuth.passkeys()`), as the worker calls them. */
export type UserPasskeys = ReturnType<ReturnType<typeof userAuthFor>["passkeys"]>;

/**
 * Calls `use` with the user's passkeys (an RPC target of their object, reached by pipelining: one
 * round trip), then disposes its stub: a stub left to the garbage collector keeps the target alive
 * on the object's side until then, and workerd warns of it.
 */
export async function withPasskeys<T>(env: Env, sub: string, use: (passkeys: UserPasskeys) => Promise<T>): Promise<T> {
  const passkeys = userAuthFor(env, sub).passkeys();
  try {
    return await use(passkeys);
  } finally {
    (passkeys as unknown as Record<symbol, () => void>)[DISPOSE]!();
  }
}

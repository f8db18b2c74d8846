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
 * Calls `use` with an RPC target of a user's object (`UserAuth.federation()`, `mfa()`,
 * `account()`, `passkeys()`, reached by pipelining: one round trip), then disposes its stub: a
 * stub left to the garbage collector keeps the target alive on the object's side until then, and
 * workerd warns of it.
 *
 * @example
 * await withTarget(userAuthFor(env, sub).mfa(), (mfa) => mfa.enrol({ sub }));
 */
export async function withTarget<S extends object, R>(target: S, use: (target: S) => R): Promise<Awaited<R>> {
  try {
    return await use(target);
  } finally {
    (target as unknown as Record<symbol, () => void>)[DISPOSE]!();
  }
}

/** `withTarget` for the user's passkeys. */
export function withPasskeys<T>(env: Env, sub: string, use: (passkeys: UserPasskeys) => Promise<T>): Promise<T> {
  return withTarget(userAuthFor(env, sub).passkeys(), use);
}

import { AuthError } from "../errors/auth-error";

/** What the user's object says of a second-factor code: no TOTP enrolled, the code accepted, or refused. */
export type SecondFactorAnswer = "not_enrolled" | "accepted" | "refused";

/**
 * The second factor a password reset asks for when the user has TOTP on: 401 `mfa_required`
 * when the code is missing or wrong, so a reset link alone (an inbox taken over) cannot take the
 * account. A user without TOTP passes.
 */
export async function requireSecondFactorForReset(env: Env, sub: string, code: string | undefined): Promise<void> {
  const answer = await checkSecondFactor(env, sub, code);
  if (answer === "not_enrolled") return;
  if (answer === "accepted") return;
  throw new AuthError("mfa_required", 401, code === undefined ? "This account has a second factor: send its code as `code`." : "The second-factor code is wrong.");
}

/**
 * The one place the reset asks the user's object about their second factor. TOTP is not on main
 * yet: until `UserAuth.mfa().checkSecondFactor(code)` exists, no user has one. Then this becomes
 * `userAuthFor(env, sub).mfa().checkSecondFactor(code ?? null)`.
 */
async function checkSecondFactor(_env: Env, _sub: string, _code: string | undefined): Promise<SecondFactorAnswer> {
  return "not_enrolled";
}

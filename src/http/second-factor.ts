import { AuthError } from "../errors/auth-error";
import { userAuthFor } from "../sessions/lookup";

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

/** The one place the reset asks the user's object about their second factor (a TOTP or a recovery code). */
function checkSecondFactor(env: Env, sub: string, code: string | undefined): Promise<SecondFactorAnswer> {
  return userAuthFor(env, sub).mfa().checkSecondFactor(code);
}

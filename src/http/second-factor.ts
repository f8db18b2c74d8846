import { LoginGuard } from "../accounts/login-guard";
import { auditEvent } from "../db/events";
import type { UserRecord } from "../db/users";
import { AuthError, tooManyRequests } from "../errors/auth-error";
import type { SecondFactorCheck } from "../sessions/mfa-rpc";
import { userAuthFor, withTarget } from "../sessions/lookup";
import { clientInfo, type AppContext } from "./context";

/**
 * The second factor a password reset asks for when the user has TOTP on: 401 `mfa_required`
 * when the code is missing or wrong, so a reset link alone (an inbox taken over) cannot take the
 * account. A user without TOTP passes. A wrong code counts as a login failure of the user's
 * username from this address, as at `POST /auth/mfa/verify`: a reset link is no way around the
 * login limits, and past them the answer is 429.
 */
export async function requireSecondFactorForReset(c: AppContext, user: UserRecord, code: string | undefined): Promise<void> {
  const client = clientInfo(c);
  const guard = new LoginGuard(c.env, user.username_normalized, client.ip);
  await guard.begin();
  let answer: SecondFactorCheck;
  try {
    answer = await withTarget(userAuthFor(c.env, user.id).mfa(), (mfa) => mfa.checkSecondFactor(code));
  } catch (error) {
    await guard.abandon();
    throw error;
  }
  if (answer === "accepted") return guard.succeeded();
  if (answer === "not_enrolled" || code === undefined || typeof answer === "object") {
    // No guess was judged: nothing to count.
    await guard.abandon();
    if (answer === "not_enrolled") return;
    if (typeof answer === "object") throw tooManyRequests("Too many wrong codes.", answer.retryAfterSeconds);
    throw new AuthError("mfa_required", 401, "This account has a second factor: send its code as `code`.");
  }
  await guard.failed(auditEvent({ type: "login_failed", sub: user.id, session_id: null, at: Date.now(), ip: client.ip, detail: { reason: "wrong_code", route: "password_reset" } }));
  throw new AuthError("mfa_required", 401, "The second-factor code is wrong.");
}

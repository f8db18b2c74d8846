import { Hono } from "hono";
import * as z from "zod/mini";
import { LoginGuard } from "../accounts/login-guard";
import { auditEvent } from "../db/events";
import { findUsernameById } from "../db/users";
import { AuthError, invalidDpopProof, tooManyRequests } from "../errors/auth-error";
import { logRefusal } from "../errors/verdict";
import { requireAccessToken } from "../http/authenticate";
import { bodyOf, bodyWithoutFields } from "../http/body";
import { clientInfo, keyRing, type AppContext, type AppEnv } from "../http/context";
import { dpopProof } from "../http/dpop";
import { setsRefreshCookie } from "../http/refresh-cookie";
import { tokenResponse } from "../http/token-response";
import { rule } from "../http/validation";
import { normalizeRecoveryCode } from "../mfa/recovery-codes";
import { isTotpCode, totpEnrolment } from "../mfa/totp";
import { userAuthFor, userAuthOfToken, withTarget } from "../sessions/lookup";
import type { CodeRefusal, MfaCaller, MfaVerification } from "../sessions/mfa-rpc";
import { parseOneTimeSecret } from "../tokens/one-time-secrets";
import type { RecoveryCodes, TotpEnrolment } from "../wire";

/**
 * The second factor: TOTP enrolment (`POST /auth/mfa/totp`, then `/confirm` with a code),
 * removal (`DELETE /auth/mfa/totp`), new recovery codes (`POST /auth/mfa/recovery-codes`), and
 * the second step of a password login (`POST /auth/mfa/verify`). The user's object decides
 * (src/sessions/mfa-rpc.ts); these routes check shapes and map outcomes to answers.
 */
export const mfaRoutes = new Hono<AppEnv>();

/** The issuer an authenticator app shows beside the account: `WEBAUTHN_RP_NAME`, the name passkeys show too. */
function totpIssuer(c: AppContext): string {
  return c.get("config").webauthn.rpName;
}

// No length limit: anything that is not a code is refused as one (invalid_code), and the body limit bounds it.
const codeBody = bodyOf(z.object({ code: z.string(rule("must be a string")) }));
const verifyBody = bodyOf(z.object({ mfa_token: z.string(rule("must be a string")), code: z.string(rule("must be a string")) }));

/** The wrong-code answer: 400 at the Bearer routes, 401 at verify (where it ends a sign-in). */
const invalidCode = (status: 400 | 401 = 400) => new AuthError("invalid_code", status, "The code is wrong, already used, or not a code.");
const invalidMfaToken = () => new AuthError("invalid_mfa_token", 401, "The mfa_token is unknown, expired or already used: log in again.");

function refused(refusal: CodeRefusal): AuthError {
  return refusal.reason === "too_many_codes" ? tooManyRequests("Too many wrong codes.", refusal.retryAfterSeconds) : invalidCode();
}

function callerOf(c: AppContext): MfaCaller {
  const claims = c.get("auth");
  return { sub: claims.sub, sessionId: claims.sid, ip: clientInfo(c).ip };
}

mfaRoutes.post("/mfa/totp", bodyWithoutFields, requireAccessToken, async function enrolTotp(c) {
  const { sub } = c.get("auth");
  // The account name the app shows: the username, or the user id of an account without one.
  const account = (await findUsernameById(c.env.DB, sub)) ?? sub;
  const enrolled = await withTarget(userAuthFor(c.env, sub).mfa(), (mfa) => mfa.enrol({ sub }));
  if (!enrolled.ok) throw new AuthError("mfa_already_enabled", 409, "TOTP is already on: turn it off first to enrol another authenticator.");
  const { secret, otpauthUri } = totpEnrolment(totpIssuer(c), account, enrolled.secret);
  c.header("Cache-Control", "no-store");
  return c.json({ secret, otpauth_uri: otpauthUri } satisfies TotpEnrolment, 201);
});

mfaRoutes.post("/mfa/totp/confirm", codeBody, requireAccessToken, async function confirmTotp(c) {
  const { code } = c.req.valid("json");
  if (!isTotpCode(code)) throw invalidCode();
  const outcome = await withTarget(userAuthFor(c.env, c.get("auth").sub).mfa(), (mfa) => mfa.confirm({ code, caller: callerOf(c) }));
  if (!outcome.ok) {
    if (outcome.reason === "nothing_pending") throw new AuthError("invalid_request", 409, "No TOTP enrolment is pending: POST /auth/mfa/totp first.");
    if (outcome.reason === "mfa_already_enabled") throw new AuthError("mfa_already_enabled", 409, "TOTP is already on.");
    throw refused(outcome);
  }
  c.header("Cache-Control", "no-store");
  return c.json({ recovery_codes: outcome.recoveryCodes } satisfies RecoveryCodes);
});

mfaRoutes.delete("/mfa/totp", codeBody, requireAccessToken, async function disableTotp(c) {
  const { code } = c.req.valid("json");
  if (!isTotpCode(code) && normalizeRecoveryCode(code) === null) throw invalidCode();
  const outcome = await withTarget(userAuthFor(c.env, c.get("auth").sub).mfa(), (mfa) => mfa.disable({ code, caller: callerOf(c) }));
  if (!outcome.ok) throw refused(outcome);
  return c.body(null, 204);
});

mfaRoutes.post("/mfa/recovery-codes", codeBody, requireAccessToken, async function regenerateRecoveryCodes(c) {
  const { code } = c.req.valid("json");
  if (!isTotpCode(code)) throw invalidCode();
  const outcome = await withTarget(userAuthFor(c.env, c.get("auth").sub).mfa(), (mfa) => mfa.regenerateRecoveryCodes({ code, caller: callerOf(c) }));
  if (!outcome.ok) throw refused(outcome);
  c.header("Cache-Control", "no-store");
  return c.json({ recovery_codes: outcome.recoveryCodes } satisfies RecoveryCodes);
});

mfaRoutes.post("/mfa/verify", setsRefreshCookie, dpopProof({ issuesTokens: true }), verifyBody, async function verifyMfa(c) {
  const { mfa_token, code } = c.req.valid("json");
  const client = clientInfo(c);
  // Keys first: a verify whose access token cannot be signed must not spend the token or count the code.
  keyRing(c);

  const token = await parseOneTimeSecret("mt1", mfa_token);
  const stub = token && userAuthOfToken(c.env, token);
  const pending = stub ? await withTarget(stub.mfa(), (mfa) => mfa.pendingLogin(token!.hash)) : null;
  if (!stub || !pending) {
    logRefusal("mfa_token", stub ? "unknown_or_expired" : "malformed");
    throw invalidMfaToken();
  }

  // A wrong code is a failed login of that username from this address: the password limits hold for codes too.
  const guard = new LoginGuard(c.env, pending.username, client.ip);
  await guard.begin();
  let outcome: MfaVerification;
  try {
    outcome = await withTarget(stub.mfa(), (mfa) => mfa.verifyLogin({ hash: token!.hash, code, client, proof: c.get("dpop") }));
  } catch (error) {
    await guard.abandon();
    throw error;
  }
  if (outcome.ok) {
    await guard.succeeded();
    return tokenResponse(c, outcome.session);
  }
  if (outcome.reason === "invalid_code") {
    const event = auditEvent({ type: "login_failed", sub: outcome.sub, session_id: null, at: Date.now(), ip: client.ip, detail: { reason: "wrong_code" } });
    await guard.failed(event);
    throw invalidCode(401);
  }
  await guard.abandon();
  logRefusal("mfa_token", outcome.reason);
  if (outcome.reason === "dpop_key_mismatch") throw invalidDpopProof("The DPoP proof is not of the key the login was made with.");
  throw invalidMfaToken();
});

// The second factor: the login step that asks for a code, and TOTP enrolment and removal.
import type { ClientContext } from "../context.js";
import { AuthClientError, errorFromResponse } from "../errors.js";
import type { LoginResult, SessionInfo, TotpEnrolment } from "../options.js";
import { sessionInfo } from "../responses.js";
import type { MfaRequiredBody, RecoveryCodes, TotpEnrolment as TotpEnrolmentBody } from "../../wire/index.js";

/**
 * The answer of a login that opened a session, or that waits for a code (`mfa_required`): the
 * `mfa_token` is kept in this page only (never stored: it lives five minutes and opens one
 * session) until `verifyMfa` spends it.
 */
export async function loginResult(client: ClientContext, response: Response, sentAt: number): Promise<LoginResult> {
  if (response.status === 401) {
    const body = (await response.clone().json().catch(() => null)) as Partial<MfaRequiredBody> | null;
    if (body?.error === "mfa_required" && typeof body.mfa_token === "string") {
      client.pendingMfa.token = body.mfa_token;
      return { mfaRequired: true };
    }
  }
  if (!response.ok) throw await errorFromResponse(response);
  client.pendingMfa.token = null;
  return { mfaRequired: false, ...sessionInfo(await client.state.accept(response, sentAt, "login")) };
}

/**
 * `POST /auth/mfa/verify`: the login's second step, with a TOTP code or a recovery code. A wrong
 * code rejects with `invalid_code` and leaves the step open (five tries); `invalid_mfa_token`
 * (expired, used, or too many wrong codes) closes it: log in again.
 */
export async function verifyMfa(client: ClientContext, code: string): Promise<SessionInfo> {
  const mfaToken = client.pendingMfa.token;
  if (mfaToken === null) throw new AuthClientError("invalid_mfa_token", "No login is waiting for a code: log in first.");
  const sentAt = client.env.now();
  // Signed in DPoP mode: the session is bound to the key the login's proof named.
  const response = await client.transport.post("/auth/mfa/verify", { mfa_token: mfaToken, code });
  if (!response.ok) {
    const error = await errorFromResponse(response);
    if (error.code === "invalid_mfa_token") client.pendingMfa.token = null;
    throw error;
  }
  client.pendingMfa.token = null;
  return sessionInfo(await client.state.accept(response, sentAt, "login"));
}

/** `POST /auth/mfa/totp`: a pending secret and its `otpauth://` URI (for a QR code), until `confirmTotp`. */
export async function enrollTotp(client: ClientContext): Promise<TotpEnrolment> {
  const body = (await call(client, "POST", "/auth/mfa/totp", undefined, 201)) as TotpEnrolmentBody;
  return { secret: body.secret, otpauthUri: body.otpauth_uri };
}

/** `POST /auth/mfa/totp/confirm`: TOTP on; resolves to the ten recovery codes, shown once. */
export async function confirmTotp(client: ClientContext, code: string): Promise<string[]> {
  return ((await call(client, "POST", "/auth/mfa/totp/confirm", { code }, 200)) as RecoveryCodes).recovery_codes;
}

/** `DELETE /auth/mfa/totp` with a TOTP or recovery code: TOTP off, recovery codes gone. */
export async function disableTotp(client: ClientContext, code: string): Promise<void> {
  await call(client, "DELETE", "/auth/mfa/totp", { code }, 204);
}

/** `POST /auth/mfa/recovery-codes` with a TOTP code: a new set of ten, the old ones dead. */
export async function regenerateRecoveryCodes(client: ClientContext, code: string): Promise<string[]> {
  return ((await call(client, "POST", "/auth/mfa/recovery-codes", { code }, 200)) as RecoveryCodes).recovery_codes;
}

async function call(client: ClientContext, method: "POST" | "DELETE", path: string, body: unknown, expected: number): Promise<unknown> {
  const init: RequestInit = { method, ...(body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }) };
  const response = await client.fetch(path, init);
  if (response.status !== expected) throw await errorFromResponse(response);
  return expected === 204 ? null : response.json();
}

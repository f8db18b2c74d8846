import type { SessionClaims } from "../tokens/access";
import type { Amr } from "../tokens/authentication-claims";
import { userAuthFor } from "./lookup";
import type { ClientInfo, IssuedSession, PresentedProof, SessionOpening } from "./rpc";

/**
 * Every way in, one way to a session. However the user proved who they are, the end is the
 * same: the user's Durable Object opens the session (`UserAuth.openSession`, then
 * `UserSessions.open`), applies the session cap, binds it to the DPoP key when the opening
 * request carried a proof, records the way in as an audit event, and the worker answers a
 * `TokenResponse` (`signInResponse`, src/http/token-response.ts). What differs between ways in
 * is one row of `SIGN_IN_METHODS`: the `amr` its tokens carry and the event it records.
 *
 * A new way in (a passkey, a TOTP code, an upstream OpenID provider, the OAuth code exchange)
 * adds its row and a variant of `SignIn`, then calls `signIn` once it has checked the user's
 * proof; a proof that the user's object must check itself (a passkey's sign counter, a TOTP
 * step never accepted twice) is checked by a method of that object, which opens the session
 * through the same `UserSessions.open` with `sessionOpening(...)` in the same transaction. The
 * password login is one of those too (`MfaRpc.openPasswordSession`): with TOTP on, the object
 * answers an `mfa_token` instead, and `MfaRpc.verifyLogin` opens the session once a code came.
 *
 * With a claims hook, `UserSessions.open` hands the new session its first hook call, and the
 * worker asks the hook before it signs the first access token (`claimsToSign`,
 * src/http/session-claims.ts): every way in asks it, without a line of its own.
 */

/** How each way in signs a user in: the `amr` of its sessions (RFC 8176) and the event that records it. */
export const SIGN_IN_METHODS = {
  /** `POST /auth/login`: a username and password. */
  password: { amr: ["pwd"], event: "login", detail: { method: "password" } },
  /** `POST /auth/admin/sessions`: the origin's back end vouches for the user (its body may say how it signed them in). */
  admin: { amr: ["adm"], event: "session_created", detail: null },
  /** `POST /auth/passkeys/login`: a passkey with user verification (a device the user holds, unlocked by them). */
  passkey: { amr: ["hwk", "user"], event: "login", detail: { method: "passkey" } },
  /** `POST /auth/token` with a code of `/auth/oidc/callback`: an upstream OpenID provider vouched for the user. */
  oidc: { amr: ["fed"], event: "login", detail: { method: "oidc" } },
  /** `POST /auth/mfa/verify` with a TOTP code, after the password of a user with TOTP on. */
  totp: { amr: ["pwd", "otp", "mfa"], event: "login", detail: { method: "totp" } },
  /** `POST /auth/mfa/verify` with a recovery code, after the password of a user with TOTP on. */
  recovery_code: { amr: ["pwd", "mfa"], event: "login", detail: { method: "recovery_code" } },
} as const satisfies Record<string, { amr: readonly Amr[]; event: SessionOpening["event"]["type"]; detail: Record<string, unknown> | null }>;

export type SignInMethod = keyof typeof SIGN_IN_METHODS;

/** A user who just proved who they are, and how. */
export type SignIn =
  | { method: "password" | "passkey" | "totp" | "recovery_code"; sub: string }
  | {
      method: "admin";
      sub: string;
      /** Copied into every access token of the session. */
      claims: SessionClaims;
      /** How the back end signed the user in, when it says; `["adm"]` otherwise. */
      amr?: Amr[];
    }
  | {
      method: "oidc";
      sub: string;
      /** The provider's id: the `idp` claim of every access token of the session, and the event's `provider`. */
      provider: string;
    };

/**
 * The session `signIn` opens, as the user's object stores it: pure, `now` (Unix ms) being the
 * moment the user proved who they are, so every access token of the session carries it as
 * `auth_time`, refreshes included.
 *
 * @example
 * sessionOpening({ method: "password", sub: "u1" }, now);
 * // { sub: "u1", claims: {}, amr: ["pwd"], authTime: now, event: { type: "login", detail: { method: "password" } } }
 */
export function sessionOpening(signIn: SignIn, now: number): SessionOpening {
  const method = SIGN_IN_METHODS[signIn.method];
  const amr = signIn.method === "admin" && signIn.amr ? signIn.amr : method.amr;
  // `idp` rides with the session's claims, so every refresh keeps it; no custom claim may name it.
  const claims = signIn.method === "admin" ? signIn.claims : signIn.method === "oidc" ? { idp: signIn.provider } : {};
  const detail = method.detail === null ? null : { ...method.detail, ...(signIn.method === "oidc" ? { provider: signIn.provider } : {}) };
  return { sub: signIn.sub, claims, amr: [...amr], authTime: now, event: { type: method.event, detail } };
}

/**
 * Opens the session of a sign-in in the user's Durable Object and returns what the worker signs
 * and answers. `from` is the opening request's client and its valid DPoP proof, if any: a
 * session is bound only here, when it opens.
 */
export function signIn(env: Env, user: SignIn, from: { client: ClientInfo; proof: PresentedProof | null }, now = Date.now()): Promise<IssuedSession> {
  return userAuthFor(env, user.sub).openSession({ opening: sessionOpening(user, now), client: from.client, proof: from.proof });
}

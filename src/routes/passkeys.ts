import { Hono } from "hono";
import * as z from "zod/mini";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { AddressGuard } from "../accounts/address-guard";
import { auditEvent } from "../db/events";
import { findUsernameById } from "../db/users";
import { AuthError, notFound } from "../errors/auth-error";
import { logRefusal, type RefusalDetail } from "../errors/verdict";
import { requireAccessToken } from "../http/authenticate";
import { bodyOf, bodyWithoutFields } from "../http/body";
import { clientInfo, keyRing, type AppContext, type AppEnv } from "../http/context";
import { dpopProof } from "../http/dpop";
import { setsRefreshCookie } from "../http/refresh-cookie";
import { tokenResponse } from "../http/token-response";
import { rule } from "../http/validation";
import { newCeremony, openCeremony, sealCeremony } from "../passkeys/ceremony";
import { MAX_PASSKEY_NAME_LENGTH } from "../passkeys/passkey-rules";
import type { Passkey } from "../passkeys/passkey-store";
import { authenticationOptions, registrationOptions, relyingParty, userOfHandle, verifyRegistration } from "../passkeys/relying-party";
import { withPasskeys } from "../sessions/lookup";
import type { PasskeyAdd, PasskeyLogin } from "../sessions/passkeys-rpc";
import type { AddedPasskey, PasskeyCeremony, PasskeyCreationOptions, PasskeyList, PasskeyListItem, PasskeyRequestOptions } from "../wire";

/**
 * Passkeys (WebAuthn): a signed-in user registers, lists and deletes theirs; anyone signs in with
 * one, naming no username (discoverable credentials). Options go out with a sealed ceremony
 * (src/passkeys/ceremony.ts) that comes back with the authenticator's response; the user's
 * object spends it, so each is used once. A registration is verified here, a login in the user's
 * object (`UserAuth.passkeys()`), where the key and its sign counter are.
 */
export const passkeyRoutes = new Hono<AppEnv>();

// Base64url as WebAuthn's JSON serialization writes binary fields; the 16 KiB body cap bounds their length.
const Base64url = z.string(rule("must be base64url text")).check(z.regex(/^[A-Za-z0-9_-]+$/));
// WebAuthn section 5.8.3: a credential id is at most 1023 bytes, 1364 characters of base64url.
const CREDENTIAL_ID = /^[A-Za-z0-9_-]{1,1364}$/;
const CredentialId = z.string(rule("must be a base64url credential id")).check(z.regex(CREDENTIAL_ID));
const Ceremony = z.string(rule("must be the ceremony the options came with")).check(z.minLength(1), z.maxLength(4096));
const Extensions = z.optional(z.record(z.string(), z.unknown()));

const RegistrationCredential = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal("public-key", rule('must be "public-key"')),
  response: z.object({
    clientDataJSON: Base64url,
    attestationObject: Base64url,
    transports: z.optional(z.array(z.string(rule("must be an array of strings")).check(z.maxLength(32))).check(z.maxLength(8))),
  }),
  clientExtensionResults: Extensions,
  authenticatorAttachment: z.optional(z.string()),
});

const AuthenticationCredential = z.object({
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal("public-key", rule('must be "public-key"')),
  response: z.object({
    clientDataJSON: Base64url,
    authenticatorData: Base64url,
    signature: Base64url,
    userHandle: z.optional(z.nullable(z.string(rule("must be a string")))),
  }),
  clientExtensionResults: Extensions,
  authenticatorAttachment: z.optional(z.string()),
});

const addBody = bodyOf(
  z.object({
    ceremony: Ceremony,
    credential: RegistrationCredential,
    name: z.optional(z.string(rule(`must be at most ${MAX_PASSKEY_NAME_LENGTH} characters`)).check(z.maxLength(MAX_PASSKEY_NAME_LENGTH))),
  }),
);

const loginBody = bodyOf(z.object({ ceremony: Ceremony, credential: AuthenticationCredential }));

/** The relying party of this request: the settings, and the gateway's own origin as the request reached it. */
function relyingPartyOf(c: AppContext) {
  return relyingParty(c.get("config"), ownOrigin(c));
}

function ownOrigin(c: AppContext): string {
  return new URL(c.req.url).origin;
}

passkeyRoutes.post("/passkeys/registration", bodyWithoutFields, requireAccessToken, async function passkeyRegistrationOptions(c) {
  const ring = keyRing(c);
  const { sub } = c.get("auth");
  const ceremony = newCeremony("registration", sub, Date.now());
  const [existing, name] = await Promise.all([withPasskeys(c.env, sub, (passkeys) => passkeys.list()), displayName(c.env.DB, sub)]);
  const options = await registrationOptions(relyingPartyOf(c), ceremony, { sub, name }, existing);
  c.header("Cache-Control", "no-store");
  return c.json({ ceremony: await sealCeremony(ring, ceremony), options } satisfies PasskeyCeremony<PasskeyCreationOptions>);
});

passkeyRoutes.post("/passkeys", addBody, requireAccessToken, async function addPasskey(c) {
  const body = c.req.valid("json");
  const claims = c.get("auth");
  const opened = await openCeremony(keyRing(c), body.ceremony, { kind: "registration", sub: claims.sub }, Date.now());
  if (!opened.ok) return refuseRegistration(opened.reason);
  const verdict = await verifyRegistration(relyingPartyOf(c), opened.ceremony, body.credential as RegistrationResponseJSON);
  if (!verdict.ok) return refuseRegistration(verdict.reason, { problem: verdict.problem });
  const caller = { sub: claims.sub, sessionId: claims.sid, client: clientInfo(c) };
  const name = body.name === undefined || body.name.trim() === "" ? null : body.name.trim();
  const outcome = await withPasskeys<PasskeyAdd>(c.env, claims.sub, (passkeys) => passkeys.add({ caller, ceremony: opened.ceremony, passkey: verdict.passkey, name }));
  if (!outcome.ok) {
    if (outcome.reason === "limit") throw new AuthError("passkey_limit", 409, "You have 20 passkeys, the most an account can hold: delete one first.");
    return refuseRegistration(outcome.reason);
  }
  const { id, name: stored, created_at } = listed(outcome.passkey);
  return c.json({ id, name: stored, created_at } satisfies AddedPasskey, 201);
});

passkeyRoutes.get("/passkeys", requireAccessToken, async function listPasskeys(c) {
  const passkeys = await withPasskeys(c.env, c.get("auth").sub, (rpc) => rpc.list());
  c.header("Cache-Control", "no-store");
  return c.json({ passkeys: passkeys.map(listed) } satisfies PasskeyList);
});

passkeyRoutes.delete("/passkeys/:id", bodyWithoutFields, requireAccessToken, async function removePasskey(c) {
  const claims = c.get("auth");
  const id = c.req.param("id");
  if (!CREDENTIAL_ID.test(id)) throw notFound("You have no passkey of that id.");
  const caller = { sub: claims.sub, sessionId: claims.sid, client: clientInfo(c) };
  if (!(await withPasskeys(c.env, claims.sub, (passkeys) => passkeys.remove({ caller, id })))) throw notFound("You have no passkey of that id.");
  return c.body(null, 204);
});

passkeyRoutes.post("/passkeys/authentication", bodyWithoutFields, async function passkeyAuthenticationOptions(c) {
  const ring = keyRing(c);
  const ceremony = newCeremony("authentication", null, Date.now());
  const options = await authenticationOptions(relyingPartyOf(c), ceremony);
  c.header("Cache-Control", "no-store");
  return c.json({ ceremony: await sealCeremony(ring, ceremony), options } satisfies PasskeyCeremony<PasskeyRequestOptions>);
});

passkeyRoutes.post("/passkeys/login", setsRefreshCookie, dpopProof({ issuesTokens: true }), loginBody, async function passkeyLogin(c) {
  const { ceremony: sealed, credential } = c.req.valid("json");
  const client = clientInfo(c);
  // Keys first: a server that cannot sign tokens must not count or judge attempts.
  const ring = keyRing(c);
  const guard = new AddressGuard(c.env, client.ip);
  await guard.begin();

  // Every refusal is one answer, so nothing tells an unknown credential from a bad signature, or
  // whether the user handle names an account.
  const refuse = async (reason: string, sub: string | null, detail: RefusalDetail = {}): Promise<never> => {
    logRefusal("passkey_login", reason, detail);
    await guard.failed(auditEvent({ type: "login_failed", sub, session_id: null, at: Date.now(), ip: client.ip, detail: { method: "passkey", reason } }));
    throw new AuthError("invalid_credentials", 401, "The passkey could not be verified.");
  };

  let outcome;
  try {
    const opened = await openCeremony(ring, sealed, { kind: "authentication" }, Date.now());
    if (!opened.ok) return await refuse(`ceremony_${opened.reason}`, null);
    const sub = credential.response.userHandle ? userOfHandle(credential.response.userHandle) : null;
    if (sub === null) return await refuse("no_user_handle", null);
    const login = { sub, ceremony: opened.ceremony, credential: credential as AuthenticationResponseJSON, ownOrigin: ownOrigin(c), client, proof: c.get("dpop") };
    outcome = await withPasskeys<PasskeyLogin>(c.env, sub, (passkeys) => passkeys.login(login));
    // A credential the user does not have says nothing about that user: the event names nobody.
    if (!outcome.ok) return await refuse(outcome.reason, outcome.reason === "unknown_credential" ? null : sub, outcome.problem ? { problem: outcome.problem } : {});
  } catch (error) {
    if (!(error instanceof AuthError)) await guard.release();
    throw error;
  }
  // The session is open: the answer need not wait for the address's count to drop the attempt
  // (a release that fails leaves it counted, erring on the side of the limit).
  c.executionCtx.waitUntil(guard.release());
  return tokenResponse(c, outcome.session);
});

/** One `invalid_passkey` for every registration that cannot be stored but the limit; the reason goes to the log. */
function refuseRegistration(reason: string, detail: RefusalDetail = {}): never {
  logRefusal("passkey_registration", reason, detail);
  throw new AuthError("invalid_passkey", 400, "The passkey registration is expired, already used or not yours, or the authenticator's response does not verify.");
}

/** The name the authenticator shows for the account: the username, or the user id of an account without one. Never fails the request. */
async function displayName(db: D1Database, sub: string): Promise<string> {
  try {
    return (await findUsernameById(db, sub)) ?? sub;
  } catch {
    return sub;
  }
}

function listed(passkey: Passkey): PasskeyListItem {
  return {
    id: passkey.id,
    name: passkey.name,
    created_at: new Date(passkey.createdAt).toISOString(),
    last_used_at: passkey.lastUsedAt === null ? null : new Date(passkey.lastUsedAt).toISOString(),
    backed_up: passkey.backedUp,
    transports: passkey.transports,
  };
}

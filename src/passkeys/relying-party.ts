import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { base64url } from "jose";
import type { Config } from "../config";
import type { Verdict } from "../errors/verdict";
import { isUserId } from "../tokens/user-id";
import type { Ceremony } from "./ceremony";

/**
 * The gateway as a WebAuthn relying party, with `@simplewebauthn/server`: the options it hands
 * out and the checks of what comes back (challenge, origin, RP ID, user presence and verification,
 * signature). Pure but for the library's WebCrypto; what is stored and when a ceremony is spent is
 * the user's object's (src/sessions/passkeys-rpc.ts).
 */

/** Who the gateway is to authenticators, and the pages that may speak for it. */
export interface RelyingParty {
  id: string;
  name: string;
  /** The `origin`s a response may come from. */
  origins: string[];
}

/**
 * The relying party of a request: `WEBAUTHN_RP_ID` and `WEBAUTHN_RP_NAME`, and `WEBAUTHN_ORIGINS`,
 * or when that is empty the gateway's own origin (`ownOrigin`, as the request reached it) plus
 * `ALLOWED_ORIGINS`.
 */
export function relyingParty(config: Pick<Config, "webauthn" | "allowedOrigins">, ownOrigin: string): RelyingParty {
  const { rpId, rpName, origins } = config.webauthn;
  return { id: rpId, name: rpName, origins: origins.length > 0 ? origins : [...new Set([ownOrigin, ...config.allowedOrigins])] };
}

// ES256 first (every platform authenticator has it), EdDSA, RS256 (Windows Hello): the same list
// in the options and the verification, so a key of another algorithm is refused.
const ALGORITHMS = [-7, -8, -257];

/** A stored passkey as the checks need it. */
export interface StoredCredential {
  id: string;
  publicKey: Uint8Array;
  transports: string[];
}

/** What a verified registration hands the store. */
export interface VerifiedPasskey {
  id: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  backedUp: boolean;
  deviceType: "singleDevice" | "multiDevice";
}

/** Why a response did not verify (logs only). */
export type ResponseRefusal = "not_verified";

/**
 * `PublicKeyCredentialCreationOptionsJSON` for a registration of `user`: a discoverable
 * credential (resident key required, so a later login needs no username), user verification
 * required, `user.id` the base64url of the user id's UTF-8 bytes (what the assertion's
 * `userHandle` brings back), the user's passkeys excluded so one authenticator is not registered twice.
 */
export function registrationOptions(
  rp: RelyingParty,
  ceremony: Ceremony,
  user: { sub: string; name: string },
  existing: Pick<StoredCredential, "id" | "transports">[],
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.name,
    userDisplayName: user.name,
    userID: userIdBytes(user.sub),
    challenge: challengeBytes(ceremony),
    attestationType: "none",
    excludeCredentials: existing.map((passkey) => ({ id: passkey.id, transports: passkey.transports })),
    authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "required" },
    supportedAlgorithmIDs: ALGORITHMS,
  });
}

/**
 * `PublicKeyCredentialRequestOptionsJSON` for a login: no `allowCredentials` to choose from
 * (discoverable credentials only, so nothing tells whether an account exists), user verification required.
 */
export async function authenticationOptions(rp: RelyingParty, ceremony: Ceremony): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const options = await generateAuthenticationOptions({ rpID: rp.id, challenge: challengeBytes(ceremony), userVerification: "required" });
  return { ...options, allowCredentials: [] };
}

/** Checks a registration response against its ceremony; the passkey to store, or why not. */
export async function verifyRegistration(
  rp: RelyingParty,
  ceremony: Ceremony,
  response: RegistrationResponseJSON,
): Promise<Verdict<{ passkey: VerifiedPasskey }, ResponseRefusal, { problem: string }>> {
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: ceremony.challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: ALGORITHMS,
    });
    if (!result.verified) return { ok: false, reason: "not_verified", problem: "the attestation did not verify" };
    const { credential, credentialBackedUp, credentialDeviceType } = result.registrationInfo;
    return {
      ok: true,
      passkey: {
        id: credential.id,
        publicKey: credential.publicKey,
        counter: credential.counter,
        transports: (response.response.transports ?? []).filter((transport) => typeof transport === "string"),
        backedUp: credentialBackedUp,
        deviceType: credentialDeviceType,
      },
    };
  } catch (error) {
    return { ok: false, reason: "not_verified", problem: problemOf(error) };
  }
}

/**
 * Checks an assertion against its ceremony and the stored passkey: challenge, origin, RP ID, user
 * verification and signature. The sign counter is left to the caller (`signCounterVerdict`), which
 * applies the contract's rule and records a regression.
 */
export async function verifyAssertion(
  rp: RelyingParty,
  ceremony: Ceremony,
  response: AuthenticationResponseJSON,
  stored: StoredCredential,
): Promise<Verdict<{ counter: number; backedUp: boolean }, ResponseRefusal, { problem: string }>> {
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: ceremony.challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      // Counter 0 here: the library's own counter check would refuse a count of 0 after a non-zero one, which the contract's rule lets pass.
      credential: { id: stored.id, publicKey: stored.publicKey as Uint8Array<ArrayBuffer>, counter: 0, transports: stored.transports as never },
      requireUserVerification: true,
    });
    if (!result.verified) return { ok: false, reason: "not_verified", problem: "bad signature" };
    return { ok: true, counter: result.authenticationInfo.newCounter, backedUp: result.authenticationInfo.credentialBackedUp };
  } catch (error) {
    return { ok: false, reason: "not_verified", problem: problemOf(error) };
  }
}

/** The `user.id` of the options: the user id's UTF-8 bytes. */
export function userIdBytes(sub: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new TextEncoder().encode(sub));
}

/**
 * The user id a `userHandle` names: the UTF-8 text of its bytes, when it is canonical base64url of
 * a valid user id (1 to 255 of `!` to `~`); null otherwise, so nothing else reaches an object.
 */
export function userOfHandle(userHandle: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,340}$/.test(userHandle)) return null;
  try {
    const bytes = base64url.decode(userHandle);
    const sub = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    if (!isUserId(sub) || base64url.encode(bytes) !== userHandle) return null;
    return sub;
  } catch {
    return null;
  }
}

function challengeBytes(ceremony: Ceremony): Uint8Array<ArrayBuffer> {
  return new Uint8Array(base64url.decode(ceremony.challenge));
}

// The library's message names the check that failed (origin, challenge, RP ID, flags); it never holds a key.
function problemOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 200);
}

// Passkeys: adding one to the signed-in account, signing in with one, listing and deleting them.
// WebAuthn directly (`navigator.credentials`), with the few base64url conversions its JSON needs:
// a few hundred bytes, against several kilobytes for @simplewebauthn/browser.
import type { ClientContext } from "../context.js";
import { AuthClientError, errorFromResponse } from "../errors.js";
import type { CredentialsLike, SessionInfo } from "../options.js";
import { sessionInfo } from "../responses.js";
import type { AddedPasskey, PasskeyCeremony, PasskeyCreationOptions, PasskeyDescriptor, PasskeyList, PasskeyListItem, PasskeyRequestOptions } from "../../wire/index.js";

/** What `navigator.credentials` hands back: a `PublicKeyCredential`, as far as the gateway needs it. */
interface PublicKeyCredentialLike {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  authenticatorAttachment?: string | null;
  response: {
    clientDataJSON: ArrayBuffer;
    attestationObject?: ArrayBuffer;
    getTransports?: () => string[];
    authenticatorData?: ArrayBuffer;
    signature?: ArrayBuffer;
    userHandle?: ArrayBuffer | null;
  };
  getClientExtensionResults?: () => Record<string, unknown>;
}

/**
 * Adds a passkey to the signed-in user's account: the gateway's options, the browser's passkey
 * dialog (`navigator.credentials.create`), the answer back to the gateway. Rejects with
 * `passkey_cancelled` when the user closes the dialog or the browser refuses (`NotAllowedError`).
 */
export async function registerPasskey(client: ClientContext, name?: string): Promise<AddedPasskey> {
  const credentials = credentialsOf(client);
  const started = await client.fetch("/auth/passkeys/registration", jsonPost({}));
  if (!started.ok) throw await errorFromResponse(started);
  const { ceremony, options } = (await started.json()) as PasskeyCeremony<PasskeyCreationOptions>;
  const created = await ask(() =>
    credentials.create({
      publicKey: {
        ...options,
        challenge: bytes(options.challenge),
        user: { ...options.user, id: bytes(options.user.id) },
        excludeCredentials: descriptors(options.excludeCredentials),
      },
    }),
  );
  const response = created.response;
  const credential = {
    ...common(created),
    response: {
      clientDataJSON: text(response.clientDataJSON),
      attestationObject: text(response.attestationObject!),
      transports: response.getTransports?.() ?? [],
    },
  };
  const added = await client.fetch("/auth/passkeys", jsonPost({ ceremony, credential, ...(name === undefined ? {} : { name }) }));
  if (added.status !== 201) throw await errorFromResponse(added);
  return (await added.json()) as AddedPasskey;
}

/**
 * Signs in with a passkey, no username: the gateway's options, the browser's passkey dialog
 * (`navigator.credentials.get`, the user picks an account), the assertion to
 * `POST /auth/passkeys/login` (with a DPoP proof in DPoP mode); the session is kept as a login's.
 */
export async function loginWithPasskey(client: ClientContext): Promise<SessionInfo> {
  const credentials = credentialsOf(client);
  const started = await client.transport.post("/auth/passkeys/authentication", {}, false);
  if (!started.ok) throw await errorFromResponse(started);
  const { ceremony, options } = (await started.json()) as PasskeyCeremony<PasskeyRequestOptions>;
  const asserted = await ask(() =>
    credentials.get({ publicKey: { ...options, challenge: bytes(options.challenge), allowCredentials: descriptors(options.allowCredentials) } }),
  );
  const response = asserted.response;
  const credential = {
    ...common(asserted),
    response: {
      clientDataJSON: text(response.clientDataJSON),
      authenticatorData: text(response.authenticatorData!),
      signature: text(response.signature!),
      ...(response.userHandle ? { userHandle: text(response.userHandle) } : {}),
    },
  };
  const sentAt = client.env.now();
  const answer = await client.transport.post("/auth/passkeys/login", { ceremony, credential });
  if (!answer.ok) throw await errorFromResponse(answer);
  return sessionInfo(await client.state.accept(answer, sentAt, "login"));
}

/** `GET /auth/passkeys`: the user's passkeys, oldest first. */
export async function listPasskeys(client: ClientContext): Promise<PasskeyListItem[]> {
  const response = await client.fetch("/auth/passkeys");
  if (!response.ok) throw await errorFromResponse(response);
  return ((await response.json()) as PasskeyList).passkeys;
}

/** `DELETE /auth/passkeys/:id`. */
export async function deletePasskey(client: ClientContext, id: string): Promise<void> {
  const response = await client.fetch(`/auth/passkeys/${encodeURIComponent(id)}`, { method: "DELETE" });
  if (response.status !== 204) throw await errorFromResponse(response);
}

function credentialsOf(client: ClientContext): CredentialsLike {
  const credentials = client.env.credentials;
  if (!credentials) throw new AuthClientError("passkeys_unsupported", "This browser has no WebAuthn (navigator.credentials); passkeys need a secure context (https or localhost).");
  return credentials;
}

/** The browser's dialog, with its refusals as `passkey_cancelled`. */
async function ask(dialog: () => Promise<unknown>): Promise<PublicKeyCredentialLike> {
  let credential: unknown;
  try {
    credential = await dialog();
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "NotAllowedError" || name === "AbortError") throw new AuthClientError("passkey_cancelled", "The passkey dialog was closed or refused.");
    throw new AuthClientError(name === "InvalidStateError" ? "passkey_exists" : "passkey_failed", (error as Error).message ?? String(error));
  }
  if (!credential) throw new AuthClientError("passkey_cancelled", "No passkey was chosen.");
  return credential as PublicKeyCredentialLike;
}

function common(credential: PublicKeyCredentialLike) {
  return {
    id: credential.id,
    rawId: text(credential.rawId),
    type: credential.type,
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
  };
}

function descriptors(list: PasskeyDescriptor[] | undefined) {
  return (list ?? []).map((entry) => ({ ...entry, id: bytes(entry.id) }));
}

function jsonPost(body: unknown): RequestInit {
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

/** The bytes of base64url text (WebAuthn's JSON encoding of binary fields). */
function bytes(base64url: string): Uint8Array {
  const binary = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** Base64url text of bytes, without padding. */
function text(buffer: ArrayBuffer | ArrayBufferView): string {
  const view = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

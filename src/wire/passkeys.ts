// What the passkey routes answer: ceremonies with their WebAuthn options, and the passkeys listed.

/**
 * `POST /auth/passkeys/registration` and `POST /auth/passkeys/authentication`: the sealed ceremony
 * to send back with the authenticator's response, and the WebAuthn options to hand to
 * `navigator.credentials.create()` or `.get()` (`PublicKeyCredentialCreationOptionsJSON`,
 * `PublicKeyCredentialRequestOptionsJSON`: binary fields are base64url).
 */
export interface PasskeyCeremony<Options> {
  ceremony: string;
  options: Options;
}

/** A credential named by its base64url id, as the options list them. */
export interface PasskeyDescriptor {
  id: string;
  /** Always `public-key`. */
  type: string;
  transports?: string[];
}

/** `PublicKeyCredentialCreationOptionsJSON` (WebAuthn Level 3), as the gateway fills it in. */
export interface PasskeyCreationOptions {
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  challenge: string;
  pubKeyCredParams: { type: string; alg: number }[];
  timeout?: number;
  excludeCredentials?: PasskeyDescriptor[];
  authenticatorSelection?: { authenticatorAttachment?: string; residentKey?: string; requireResidentKey?: boolean; userVerification?: string };
  attestation?: string;
  extensions?: object;
  hints?: string[];
}

/** `PublicKeyCredentialRequestOptionsJSON` (WebAuthn Level 3): `allowCredentials` is always empty. */
export interface PasskeyRequestOptions {
  challenge: string;
  timeout?: number;
  rpId?: string;
  allowCredentials?: PasskeyDescriptor[];
  userVerification?: string;
  extensions?: object;
  hints?: string[];
}

/** `POST /auth/passkeys`: the passkey just added. `id` is the credential id (base64url). */
export interface AddedPasskey {
  id: string;
  name: string | null;
  created_at: string;
}

/** One passkey in `GET /auth/passkeys`. Times ISO 8601. */
export interface PasskeyListItem {
  id: string;
  name: string | null;
  created_at: string;
  last_used_at: string | null;
  /** Whether the authenticator says the key is backed up (synced to the user's other devices). */
  backed_up: boolean;
  transports: string[];
}

/** `GET /auth/passkeys`, oldest first. */
export interface PasskeyList {
  passkeys: PasskeyListItem[];
}

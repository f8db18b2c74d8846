import { generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse, type WebAuthnCredential } from "@simplewebauthn/server";
import { describe, expect, it } from "vitest";
import { AuthClientError, type CredentialsLike } from "../../src/client";
import { fromBase64url } from "../helpers/encoding";
import { SoftwarePasskey } from "../helpers/authenticator";
import { clientFor, GATEWAY } from "./clients";
import { FakeGateway } from "./fake-gateway";

// The client's half of passkeys: it turns the gateway's options into what `navigator.credentials`
// takes (binary fields as bytes) and the browser's PublicKeyCredential back into the JSON the
// gateway verifies. The "gateway" here verifies with @simplewebauthn/server, as the real one does,
// so a conversion the server would refuse fails these tests; the login's session comes from the
// fake gateway's own login.

const buffer = (text: string) => fromBase64url(text).slice().buffer as ArrayBuffer;

/** `navigator.credentials` backed by a software authenticator, returning browser-shaped credentials (ArrayBuffers). */
function softwareCredentials(passkey: SoftwarePasskey, seen: { create?: unknown; get?: unknown } = {}): CredentialsLike {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
  return {
    async create({ publicKey }) {
      seen.create = publicKey;
      const options = publicKey as { challenge: Uint8Array; rp: { id: string; name: string }; user: { id: Uint8Array; name: string } };
      const json = await passkey.create({ challenge: b64(options.challenge), rp: options.rp, user: { ...options.user, id: b64(options.user.id) } });
      return {
        id: json.id,
        rawId: buffer(json.rawId),
        type: json.type,
        authenticatorAttachment: "platform",
        response: { clientDataJSON: buffer(json.response.clientDataJSON), attestationObject: buffer(json.response.attestationObject), getTransports: () => ["internal"] },
        getClientExtensionResults: () => ({}),
      };
    },
    async get({ publicKey }) {
      seen.get = publicKey;
      const options = publicKey as { challenge: Uint8Array; rpId: string };
      const json = await passkey.get({ challenge: b64(options.challenge), rpId: options.rpId });
      return {
        id: json.id,
        rawId: buffer(json.rawId),
        type: json.type,
        response: {
          clientDataJSON: buffer(json.response.clientDataJSON),
          authenticatorData: buffer(json.response.authenticatorData),
          signature: buffer(json.response.signature),
          userHandle: json.response.userHandle ? buffer(json.response.userHandle) : null,
        },
        getClientExtensionResults: () => ({}),
      };
    },
  };
}

/** The fake gateway with passkey routes that verify with @simplewebauthn/server, as the gateway does. */
function passkeyGateway() {
  const gateway = new FakeGateway();
  const challenges = new Map<string, string>();
  let stored: WebAuthnCredential | null = null;
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const inner = gateway.fetch;
  const fetch = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (path === "/auth/passkeys/registration") {
      const options = await generateRegistrationOptions({ rpName: "gw", rpID: "localhost", userName: "bob", userID: new Uint8Array([117, 49]) });
      challenges.set("reg", options.challenge);
      return json(200, { ceremony: "reg", options });
    }
    if (path === "/auth/passkeys/authentication") {
      const options = await generateAuthenticationOptions({ rpID: "localhost", userVerification: "required", allowCredentials: [] });
      challenges.set("auth", options.challenge);
      return json(200, { ceremony: "auth", options });
    }
    if (path === "/auth/passkeys" && request.method === "POST") {
      const body = (await request.json()) as { ceremony: string; credential: never; name?: string };
      const result = await verifyRegistrationResponse({ response: body.credential, expectedChallenge: challenges.get(body.ceremony)!, expectedOrigin: GATEWAY, expectedRPID: "localhost" });
      stored = result.registrationInfo!.credential;
      return json(201, { id: stored.id, name: body.name ?? null, created_at: new Date(0).toISOString() });
    }
    if (path === "/auth/passkeys/login") {
      const body = (await request.clone().json()) as { ceremony: string; credential: { response: { userHandle?: string } } };
      const result = await verifyAuthenticationResponse({ response: body.credential as never, expectedChallenge: challenges.get(body.ceremony)!, expectedOrigin: GATEWAY, expectedRPID: "localhost", credential: stored! });
      if (!result.verified || body.credential.response.userHandle !== "dTE") return json(401, { error: "invalid_credentials", error_description: "no" });
      // The session itself: the fake gateway's, as a login opens it (its DPoP proof included).
      const headers = new Headers(request.headers);
      return inner(new Request(`${GATEWAY}/auth/login`, { method: "POST", headers, body: JSON.stringify({ username: "bob", password: "right" }) }));
    }
    return inner(request);
  };
  return { gateway, fetch };
}

describe("registerPasskey and loginWithPasskey", () => {
  it("registers a passkey the server's verification accepts, then signs in with it, no username asked", async () => {
    const passkey = await SoftwarePasskey.make({ origin: GATEWAY });
    const seen: { create?: unknown; get?: unknown } = {};
    const { gateway, fetch } = passkeyGateway();
    const signedIn = clientFor(gateway, { fetch }, { credentials: softwareCredentials(passkey, seen) });
    await signedIn.login("bob", "right");
    const added = await signedIn.registerPasskey("Laptop");
    expect(added).toEqual({ id: passkey.credentialId, name: "Laptop", created_at: "1970-01-01T00:00:00.000Z" });
    // What the browser was handed: bytes where WebAuthn takes bytes.
    expect((seen.create as { challenge: unknown }).challenge).toBeInstanceOf(Uint8Array);
    expect((seen.create as { user: { id: unknown } }).user.id).toEqual(new Uint8Array([117, 49]));

    const fresh = clientFor(gateway, { fetch }, { credentials: softwareCredentials(passkey, seen) });
    const session = await fresh.loginWithPasskey();
    expect(session.tokenType).toBe("Bearer");
    expect(fresh.session?.sessionId).toBe(session.sessionId);
    expect((seen.get as { allowCredentials: unknown[] }).allowCredentials).toEqual([]);
    expect(gateway.calls("/auth/login")).toHaveLength(2);
  });

  it("rejects with passkey_cancelled when the user closes the dialog, and sends nothing to log in", async () => {
    const { gateway, fetch } = passkeyGateway();
    const refusing: CredentialsLike = {
      create: () => Promise.reject(Object.assign(new Error("closed"), { name: "NotAllowedError" })),
      get: () => Promise.reject(Object.assign(new Error("closed"), { name: "NotAllowedError" })),
    };
    const client = clientFor(gateway, { fetch }, { credentials: refusing });
    await expect(client.loginWithPasskey()).rejects.toMatchObject({ code: "passkey_cancelled" });
    expect(gateway.calls("/auth/login")).toHaveLength(0);
    expect(client.session).toBeNull();
  });

  it("rejects with the gateway's error when it refuses the passkey, and with passkeys_unsupported without WebAuthn", async () => {
    const passkey = await SoftwarePasskey.make({ origin: GATEWAY });
    const { gateway, fetch } = passkeyGateway();
    const client = clientFor(gateway, { fetch }, { credentials: softwareCredentials(passkey) });
    await client.login("bob", "right");
    await client.registerPasskey();
    passkey.userHandle = "dTI"; // the authenticator names another user
    const other = clientFor(gateway, { fetch }, { credentials: softwareCredentials(passkey) });
    const refused = await other.loginWithPasskey().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AuthClientError);
    expect(refused).toMatchObject({ code: "invalid_credentials", status: 401 });
    await expect(clientFor(gateway, { fetch }, { credentials: undefined }).loginWithPasskey()).rejects.toMatchObject({ code: "passkeys_unsupported" });
  });
});

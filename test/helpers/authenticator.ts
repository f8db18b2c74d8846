// A software passkey authenticator for the tests: an ES256 key pair and a sign counter that
// answers the gateway's WebAuthn options as a browser with a platform authenticator would, with
// every field the tests may want wrong. Checked once against @simplewebauthn/server's own
// verification (test/passkeys/authenticator.test.ts).
import { base64url, concatBytes, fromBase64url } from "./encoding";

/** A CBOR value the attestation object needs (RFC 8949): unsigned and negative integers, byte and text strings, maps. */
type Cbor = number | string | Uint8Array | CborMap | { [key: string]: Cbor };
interface CborMap extends Map<Cbor, Cbor> {}

/** CBOR encoding of `value` (definite lengths, map keys in the order given). */
export function cbor(value: Cbor): Uint8Array {
  const head = (major: number, length: number): Uint8Array => {
    if (length < 24) return Uint8Array.of((major << 5) | length);
    if (length < 0x100) return Uint8Array.of((major << 5) | 24, length);
    if (length < 0x10000) return Uint8Array.of((major << 5) | 25, length >> 8, length & 0xff);
    return Uint8Array.of((major << 5) | 26, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const bytes = new TextEncoder().encode(value);
    return concatBytes(head(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concatBytes(head(2, value.length), value);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return concatBytes(head(5, entries.length), ...entries.flatMap(([key, item]) => [cbor(key), cbor(item)]));
}

async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function uint32(value: number): Uint8Array {
  return Uint8Array.of(value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
}

/** An ECDSA signature as WebAuthn carries it: ASN.1 DER, not WebCrypto's r || s. */
function derSignature(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.slice(start);
    const padded = trimmed[0]! & 0x80 ? concatBytes(Uint8Array.of(0), trimmed) : trimmed;
    return concatBytes(Uint8Array.of(0x02, padded.length), padded);
  };
  const body = concatBytes(integer(raw.slice(0, 32)), integer(raw.slice(32)));
  return concatBytes(Uint8Array.of(0x30, body.length), body);
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

/** What the tests may change in one response: everything a broken or hostile client could. */
export interface ResponseTweaks {
  origin?: string;
  rpId?: string;
  type?: string;
  challenge?: string;
  /** User verification: true unless a test says otherwise. */
  userVerified?: boolean;
  userPresent?: boolean;
  /** The sign counter to report; by default the authenticator's next. */
  counter?: number;
  /** The user handle an assertion carries (base64url); by default the one registered. */
  userHandle?: string | null;
  attestation?: "none" | "packed";
}

/** The WebAuthn options the gateway hands out, as far as an authenticator reads them. */
interface CreationOptions {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string };
}

interface RequestOptions {
  challenge: string;
  rpId?: string;
}

/**
 * One passkey on a software authenticator: `create` answers registration options, `get` answers
 * authentication options, as `navigator.credentials` would hand them to a page at `origin`
 * (`toJSON()` of the credential: RegistrationResponseJSON, AuthenticationResponseJSON).
 */
export class SoftwarePasskey {
  counter = 0;
  userHandle: string | null = null;

  private constructor(
    readonly id: Uint8Array,
    private readonly keys: CryptoKeyPair,
    private readonly publicJwk: JsonWebKey,
    readonly origin: string,
    /** Whether it counts its uses (a synced passkey reports 0 every time). */
    readonly counts: boolean,
  ) {}

  static async make({ origin = "http://gateway.test", counts = true } = {}): Promise<SoftwarePasskey> {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const publicJwk = (await crypto.subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey;
    return new SoftwarePasskey(crypto.getRandomValues(new Uint8Array(32)), keys, publicJwk, origin, counts);
  }

  /** The credential id, base64url: the `id` the gateway lists. */
  get credentialId(): string {
    return base64url(this.id);
  }

  /** The COSE_Key of the public key (RFC 9053: EC2, ES256, P-256). */
  cosePublicKey(): Uint8Array {
    return cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, fromBase64url(this.publicJwk.x!)],
        [-3, fromBase64url(this.publicJwk.y!)],
      ]),
    );
  }

  async #authenticatorData(rpId: string, flags: number, counter: number, attested: boolean): Promise<Uint8Array> {
    const parts = [await sha256(rpId), Uint8Array.of(flags), uint32(counter)];
    if (attested) parts.push(new Uint8Array(16), Uint8Array.of(this.id.length >> 8, this.id.length & 0xff), this.id, this.cosePublicKey());
    return concatBytes(...parts);
  }

  #flags(tweaks: ResponseTweaks, extra: number): number {
    return (tweaks.userPresent === false ? 0 : FLAG_UP) | (tweaks.userVerified === false ? 0 : FLAG_UV) | extra;
  }

  #nextCounter(tweaks: ResponseTweaks): number {
    if (tweaks.counter !== undefined) return tweaks.counter;
    if (!this.counts) return 0;
    return ++this.counter;
  }

  async #sign(data: Uint8Array): Promise<Uint8Array> {
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.keys.privateKey, data));
    return derSignature(raw);
  }

  /** The registration response (`RegistrationResponseJSON`) to `options`. */
  async create(options: CreationOptions, tweaks: ResponseTweaks = {}) {
    this.userHandle = options.user.id;
    const clientData = JSON.stringify({
      type: tweaks.type ?? "webauthn.create",
      challenge: tweaks.challenge ?? options.challenge,
      origin: tweaks.origin ?? this.origin,
      crossOrigin: false,
    });
    const counter = tweaks.counter ?? (this.counts ? this.counter : 0);
    const authData = await this.#authenticatorData(tweaks.rpId ?? options.rp.id ?? "localhost", this.#flags(tweaks, FLAG_AT | FLAG_BE | FLAG_BS), counter, true);
    const attStmt: Record<string, Cbor> =
      tweaks.attestation === "packed" ? { alg: -7, sig: await this.#sign(concatBytes(authData, await sha256(clientData))) } : {};
    const attestationObject = cbor({ fmt: tweaks.attestation ?? "none", attStmt, authData });
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: "public-key",
      response: {
        clientDataJSON: base64url(clientData),
        attestationObject: base64url(attestationObject),
        transports: ["internal", "hybrid"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** The assertion (`AuthenticationResponseJSON`) answering `options`. */
  async get(options: RequestOptions, tweaks: ResponseTweaks = {}) {
    const clientData = JSON.stringify({
      type: tweaks.type ?? "webauthn.get",
      challenge: tweaks.challenge ?? options.challenge,
      origin: tweaks.origin ?? this.origin,
      crossOrigin: false,
    });
    const authData = await this.#authenticatorData(tweaks.rpId ?? options.rpId ?? "localhost", this.#flags(tweaks, FLAG_BE | FLAG_BS), this.#nextCounter(tweaks), false);
    const signature = await this.#sign(concatBytes(authData, await sha256(clientData)));
    const userHandle = tweaks.userHandle === undefined ? this.userHandle : tweaks.userHandle;
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: "public-key",
      response: {
        clientDataJSON: base64url(clientData),
        authenticatorData: base64url(authData),
        signature: base64url(signature),
        ...(userHandle === null ? {} : { userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}

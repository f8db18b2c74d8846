// Scenario 14 of `npm run bench` (bench/run.mjs): a passkey login (POST /auth/passkeys/login) of a
// returning user, against its floor (bench/passkey-floor.ts: one ECDSA P-256 verification, then
// the session opening every way in pays, in a user's object of its own). Both sides are sent the same assertion work: an authenticator in this
// process (ES256, as a platform authenticator signs) answers each login's options. The options
// request before each login (POST /auth/passkeys/authentication: a sealed challenge, nothing
// stored) is timed apart and not in the ratio: the floor has no ceremony at all.
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { median, quantile } from "../load.mjs";

/** The options requests' times (ms), for the report. */
const options = [];

/**
 * Logins of returning users (one per 50 logins), `settings.SIGN_INS` per side in up to `settings.ROUNDS` turns, one
 * at a time. Returns the p50 and p99 of each side, the ratio of p50s as the median of each
 * round's, and the options request's p50.
 */
export async function passkeyComparison({ base, adminToken, run, settings, log }) {
  const logins = settings.SIGN_INS;
  const rounds = Math.min(settings.ROUNDS, logins);
  log(`passkey login vs its floor, ${logins} logins each`);
  // A user's object refuses ceremonies past 100 spent in five minutes (MAX_SPENT_CEREMONIES): a
  // user for every 50 logins stays well under it.
  const userCount = Math.max(2, Math.ceil(logins / 50));
  const users = await Promise.all(Array.from({ length: userCount }, (_, index) => withPasskey(base, adminToken, `bench-pk-${run}-${index}`)));
  const sides = [
    { name: "floor: one ECDSA P-256 verification, then the session opening", once: (user) => floorLogin(base, adminToken, user) },
    { name: "POST /auth/passkeys/login", once: (user) => gatewayLogin(base, user) },
  ];
  // Warm: the users' objects, the isolate's keys.
  for (const side of sides) for (const user of users) await side.once(user);
  options.length = 0;
  const perRound = Math.max(1, Math.floor(logins / rounds));
  const samples = [[], []];
  const roundP50 = [[], []];
  for (let round = 0; round < rounds; round += 1) {
    for (const index of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const times = [];
      for (let i = 0; i < perRound; i += 1) times.push(await sides[index].once(users[i % users.length]));
      samples[index].push(...times);
      roundP50[index].push(median(times));
    }
  }
  const stats = (times) => {
    const sorted = [...times].sort((a, b) => a - b);
    return { logins: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
  };
  return {
    rounds,
    scenarios: sides.map((side, index) => ({ name: side.name, ...stats(samples[index]) })),
    ratio: { p50: median(roundP50[1].map((p50, round) => p50 / roundP50[0][round])) },
    optionsP50: median(options),
  };
}

/** A user with a passkey registered through the gateway (a session from the admin route, then the registration ceremony). */
async function withPasskey(base, adminToken, sub) {
  const session = await json(await post(`${base}/auth/admin/sessions`, { sub }, { Authorization: `Bearer ${adminToken}` }), 201);
  const bearer = { Authorization: `Bearer ${session.access_token}` };
  const { ceremony, options: creation } = await json(await post(`${base}/auth/passkeys/registration`, {}, bearer), 200);
  const passkey = new BenchPasskey(base);
  await json(await post(`${base}/auth/passkeys`, { ceremony, credential: passkey.registration(creation) }, bearer), 201);
  return { sub, passkey };
}

async function gatewayLogin(base, user) {
  const optionsStarted = performance.now();
  const { ceremony, options: request } = await json(await post(`${base}/auth/passkeys/authentication`, {}), 200);
  options.push(performance.now() - optionsStarted);
  const { credential } = user.passkey.assertion(request);
  const started = performance.now();
  await json(await post(`${base}/auth/passkeys/login`, { ceremony, credential }), 200);
  return performance.now() - started;
}

async function floorLogin(base, adminToken, user) {
  const { data, rawSignature } = user.passkey.assertion({ challenge: randomBytes(32).toString("base64url"), rpId: "localhost" });
  const started = performance.now();
  const body = { user: `${user.sub}-floor`, key: user.passkey.jwk, data: data.toString("base64url"), signature: rawSignature.toString("base64url") };
  await json(await post(`${base}/bench/passkey-floor/login`, body, { Authorization: `Bearer ${adminToken}` }), 200);
  return performance.now() - started;
}

/**
 * A platform authenticator in this process: an ES256 key and a sign counter, answering the
 * gateway's options as a browser would hand its answers to a page at `origin` (attestation
 * `none`, user present and verified). The tests' own is test/helpers/authenticator.ts (workerd).
 */
class BenchPasskey {
  #privateKey;
  #counter = 0;
  #userHandle = null;

  constructor(origin) {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.#privateKey = privateKey;
    this.jwk = publicKey.export({ format: "jwk" });
    this.id = randomBytes(32).toString("base64url");
    this.origin = origin;
  }

  registration(creation) {
    this.#userHandle = creation.user.id;
    const clientData = JSON.stringify({ type: "webauthn.create", challenge: creation.challenge, origin: this.origin, crossOrigin: false });
    const id = Buffer.from(this.id, "base64url");
    const key = cbor(new Map([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(this.jwk.x, "base64url")], [-3, Buffer.from(this.jwk.y, "base64url")]]));
    const authData = Buffer.concat([sha256(creation.rp.id), Buffer.from([0x45]), uint32(0), Buffer.alloc(16), Buffer.from([id.length >> 8, id.length & 0xff]), id, key]);
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: { clientDataJSON: Buffer.from(clientData).toString("base64url"), attestationObject: cbor(new Map([["fmt", "none"], ["attStmt", new Map()], ["authData", authData]])).toString("base64url"), transports: ["internal"] },
      clientExtensionResults: {},
    };
  }

  /** The assertion for `request`, and what it signs with the raw (P1363) signature the floor checks. */
  assertion(request) {
    this.#counter += 1;
    const clientData = Buffer.from(JSON.stringify({ type: "webauthn.get", challenge: request.challenge, origin: this.origin, crossOrigin: false }));
    const authData = Buffer.concat([sha256(request.rpId), Buffer.from([0x05]), uint32(this.#counter)]);
    const data = Buffer.concat([authData, sha256(clientData)]);
    const credential = {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      response: {
        clientDataJSON: clientData.toString("base64url"),
        authenticatorData: authData.toString("base64url"),
        signature: sign("sha256", data, { key: this.#privateKey, dsaEncoding: "der" }).toString("base64url"),
        userHandle: this.#userHandle,
      },
      clientExtensionResults: {},
    };
    return { credential, data, rawSignature: sign("sha256", data, { key: this.#privateKey, dsaEncoding: "ieee-p1363" }) };
  }
}

/** CBOR (RFC 8949) of unsigned and negative integers, byte and text strings, and maps: what an attestation object holds. */
function cbor(value) {
  const head = (major, length) => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
    return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  return Buffer.concat([head(5, value.size), ...[...value].flatMap(([key, item]) => [cbor(key), cbor(item)])]);
}

const sha256 = (data) => createHash("sha256").update(data).digest();
const uint32 = (value) => Buffer.from([value >>> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]);

function post(url, body, headers = {}) {
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
}

async function json(response, status) {
  if (response.status !== status) throw new Error(`${new URL(response.url).pathname} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

// The origin SDK (src/origin, `edge-auth-gateway/origin`) in Node, on requests signed by the
// gateway's own signing code (src/http/origin-signature.ts): what it accepts, and everything it
// refuses with which code. The gateway's real forwarded requests are checked in workerd
// (test/origin-signing.test.ts) and at the recording origin.
import { afterEach, describe, expect, it, vi } from "vitest";
import { signForOrigin } from "../../src/http/origin-signature";
import { GatewayVerificationError, verifyGatewayRequest, verifyNodeRequest, type VerifyOptions } from "../../src/origin/index";

const SECRET = "origin-sdk-test-secret-0123456789abcdef";
const OTHER = "another-secret-of-at-least-32-characters";
const NOW = 1_764_547_200_000;

interface Signed {
  method: string;
  target: string;
  headers: Record<string, string>;
}

/** A request as the gateway forwards it: identity headers, then its signature at `at` (ms). */
async function signed(target = "/api/orders?page=2", { method = "GET", user = "user-1" as string | null, session = "session-1" as string | null, secret = SECRET, at = NOW } = {}): Promise<Signed> {
  const headers = new Headers({ Accept: "application/json" });
  if (user !== null) headers.set("X-Auth-User", user);
  if (session !== null) headers.set("X-Auth-Session", session);
  await signForOrigin(headers, secret, { method, pathAndQuery: target }, at / 1000);
  return { method, target, headers: Object.fromEntries(headers) };
}

const asFetch = ({ method, target, headers }: Signed) => new Request(`http://origin.internal${target}`, { method, headers });
// Node gives lower-case header names, and the request-target as received.
const asNode = ({ method, target, headers }: Signed) => ({ method, url: target, headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])) });

const options = (extra: Partial<VerifyOptions> = {}): VerifyOptions => ({ secret: SECRET, now: NOW, ...extra });

/** The code both helpers refuse `request` with (they must agree). */
async function refusal(request: Signed, extra: Partial<VerifyOptions> = {}): Promise<string> {
  const codes = [];
  for (const verify of [() => verifyGatewayRequest(asFetch(request), options(extra)), () => verifyNodeRequest(asNode(request), options(extra))]) {
    try {
      await verify();
      codes.push("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayVerificationError);
      codes.push((error as GatewayVerificationError).code);
    }
  }
  expect(codes[0], "the Fetch and the Node helper disagree").toBe(codes[1]);
  return codes[0]!;
}

function withHeader(request: Signed, name: string, value: string | null): Signed {
  const headers = { ...request.headers };
  delete headers[name.toLowerCase()];
  if (value !== null) headers[name.toLowerCase()] = value;
  return { ...request, headers };
}

describe("origin SDK: what a gateway-signed request gives", () => {
  it("returns the user and session, from a Fetch Request and from a Node request alike", async () => {
    const request = await signed();
    const identity = { user: "user-1", session: "session-1", claims: null };
    await expect(verifyGatewayRequest(asFetch(request), options())).resolves.toEqual(identity);
    await expect(verifyNodeRequest(asNode(request), options())).resolves.toEqual(identity);
  });

  it("returns null user and session for a public path the gateway signed without identity", async () => {
    const request = await signed("/public/feed", { user: null, session: null });
    await expect(verifyNodeRequest(asNode(request), options())).resolves.toEqual({ user: null, session: null, claims: null });
  });

  it("accepts a signing time up to maxAgeSeconds away, either way", async () => {
    for (const offset of [-60_000, 60_000, 0]) expect(await refusal(await signed(undefined, { at: NOW + offset }))).toBe("accepted");
    expect(await refusal(await signed(undefined, { at: NOW - 300_000 }), { maxAgeSeconds: 300 })).toBe("accepted");
  });

  it("accepts either of two comma-separated secrets (a rotation), and an array of them", async () => {
    for (const secret of [SECRET, OTHER]) {
      const request = await signed(undefined, { secret });
      expect(await refusal(request, { secret: `${OTHER}, ${SECRET}` })).toBe("accepted");
      expect(await refusal(request, { secret: [SECRET, OTHER] })).toBe("accepted");
    }
  });

  it("checks Express's originalUrl, the request-target before a mounted router rewrote url", async () => {
    const request = await signed("/api/orders?page=2");
    await expect(verifyNodeRequest({ ...asNode(request), url: "/orders?page=2", originalUrl: "/api/orders?page=2" }, options())).resolves.toMatchObject({ user: "user-1" });
  });

  it("takes an absolute-form request-target's path and query", async () => {
    const request = await signed("/api/orders?page=2");
    await expect(verifyNodeRequest({ ...asNode(request), url: "http://origin.internal/api/orders?page=2" }, options())).resolves.toMatchObject({ user: "user-1" });
  });

  it("compares the MAC with WebCrypto's HMAC verify (constant time), never as text", async () => {
    const verify = vi.spyOn(crypto.subtle, "verify");
    await verifyGatewayRequest(asFetch(await signed()), options());
    expect(verify.mock.calls.map(([algorithm]) => algorithm)).toEqual(["HMAC"]);
  });
});

describe("origin SDK: what it refuses", () => {
  afterEach(() => vi.restoreAllMocks());

  it("missing: a request without either header, as one that did not come through the gateway", async () => {
    const request = await signed();
    expect(await refusal(withHeader(request, "X-Auth-Signature", null))).toBe("missing");
    expect(await refusal(withHeader(request, "X-Auth-Timestamp", null))).toBe("missing");
    expect(await refusal({ method: "GET", target: "/api/orders", headers: { "x-auth-user": "admin" } })).toBe("missing");
  });

  it("expired: a replay or a stale request more than maxAgeSeconds old, and one signed in the future", async () => {
    expect(await refusal(await signed(undefined, { at: NOW - 61_000 }))).toBe("expired");
    expect(await refusal(await signed(undefined, { at: NOW + 61_000 }))).toBe("expired");
    expect(await refusal(await signed(undefined, { at: NOW - 11_000 }), { maxAgeSeconds: 10 })).toBe("expired");
  });

  it("bad_signature: another secret", async () => {
    expect(await refusal(await signed(undefined, { secret: OTHER }))).toBe("bad_signature");
  });

  it("bad_signature: the same headers over another method, path, query, user or session", async () => {
    const request = await signed("/api/orders?page=2");
    const variants: Signed[] = [
      { ...request, method: "DELETE" },
      { ...request, target: "/api/orders?page=3" },
      { ...request, target: "/api/orders?page=2&admin=1" },
      { ...request, target: "/api/orders" },
      { ...request, target: "/api/admin?page=2" },
      withHeader(request, "X-Auth-User", "admin"),
      withHeader(request, "X-Auth-User", null),
      withHeader(request, "X-Auth-Session", "session-2"),
    ];
    for (const variant of variants) expect(await refusal(variant), JSON.stringify(variant)).toBe("bad_signature");
  });

  it("bad_signature: a path or query a proxy re-encoded, decoded or normalised on the way", async () => {
    const pairs = [
      ["/api/a%2Fb", "/api/a/b"],
      ["/api/a%2Fb", "/api/a%2fb"],
      ["/api/%7Euser", "/api/~user"],
      ["/api/x/../y", "/api/y"],
      ["/api//x", "/api/x"],
      ["/api/x?q=a%20b", "/api/x?q=a+b"],
      ["/api/x?b=2&a=1", "/api/x?a=1&b=2"],
      ["/api/x?", "/api/x"],
      ["/api/x", "/api/x/"],
      ["/API/x", "/api/x"],
    ];
    for (const [sent, received] of pairs) {
      const request = await signed(sent);
      expect(await refusal({ ...request, target: received! }), `${sent} arriving as ${received}`).toBe("bad_signature");
    }
    // Decoded to raw UTF-8 on the request line: only Node sees that (a Fetch Request's URL
    // re-encodes it, which is then what the gateway signed).
    const request = await signed("/api/caf%C3%A9");
    await expect(verifyNodeRequest({ ...asNode(request), url: "/api/caf\u00c3\u00a9" }, options())).rejects.toMatchObject({ code: "bad_signature" });
  });

  it("bad_signature: a truncated, padded, re-cased, doubled or otherwise malformed signature header", async () => {
    const request = await signed();
    const value = request.headers["x-auth-signature"]!;
    const mac = value.slice(3);
    // The same 32 bytes with a data-free low bit of the last character set: decoders forgive it.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sibling = mac.slice(0, -1) + alphabet[alphabet.indexOf(mac.at(-1)!) | 1];
    expect(Buffer.from(sibling, "base64url").equals(Buffer.from(mac, "base64url"))).toBe(true);
    const malformed = [
      value.slice(0, -1),
      value.slice(0, 10),
      `${value}=`,
      `${value}A`,
      `V1=${mac}`,
      `v2=${mac}`,
      `v1 =${mac}`,
      `v1=${mac.toUpperCase()}`,
      `v1=${Buffer.from(mac, "base64url").toString("base64")}`,
      `v1=${Buffer.from(mac, "base64url").toString("hex")}`,
      `${value}, ${value}`,
      `v1=${sibling}`,
      mac,
      "",
    ];
    for (const bad of malformed) expect(await refusal(withHeader(request, "X-Auth-Signature", bad)), bad).toBe("bad_signature");
  });

  it("bad_signature: a timestamp that is not whole seconds, or not the one signed", async () => {
    const request = await signed();
    const timestamp = request.headers["x-auth-timestamp"]!;
    for (const bad of [`${Number(timestamp) + 1}`, `0${timestamp}`, `${timestamp}.0`, ` ${timestamp}x`, "-1", "1e9", ""]) {
      expect(await refusal(withHeader(request, "X-Auth-Timestamp", bad)), bad).toBe("bad_signature");
    }
  });

  it("refuses a bad secret or maxAgeSeconds with a TypeError, whatever the request", async () => {
    const request = asFetch(await signed());
    for (const secret of ["short", "", `${SECRET},`, `${SECRET},${OTHER},${SECRET}`, [] as string[], [SECRET, "short"], undefined as unknown as string]) {
      await expect(verifyGatewayRequest(request, options({ secret }))).rejects.toBeInstanceOf(TypeError);
    }
    for (const maxAgeSeconds of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(verifyGatewayRequest(request, options({ maxAgeSeconds }))).rejects.toBeInstanceOf(TypeError);
    }
  });

  it("answers status 401 for a refused request, as err.status", async () => {
    const error = await verifyGatewayRequest(new Request("http://origin.internal/"), options()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: "GatewayVerificationError", code: "missing", status: 401 });
  });
});

describe("gateway signing (src/http/origin-signature.ts)", () => {
  it("imports the HMAC key once per secret, whatever the number of requests", async () => {
    const secret = `signing-once-${"x".repeat(32)}-${Math.random()}`;
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    for (let index = 0; index < 5; index += 1) await signed(`/r/${index}`, { secret });
    expect(importKey).toHaveBeenCalledTimes(1);
    importKey.mockRestore();
  });
});

// Property-based: no mutation of a valid token is a valid token. fast-check edits a real access
// token and a real refresh token at random (characters replaced, inserted, deleted; bits flipped
// inside a part and re-encoded canonically so the signature check itself is reached; parts shuffled;
// pieces swapped with a sibling session's) and throws random bytes, and the gateway must refuse
// every one without a 5xx, without reaching the origin, and without touching the real session.
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { base64url, bearer, call, eventsOf, fromBase64url, openSession, postJson, refresh, uniqueSub } from "../helpers";
import { expectUnauthorized, recordingOrigin } from "./attacks";

const NUM_RUNS = 200;

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// What a token may be edited with: its own alphabet, the separators and padding of other
// encodings, and a few characters parsers trip over. All are legal in a header value.
const EDIT_CHARS = `${BASE64URL}.=+/%~! ,;"{}\\`;

type Edit = { kind: "replace" | "insert" | "delete"; at: number; text: string; length: number };

const editArbitrary: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom("replace", "insert", "delete"),
  at: fc.nat(),
  text: fc.string({ unit: fc.constantFrom(...EDIT_CHARS), minLength: 1, maxLength: 4 }),
  length: fc.integer({ min: 1, max: 4 }),
});

function applyEdits(token: string, edits: Edit[]): string {
  let result = token;
  for (const edit of edits) {
    const at = edit.at % (result.length + 1);
    if (edit.kind === "insert") result = result.slice(0, at) + edit.text + result.slice(at);
    else if (edit.kind === "delete") result = result.slice(0, at) + result.slice(at + edit.length);
    else result = result.slice(0, at) + edit.text + result.slice(at + edit.text.length);
  }
  return result;
}

/** Flips one bit of the bytes a base64url part encodes and re-encodes it canonically. */
function flipBit(part: string, byte: number, bit: number): string {
  const bytes = fromBase64url(part);
  if (bytes.length === 0) return `${part}A`;
  bytes[byte % bytes.length]! ^= 1 << bit;
  return base64url(bytes);
}

const bitFlip = fc.record({ byte: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) });

/** Random edits, canonical bit flips, reordered parts and random bytes, derived from a valid access token. */
function accessTokenMutations(token: string): fc.Arbitrary<string> {
  const parts = token.split(".") as [string, string, string];
  return fc
    .oneof(
      fc.array(editArbitrary, { minLength: 1, maxLength: 1 }).map((edits) => applyEdits(token, edits)),
      fc.array(editArbitrary, { minLength: 2, maxLength: 8 }).map((edits) => applyEdits(token, edits)),
      fc.tuple(fc.integer({ min: 0, max: 2 }), fc.array(bitFlip, { minLength: 1, maxLength: 3 })).map(([index, flips]) =>
        parts.map((part, position) => (position === index ? flips.reduce((text, flip) => flipBit(text, flip.byte, flip.bit), part) : part)).join("."),
      ),
      fc.shuffledSubarray(parts, { minLength: 1 }).map((shuffled) => shuffled.join(".")),
      fc.array(fc.constantFrom(...parts), { minLength: 1, maxLength: 5 }).map((picked) => picked.join(".")),
      fc.uint8Array({ maxLength: 600 }).map(base64url),
      fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 80 })).map((random) => random.map(base64url).join(".")),
      fc.uint8Array({ minLength: 1, maxLength: 100 }).map((random) => `${parts[0]}.${parts[1]}.${base64url(random)}`),
      fc.string({ unit: fc.constantFrom(...EDIT_CHARS), maxLength: 500 }),
    )
    // Spaces around a token are the header's, not the token's: `Bearer  x ` is still `x`.
    .filter((mutated) => mutated.trim() !== token);
}

describe("property: a mutated access token never verifies", () => {
  it(`refuses ${NUM_RUNS} random mutations and random byte strings with 401 invalid_token, and the origin sees none of them`, async () => {
    const origin = recordingOrigin();
    const { access_token } = await openSession(uniqueSub("mutate-at"));
    // The baseline: the token itself goes through.
    expect((await call("/auth/sessions", { headers: bearer(access_token) })).status).toBe(200);

    // Each refusal is one log line; collected here to check what they say (and to keep 400 of them off the console).
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    let lines: string[] = [];
    let refused = 0;
    const presented = new Set<string>();
    try {
      await fc.assert(
        fc.asyncProperty(accessTokenMutations(access_token), async (mutated) => {
          const headers = { Authorization: `Bearer ${mutated}` };
          await expectUnauthorized(await call("/api/mutated", { headers }, { ORIGIN_URL: origin.url }), "invalid_token", mutated);
          await expectUnauthorized(await call("/auth/sessions", { headers }), "invalid_token", mutated);
          refused += 2;
          for (const part of mutated.split(/[ .]/)) if (part.length >= 16) presented.add(part);
        }),
        { numRuns: NUM_RUNS },
      );
    } finally {
      lines = warnings.mock.calls.map((args) => args.map(String).join(" "));
      warnings.mockRestore();
    }
    expect(await origin.requests()).toEqual([]);
    // One line per refusal, each naming why, and none holding a piece of what was presented.
    expect(lines.map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(Array(refused).fill("access_token_refused"));
    for (const part of [...presented, ...access_token.split(".")]) expect(lines.filter((line) => line.includes(part)), part).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

/** Structured and random mutations of a refresh token `rt1.<object>.<session>.<generation>.<mac>`, pieces of a sibling session's token included. */
function refreshTokenMutations(token: string, sibling: string): fc.Arbitrary<string> {
  const [prefix, objectId, sessionId, generation, mac] = token.split(".") as [string, string, string, string, string];
  const siblingParts = sibling.split(".");
  const withPart = (index: number, value: string) => token.split(".").map((part, position) => (position === index ? value : part)).join(".");
  const structured = [
    ...["1", "2", "00", "01", "-0", "+0", "0.0", "1e0", " 0", "0 ", "0x0", "9999999999", "4294967296", "", "-1"].map((value) => withPart(3, value)),
    withPart(1, objectId.toUpperCase()),
    withPart(2, sessionId.toUpperCase()),
    withPart(0, "rt2"),
    withPart(0, "RT1"),
    withPart(2, siblingParts[2]!),
    withPart(4, siblingParts[4]!),
    withPart(4, `${mac}=`),
    withPart(4, base64url(new Uint8Array(32))),
    `${prefix}.${objectId}.${sessionId}.${generation}`,
    `${token}.${mac}`,
    `${token}\n`,
    token.replace(/\./g, ":"),
  ];
  return fc
    .oneof(
      fc.constantFrom(...structured),
      fc.array(editArbitrary, { minLength: 1, maxLength: 1 }).map((edits) => applyEdits(token, edits)),
      fc.array(editArbitrary, { minLength: 2, maxLength: 8 }).map((edits) => applyEdits(token, edits)),
      fc.array(bitFlip, { minLength: 1, maxLength: 3 }).map((flips) => withPart(4, flips.reduce((text, flip) => flipBit(text, flip.byte, flip.bit), mac))),
      fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 }).map((hex) => withPart(1, hex)),
      fc.uuid().map((uuid) => withPart(2, uuid)),
      fc.nat({ max: 1000 }).map((value) => withPart(3, String(value))),
      fc.string({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 200 }).map(base64url),
    )
    .filter((mutated) => mutated !== token && mutated !== sibling);
}

describe("property: a mutated refresh token never rotates and never revokes", () => {
  it(`refuses ${NUM_RUNS} mutations on refresh (400) and on logout (401), and the real token still rotates afterwards`, async () => {
    const sub = uniqueSub("mutate-rt");
    const session = await openSession(sub);
    const sibling = await openSession(sub);
    // Each refused refresh is one log line; collected here to check what they say (and to keep 200 of them off the console).
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    let lines: string[] = [];

    try {
      await fc.assert(
        fc.asyncProperty(refreshTokenMutations(session.refresh_token, sibling.refresh_token), async (mutated) => {
          const [refreshed, loggedOut] = await Promise.all([refresh(mutated), postJson("/auth/logout", { refresh_token: mutated })]);
          expect(refreshed.status, mutated).toBe(400);
          // Only the empty string is "no token" (invalid_request); every other mutation is a token we did not issue.
          expect(((await refreshed.json()) as { error: string }).error, mutated).toBe(mutated === "" ? "invalid_request" : "invalid_grant");
          expect(loggedOut.status, mutated).toBe(401);
          expect(((await loggedOut.json()) as { error: string }).error, mutated).toBe("invalid_token");
        }),
        { numRuns: NUM_RUNS },
      );
    } finally {
      lines = warnings.mock.calls.map((args) => args.map(String).join(" "));
      warnings.mockRestore();
    }
    // The log says which rule refused, never a token: every refusal was rule 1, and no line holds a MAC.
    const refusals = lines.filter((line) => line.includes("refresh_refused")).map((line) => JSON.parse(line) as { rule: number });
    expect(refusals.length).toBeGreaterThan(0);
    expect(new Set(refusals.map((refusal) => refusal.rule))).toEqual(new Set([1]));
    for (const pair of [session, sibling]) {
      const mac = pair.refresh_token.split(".")[4]!;
      expect(lines.filter((line) => line.includes(mac))).toEqual([]);
    }

    // Nothing happened to either session: no rotation, no logout, no revocation, no reuse.
    expect((await eventsOf(sub)).map((event) => event.type)).toEqual(["session_created", "session_created"]);
    for (const pair of [session, sibling]) {
      const rotated = await refresh(pair.refresh_token);
      expect(rotated.status).toBe(200);
    }
    expect(await eventsOf(sub, "refresh_token_reuse")).toEqual([]);
    expect(await eventsOf(sub, "refresh")).toHaveLength(2);
  });
});

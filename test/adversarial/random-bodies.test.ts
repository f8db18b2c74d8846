// Property-based: random JSON (any value, objects with the route's fields holding values of any
// type, strings up to and past the size limit, text that is not JSON, nesting thousands of levels
// deep) posted to every /auth route that reads a body. Whatever arrives, the answer is one the
// contract lists for that route, never a 5xx, and a body over 16 KiB is 413 request_too_large
// before anything else is looked at.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_BODY_BYTES } from "../../src/http/body";
import { adminHeaders, bearer, call, openSession, streamed, uniqueIp, uniqueSub, type TokenResponse } from "../helpers";

const NUM_RUNS = 200;

// Straight into the worker's fetch handler (`vars` given, none changed) rather than through the
// runtime's service binding, whose pipe logs an abort for every body the worker does not read to
// the end, which is every 413 here.
const DIRECT = {};

const encoder = new TextEncoder();
const byteLength = (text: string) => encoder.encode(text).byteLength;

interface Route {
  path: string;
  method: "POST" | "DELETE";
  fields: Record<string, fc.Arbitrary<unknown>>;
  headers: () => Record<string, string>;
  /** The statuses the contract lists for this route (413 aside). */
  statuses: number[];
  /** The error codes the contract lists for this route, by status, when not the common ones. */
  errors?: Partial<Record<number, string[]>>;
  numRuns: number;
}

const MFA_ERRORS = { 400: ["invalid_request", "invalid_code"], 401: ["invalid_token", "unauthorized", "invalid_code", "invalid_mfa_token"], 409: ["invalid_request"], 429: ["too_many_requests"] };

const scalar = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** Strings from a few bytes to past the limit, in units of one to four bytes. */
const bigString = fc
  .tuple(fc.constantFrom("a", "é", "€", "😀", "\\", '"', "\u0000"), fc.integer({ min: 1_000, max: 17_000 }))
  .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)));

const username = fc.stringMatching(/^[A-Za-z0-9._@-]{3,64}$/);
const sub = fc.stringMatching(/^[!-~]{1,255}$/);
const claims = fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(scalar, fc.array(scalar, { maxLength: 5 }), anyJson), { maxKeys: 6 });
const refreshTokenLike = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.tuple(fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 }), fc.uuid(), fc.nat(), fc.string({ minLength: 43, maxLength: 43 })).map((parts) => `rt1.${parts.join(".")}`),
);

const totpCodeLike = fc.oneof(fc.stringMatching(/^[0-9]{6}$/), fc.stringMatching(/^[0-9a-z-]{10,16}$/), fc.string({ maxLength: 20 }));
const mfaTokenLike = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.tuple(fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 }), fc.string({ minLength: 43, maxLength: 43 })).map((parts) => `mt1.${parts.join(".")}`),
);
const MFA_RUNS = 100;

/** A field's value: plausible for the field, or of any JSON type, or huge. */
const fieldValue = (plausible: fc.Arbitrary<unknown>) => fc.oneof(plausible, scalar, anyJson, bigString);

/** A JSON body exactly `size` bytes long (an object with one padded field). */
function jsonOfSize(field: string, size: number): string {
  const shell = JSON.stringify({ [field]: "" });
  return JSON.stringify({ [field]: "x".repeat(Math.max(0, size - shell.length)) });
}

/** JSON nested thousands of levels deep (arrays or objects) under one of the route's fields: parsers and validators that recurse could overflow. */
function deeplyNested(fields: string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...fields, "extra"), fc.boolean(), fc.integer({ min: 100, max: 2600 }))
    .map(([field, asArrays, depth]) => {
      const nested = asArrays ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
      return `{"${field}":${nested}}`;
    });
}

/** Random body text for a route: any JSON value, an object with the route's fields (and extras), text that is not JSON, deep nesting, or a body near the size limit. */
function bodies(route: Route): fc.Arbitrary<string> {
  const fieldArbitraries = Object.fromEntries(Object.entries(route.fields).map(([name, plausible]) => [name, fieldValue(plausible)]));
  const shaped = fc
    .tuple(fc.record(fieldArbitraries, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 3 }))
    .map(([fields, extras]) => ({ ...extras, ...fields }));
  const someField = Object.keys(route.fields)[0] ?? "x";
  return fc.oneof(
    { arbitrary: anyJson.map((value) => JSON.stringify(value)), weight: 3 },
    { arbitrary: shaped.map((value) => JSON.stringify(value)), weight: 5 },
    { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
    { arbitrary: deeplyNested(Object.keys(route.fields)), weight: 1 },
    { arbitrary: fc.integer({ min: MAX_BODY_BYTES - 64, max: MAX_BODY_BYTES + 64 }).map((size) => jsonOfSize(someField, size)), weight: 1 },
  );
}

const loginIp = uniqueIp();
let throwaway: TokenResponse;
const revokedSub = uniqueSub("random-revoke");

const ROUTES: Route[] = [
  {
    path: "/auth/register",
    method: "POST",
    fields: { username, password: fc.string({ minLength: 8, maxLength: 64 }) },
    // The per-address registration limit (20 an hour) keeps password hashing to a few runs.
    headers: () => ({ "CF-Connecting-IP": loginIp }),
    statuses: [201, 400, 409, 429],
    numRuns: NUM_RUNS,
  },
  {
    path: "/auth/login",
    method: "POST",
    fields: { username, password: fc.string({ minLength: 1, maxLength: 64 }) },
    // Unknown usernames still cost one PBKDF2 hash each, but from one address the per-address
    // limit (50 failures) answers 429 before hashing after that, so 200 runs stay fast.
    headers: () => ({ "CF-Connecting-IP": loginIp }),
    statuses: [200, 400, 401, 429],
    numRuns: NUM_RUNS,
  },
  {
    path: "/auth/refresh",
    method: "POST",
    fields: { refresh_token: refreshTokenLike, grant_type: fc.constantFrom("refresh_token", "password", "") },
    headers: () => ({}),
    statuses: [400],
    numRuns: NUM_RUNS,
  },
  { path: "/auth/logout", method: "POST", fields: { refresh_token: refreshTokenLike }, headers: () => ({}), statuses: [400, 401], numRuns: NUM_RUNS },
  // With a real access token, so bodies that pass the checks reach the handler.
  { path: "/auth/logout-all", method: "POST", fields: {}, headers: () => bearer(throwaway.access_token), statuses: [204, 400], numRuns: NUM_RUNS },
  // The second factor, for a user without TOTP whose enrolment is pending (enrolled by the first route).
  { path: "/auth/mfa/totp", method: "POST", fields: {}, headers: () => bearer(throwaway.access_token), statuses: [201, 400], numRuns: MFA_RUNS },
  { path: "/auth/mfa/totp/confirm", method: "POST", errors: MFA_ERRORS, fields: { code: totpCodeLike }, headers: () => bearer(throwaway.access_token), statuses: [400, 409, 429], numRuns: MFA_RUNS },
  { path: "/auth/mfa/totp", method: "DELETE", errors: MFA_ERRORS, fields: { code: totpCodeLike }, headers: () => bearer(throwaway.access_token), statuses: [400, 429], numRuns: MFA_RUNS },
  { path: "/auth/mfa/recovery-codes", method: "POST", errors: MFA_ERRORS, fields: { code: totpCodeLike }, headers: () => bearer(throwaway.access_token), statuses: [400, 429], numRuns: MFA_RUNS },
  {
    path: "/auth/mfa/verify",
    method: "POST",
    fields: { mfa_token: mfaTokenLike, code: totpCodeLike },
    headers: () => ({ "CF-Connecting-IP": loginIp }),
    statuses: [400, 401],
    errors: MFA_ERRORS,
    numRuns: MFA_RUNS,
  },
  { path: "/auth/admin/sessions", method: "POST", fields: { sub, claims }, headers: () => adminHeaders, statuses: [201, 400], numRuns: NUM_RUNS },
  {
    path: `/auth/admin/users/${encodeURIComponent(revokedSub)}/revoke`,
    method: "POST",
    fields: {},
    headers: () => adminHeaders,
    statuses: [204, 400],
    numRuns: NUM_RUNS,
  },
];

beforeAll(async () => {
  throwaway = await openSession(uniqueSub("random-logout-all"));
  // Hundreds of refused refreshes and failed logins each log a line; errors still show.
  vi.spyOn(console, "warn").mockImplementation(() => {});
});

afterAll(() => {
  vi.restoreAllMocks();
});

describe.each(ROUTES.map((route) => [`${route.method} ${route.path.replace(revokedSub, ":sub")}`, route] as const))("property: random JSON to %s", (_name, route) => {
  it(`answers ${route.numRuns} random bodies with a status the contract lists, never a 5xx, and 413 exactly when over 16 KiB`, async () => {
    await fc.assert(
      fc.asyncProperty(bodies(route), async (body) => {
        const response = await call(route.path, { method: route.method, headers: { "Content-Type": "application/json", ...route.headers() }, body }, DIRECT);
        const label = `${response.status} for ${body.slice(0, 200)}`;
        if (byteLength(body) > MAX_BODY_BYTES) {
          expect(response.status, label).toBe(413);
          expect(await response.json()).toMatchObject({ error: "request_too_large" });
          return;
        }
        expect(route.statuses, label).toContain(response.status);
        if (response.status >= 400) {
          const error = ((await response.json()) as { error: unknown }).error;
          const common = { 400: ["invalid_request", "invalid_grant"], 401: ["invalid_credentials", "invalid_token", "unauthorized"], 409: ["username_taken"], 429: ["too_many_requests"] };
          const expected = (route.errors ?? common)[response.status as 400 | 401 | 409 | 429];
          expect(expected, label).toContain(error);
        }
      }),
      { numRuns: route.numRuns },
    );
  });
});

describe("property: bodies over 16 KiB", () => {
  const routes: Array<{ path: string; method: string; headers: () => Record<string, string> }> = [
    ...ROUTES,
    { path: `/auth/sessions/${crypto.randomUUID()}`, method: "DELETE", headers: () => bearer(throwaway.access_token) },
  ];

  it(`answers ${NUM_RUNS} random over-limit bodies on every route with 413, whatever their type, with or without a Content-Length`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.integer({ min: MAX_BODY_BYTES + 1, max: 64 * 1024 }),
        fc.constantFrom("application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", null),
        fc.boolean(),
        fc.constantFrom("x", "é", "\u0000", "{"),
        async (route, size, contentType, isStreamed, unit) => {
          const repeated = unit.repeat(Math.floor(size / byteLength(unit)));
          const text = repeated + "x".repeat(size - byteLength(repeated));
          const headers: Record<string, string> = { ...route.headers(), ...(contentType ? { "Content-Type": contentType } : {}) };
          const response = await call(route.path, { method: route.method, headers, body: isStreamed ? streamed(text) : text }, DIRECT);
          expect(byteLength(text)).toBe(size);
          expect(response.status, `${route.method} ${route.path} ${size} bytes`).toBe(413);
          expect(await response.json()).toMatchObject({ error: "request_too_large" });
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

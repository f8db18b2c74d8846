// Property-based: random JSON (any value, objects with the route's fields holding values of any
// type, text that is not JSON, deep nesting) posted to every account lifecycle route. Whatever
// arrives, the answer is one the contract lists for that route, with one of its error codes,
// never a 5xx.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bearer, call, uniqueIp, type Vars } from "../helpers";
import { accountWithEmail } from "./accounts";

const NUM_RUNS = 100;
// Local dev, so that forgot-password and the verification code have somewhere to send.
const DEV: Vars = { DEV_MESSAGE_LOG: "true" };

const scalar = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const anyJson = fc.jsonValue({ maxDepth: 3 });
const fieldValue = (plausible: fc.Arbitrary<unknown>) => fc.oneof(plausible, scalar, anyJson, fc.string({ minLength: 200, maxLength: 2000 }));
const email = fc.oneof(fc.emailAddress(), fc.string({ maxLength: 300 }).map((text) => `${text}@example.com`));
const resetToken = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.tuple(fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 }), fc.string({ unit: fc.constantFrom(..."ABCabc019_-"), minLength: 43, maxLength: 43 })).map(([id, secret]) => `rt1.${id}.${secret}`),
);

interface Route {
  path: string;
  method: "POST" | "DELETE";
  fields: Record<string, fc.Arbitrary<unknown>>;
  headers: () => Record<string, string>;
  statuses: number[];
  errors: string[];
}

let accessToken = "";
const ip = uniqueIp();

const ROUTES: Route[] = [
  {
    path: "/auth/password/forgot",
    method: "POST",
    fields: { username: fc.stringMatching(/^[A-Za-z0-9._@-]{3,64}$/), email },
    headers: () => ({ "CF-Connecting-IP": ip }),
    statuses: [202, 400, 429],
    errors: ["invalid_request", "too_many_requests"],
  },
  {
    path: "/auth/password/reset",
    method: "POST",
    fields: { token: resetToken, password: fc.string({ minLength: 8, maxLength: 64 }), code: fc.stringMatching(/^\d{6}$/) },
    headers: () => ({}),
    statuses: [400],
    errors: ["invalid_request", "invalid_grant"],
  },
  {
    path: "/auth/password",
    method: "POST",
    fields: { current_password: fc.string({ minLength: 1, maxLength: 64 }), new_password: fc.string({ minLength: 8, maxLength: 64 }) },
    headers: () => ({ ...bearer(accessToken), "CF-Connecting-IP": ip }),
    statuses: [400, 401, 429],
    errors: ["invalid_request", "invalid_credentials", "too_many_requests"],
  },
  {
    path: "/auth/email/verify",
    method: "POST",
    fields: { code: fc.oneof(fc.stringMatching(/^\d{6}$/), fc.string({ maxLength: 20 })) },
    headers: () => bearer(accessToken),
    statuses: [400],
    errors: ["invalid_request", "invalid_code"],
  },
  { path: "/auth/email/verification", method: "POST", fields: {}, headers: () => bearer(accessToken), statuses: [202, 400, 429], errors: ["invalid_request", "too_many_requests"] },
  {
    path: "/auth/account",
    method: "DELETE",
    fields: { password: fc.string({ minLength: 1, maxLength: 64 }) },
    headers: () => ({ ...bearer(accessToken), "CF-Connecting-IP": ip }),
    statuses: [400, 401, 429],
    errors: ["invalid_request", "invalid_credentials", "too_many_requests"],
  },
];

function bodies(route: Route): fc.Arbitrary<string> {
  const fields = Object.fromEntries(Object.entries(route.fields).map(([name, plausible]) => [name, fieldValue(plausible)]));
  const shaped = fc
    .tuple(fc.record(fields, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 3 }))
    .map(([known, extras]) => JSON.stringify({ ...extras, ...known }));
  const deep = fc.integer({ min: 100, max: 2000 }).map((depth) => `{"${Object.keys(route.fields)[0] ?? "x"}":${"[".repeat(depth)}${"]".repeat(depth)}}`);
  return fc.oneof(
    { arbitrary: anyJson.map((value) => JSON.stringify(value)), weight: 3 },
    { arbitrary: shaped, weight: 5 },
    { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
    { arbitrary: deep, weight: 1 },
  );
}

beforeAll(async () => {
  accessToken = (await accountWithEmail()).pair.access_token;
  // Refusals log a line each; errors still show.
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterAll(() => vi.restoreAllMocks());

describe.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))("property: random JSON to %s", (_name, route) => {
  it(`answers ${NUM_RUNS} random bodies with a status and error the contract lists, never a 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(bodies(route), async (body) => {
        const response = await call(route.path, { method: route.method, headers: { "Content-Type": "application/json", ...route.headers() }, body }, DEV);
        const label = `${response.status} for ${body.slice(0, 200)}`;
        expect(route.statuses, label).toContain(response.status);
        if (response.status >= 400) expect(route.errors, label).toContain(((await response.json()) as { error: string }).error);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

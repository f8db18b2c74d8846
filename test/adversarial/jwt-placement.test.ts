// The JWT attack catalogue, continued: the Authorization header as the only place an access token
// is read from, and how it must be spelled there.
import { describe, expect, it } from "vitest";
import { base64, call } from "../helpers";
import { expectRefusedEverywhere, genuineToken } from "./attacks";

describe("JWT attacks: the Authorization header", () => {
  const vary = async (build: (token: string) => RequestInit) => build(await genuineToken());

  it.each([
    ["a token of 8,193 characters", () => ({ headers: { Authorization: `Bearer ${"A".repeat(8193)}` } })],
    ["a header of 64 KiB", () => ({ headers: { Authorization: `Bearer ${"A".repeat(64 * 1024)}` } })],
    ["a genuinely signed token over 8,192 characters", async () => ({ headers: { Authorization: `Bearer ${await genuineToken({ pad: "x".repeat(8192) })}` } })],
    ["a genuinely signed token of 64 KiB", async () => ({ headers: { Authorization: `Bearer ${await genuineToken({ pad: "x".repeat(48 * 1024) })}` } })],
    ["a genuine token followed by 9 KiB of padding", async () => vary((token) => ({ headers: { Authorization: `Bearer ${token}${"=".repeat(9 * 1024)}` } }))],
    ["two Authorization headers, genuine then garbage", async () => vary((token) => ({ headers: new Headers([["Authorization", `Bearer ${token}`], ["Authorization", "Bearer garbage"]]) }))],
    ["two Authorization headers, garbage then genuine", async () => vary((token) => ({ headers: new Headers([["Authorization", "Bearer garbage"], ["Authorization", `Bearer ${token}`]]) }))],
    ["two Authorization headers, both genuine", async () => vary((token) => ({ headers: new Headers([["Authorization", `Bearer ${token}`], ["Authorization", `Bearer ${token}`]]) }))],
    ["two Bearer credentials in one header", async () => vary((token) => ({ headers: { Authorization: `Bearer ${token}, Bearer ${token}` } }))],
    ["a genuine token and a second word", async () => vary((token) => ({ headers: { Authorization: `Bearer ${token} extra` } }))],
    ["a tab between Bearer and a genuine token", async () => vary((token) => ({ headers: { Authorization: `Bearer\t${token}` } }))],
    ["Bearer with no token", () => ({ headers: { Authorization: "Bearer" } })],
  ] as Array<[string, () => RequestInit | Promise<RequestInit>]>)("refuses %s with 401 invalid_token, never 5xx", async (_name, init) => {
    await expectRefusedEverywhere(await init(), "invalid_token");
  });

  it.each([
    ["Basic credentials holding a genuine token", (token: string) => ({ headers: { Authorization: `Basic ${base64(`${token}:`)}` } })],
    ["the Token scheme", (token: string) => ({ headers: { Authorization: `Token ${token}` } })],
    ["the JWT scheme", (token: string) => ({ headers: { Authorization: `JWT ${token}` } })],
    ["Bearer glued to the token", (token: string) => ({ headers: { Authorization: `Bearer${token}` } })],
    ["a Bearer-Token scheme", (token: string) => ({ headers: { Authorization: `Bearer-Token ${token}` } })],
    ["the bare token without a scheme", (token: string) => ({ headers: { Authorization: token } })],
    ["an empty Authorization header", () => ({ headers: { Authorization: "" } })],
  ] as Array<[string, (token: string) => RequestInit]>)("answers %s with the bare Bearer challenge, as for no token", async (_name, build) => {
    await expectRefusedEverywhere(build(await genuineToken()), "bare");
  });
});

describe("JWT attacks: a genuine token anywhere but the Authorization header", () => {
  it.each([
    ["the access_token query parameter (RFC 6750 section 2.3)", (token: string) => ({ query: `?access_token=${token}`, init: {} })],
    ["a token query parameter", (token: string) => ({ query: `?token=${token}&jwt=${token}`, init: {} })],
    ["an access_token cookie", (token: string) => ({ init: { headers: { Cookie: `access_token=${token}; token=${token}; jwt=${token}` } } })],
    ["an Authorization cookie", (token: string) => ({ init: { headers: { Cookie: `Authorization=Bearer%20${token}` } } })],
    [
      "a form body (RFC 6750 section 2.2)",
      (token: string) => ({ init: { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: `access_token=${token}` } }),
    ],
    ["a JSON body", (token: string) => ({ init: { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ access_token: token }) } })],
    ["Proxy-Authorization", (token: string) => ({ init: { headers: { "Proxy-Authorization": `Bearer ${token}` } } })],
    ["X-Access-Token and X-Forwarded-Authorization", (token: string) => ({ init: { headers: { "X-Access-Token": token, "X-Forwarded-Authorization": `Bearer ${token}` } } })],
    ["X-Auth-Token", (token: string) => ({ init: { headers: { "X-Auth-Token": token } } })],
  ] as Array<[string, (token: string) => { query?: string; init: RequestInit }]>)("does not take a token from %s", async (_name, build) => {
    const { query, init } = build(await genuineToken());
    await expectRefusedEverywhere(init, "bare", { query });
  });

  it("does not take a token from the body of a Bearer route either: logout-all with {access_token} is 401", async () => {
    const response = await call("/auth/logout-all", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ access_token: await genuineToken() }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('Bearer realm="edge-auth-gateway"');
  });
});

import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { appRequest, follow, FAKE_IDP, ISSUER, parametersOf, TestBrowser, upstreamCounts } from "./flow";
import { SPA, type FakeMode } from "./settings";

// Every way an upstream provider can fail a sign-in, each from a provider that fails that way
// (test/fake-idp.mjs; `fake-good` is the control that succeeds): the browser lands back at the
// app's redirect URI with the contract's `error`, the app's `state` and the gateway's `iss`, and
// nothing is created, no identity, no user, no code.

const identitiesOf = async (provider: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM identities WHERE provider = ?1").bind(provider).first<{ n: number }>())!.n;

afterEach(() => {
  vi.restoreAllMocks();
});

/** The reasons the gateway logged for refused sign-ins while `action` ran (its `oidc_*_refused` lines). */
async function reasonsLogged(action: () => Promise<unknown>): Promise<string[]> {
  const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
  await action();
  const lines = warn.mock.calls.map((call) => String(call[0])).filter((line) => /^\{"event":"oidc_(callback|authorize)_refused"/.test(line));
  warn.mockRestore();
  return lines.map((line) => (JSON.parse(line) as { reason: string }).reason);
}

/** Runs a sign-in through `fake-<mode>` and returns where it landed. */
async function landAt(mode: FakeMode | "down") {
  const app = await appRequest(mode === "down" ? "down" : `fake-${mode}`);
  const result = await follow(new TestBrowser(), app.url);
  if (!("landed" in result)) throw new Error(`ended at ${result.response.status}: ${await result.response.text()}`);
  return { app, landed: result.landed, parameters: parametersOf(result.landed) };
}

describe("a provider that fails the sign-in", () => {
  it("control: a provider that behaves lands with a code, the app's state and the gateway's iss", async () => {
    const { app, landed, parameters } = await landAt("good");
    expect(landed.origin + landed.pathname).toBe(SPA.redirectUri);
    expect(parameters).toEqual({ code: expect.stringMatching(/^ac1\./), state: app.state, iss: ISSUER });
    expect(await identitiesOf("fake-good")).toBeGreaterThan(0);
  });

  const REFUSED: Array<[FakeMode, string, string]> = [
    ["wrong-nonce", "an ID token whose nonce is another sign-in's", "wrong_nonce"],
    ["wrong-aud", "an ID token for another client", "wrong_audience"],
    ["extra-aud", "an ID token with an untrusted extra audience and no azp", "wrong_audience"],
    ["wrong-azp", "an ID token whose azp is another client", "wrong_azp"],
    ["other-azp", "an ID token for this client whose azp names another", "wrong_azp"],
    ["wrong-iss", "an ID token of another issuer", "wrong_issuer"],
    ["expired", "an expired ID token", "expired"],
    ["other-key", "an ID token signed by a key the provider does not publish", "bad_signature"],
    ["unknown-kid", "an ID token whose kid is in no JWKS", "unknown_key"],
    ["no-id-token", "a token answer without an ID token", "no_id_token"],
    ["token-error", "a token endpoint that refuses the code", "token_error"],
    ["access-denied", "the provider's own error=access_denied", "provider_error"],
    ["wrong-iss-param", "an authorization response that names another issuer (a mix-up, RFC 9207)", "wrong_iss_parameter"],
  ];
  it.each(REFUSED)("refuses %s (%s): error=access_denied, reason %s, nothing created", async (mode, _what, reason) => {
    let outcome!: Awaited<ReturnType<typeof landAt>>;
    expect(await reasonsLogged(async () => (outcome = await landAt(mode)))).toEqual([reason]);
    expect(outcome.landed.origin + outcome.landed.pathname).toBe(SPA.redirectUri);
    expect(outcome.parameters).toEqual({ error: "access_denied", state: outcome.app.state, iss: ISSUER });
    expect(await identitiesOf(`fake-${mode}`)).toBe(0);
  });

  const BROKEN: Array<[FakeMode | "down", string, string, string]> = [
    ["not-json", "a token answer that is not JSON", "server_error", "not_json"],
    ["huge", "a 2 MB token answer", "server_error", "too_large"],
    ["token-500", "a token endpoint answering 500", "temporarily_unavailable", "provider_failed"],
    ["discovery-not-json", "a discovery document that is not JSON", "server_error", "not_json"],
    ["discovery-wrong-issuer", "a discovery document of another issuer", "server_error", "bad_metadata"],
    ["down", "a provider nobody answers for", "temporarily_unavailable", "unreachable"],
  ];
  it.each(BROKEN)("answers %s (%s) with error=%s, reason %s, nothing created", async (mode, _what, error, reason) => {
    let outcome!: Awaited<ReturnType<typeof landAt>>;
    expect(await reasonsLogged(async () => (outcome = await landAt(mode)))).toEqual([reason]);
    expect(outcome.landed.origin + outcome.landed.pathname).toBe(SPA.redirectUri);
    expect(outcome.parameters).toEqual({ error, state: outcome.app.state, iss: ISSUER });
    expect(await identitiesOf(`fake-${mode}`)).toBe(0);
  });

  it("gives up on a provider that does not answer the token request, with temporarily_unavailable", async () => {
    const started = Date.now();
    const { app, parameters } = await landAt("slow");
    expect(parameters).toEqual({ error: "temporarily_unavailable", state: app.state, iss: ISSUER });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await identitiesOf("fake-slow")).toBe(0);
  }, 15_000);

  it("does not fetch a failed discovery again for every attempt", async () => {
    await landAt("discovery-not-json");
    const before = ((await upstreamCounts(FAKE_IDP)) as Record<string, { discovery: number }>)["discovery-not-json"]!.discovery;
    await landAt("discovery-not-json");
    await landAt("discovery-not-json");
    expect(((await upstreamCounts(FAKE_IDP)) as Record<string, { discovery: number }>)["discovery-not-json"]!.discovery).toBe(before);
  });
});

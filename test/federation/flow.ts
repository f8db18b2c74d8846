import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { expect } from "vitest";
import { SPA } from "./settings";

// The pieces of a federated sign-in as the tests drive it: a browser that follows redirects and
// keeps cookies (the gateway is reached through the worker's real fetch handler at its ISSUER,
// every other URL over the network: the upstream providers on 127.0.0.1), and oauth4webapi as
// the team's app, downstream.

export const ISSUER = "http://127.0.0.1:8787";
export const IDP = env.TEST_IDP_URL;
export const FAKE_IDP = env.TEST_FAKE_IDP_URL;

/** The worker's fetch, for requests addressed to the gateway's ISSUER. */
export const toWorker = ((url: string | URL | Request, init?: RequestInit) => exports.default.fetch(new Request(url, init))) as typeof fetch;
export const downstream = { [oauth.customFetch]: toWorker, [oauth.allowInsecureRequests]: true };

/** What one browser holds and does: cookies per host (as browsers keep them: port aside), one request at a time. */
export class TestBrowser {
  readonly cookies = new Map<string, Map<string, string>>();
  /** The requests this browser made, in order (method and URL). */
  readonly visited: string[] = [];

  constructor(readonly headers: Record<string, string> = {}) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const cookie = [...(this.cookies.get(target.hostname) ?? new Map())].map(([name, value]) => `${name}=${value}`).join("; ");
    const headers: Record<string, string> = { ...this.headers, ...(cookie ? { Cookie: cookie } : {}) };
    const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
    if (body) headers["Content-Type"] = "application/x-www-form-urlencoded";
    this.visited.push(`${init.method ?? "GET"} ${target.href}`);
    const request = { method: init.method ?? "GET", headers, body, redirect: "manual" as const };
    const response = target.origin === ISSUER ? await toWorker(target.href, request) : await fetch(target.href, request);
    this.#keep(target.hostname, response);
    return response;
  }

  /** The value of a cookie this browser holds for `host`. */
  cookie(host: string, name: string): string | undefined {
    return this.cookies.get(host)?.get(name);
  }

  #keep(host: string, response: Response) {
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const equals = pair!.indexOf("=");
      const name = pair!.slice(0, equals).trim();
      const value = pair!.slice(equals + 1).trim();
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute) || /^\s*expires=Thu, 01 Jan 1970/i.test(attribute));
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(host, jar);
  }
}

/** How the user answers the local provider's login step. */
export type UpstreamUser = { login: string } | { decline: true };

/**
 * Follows the flow from `url` as a browser would, signing in at the local provider's form when it
 * shows, until a redirect leaves both the gateway and the providers (the app's redirect URI, or
 * the link return URL): that URL is returned, unvisited. A response that is neither a redirect nor
 * the login form ends the flow too and is returned as it is.
 */
export async function follow(
  browser: TestBrowser,
  url: string,
  user: UpstreamUser = { login: uniqueAccount() },
  stopAt: (url: URL) => boolean = () => false,
): Promise<{ landed: URL } | { response: Response }> {
  let next = url;
  for (let step = 0; step < 20; step += 1) {
    const target = new URL(next);
    if (stopAt(target) || ![ISSUER, new URL(IDP).origin, new URL(FAKE_IDP).origin].includes(target.origin) || target.pathname === "/demo") return { landed: target };
    let response = await browser.request(next);
    if (response.status === 200 && (response.headers.get("Content-Type") ?? "").startsWith("text/html") && target.origin === new URL(IDP).origin) {
      const html = await response.text();
      const action = /action="(\/interaction\/[^"]+\/login)"/.exec(html)?.[1];
      if (!action) return { response: new Response(html, { status: 200 }) };
      const form: { path: string; fields: Record<string, string> } =
        "decline" in user ? { path: action.replace(/\/login$/, "/abort"), fields: {} } : { path: action, fields: { login: user.login } };
      response = await browser.request(new URL(form.path, target).href, { method: "POST", form: form.fields });
    }
    const location = response.headers.get("Location");
    if (![302, 303].includes(response.status) || !location) return { response };
    next = new URL(location, target).href;
  }
  throw new Error("the flow did not end within 20 steps");
}

/** Follows a sign-in until the provider sends the browser to the gateway's callback, and returns that URL, unvisited. */
export async function untilCallback(browser: TestBrowser, url: string, user: UpstreamUser = { login: uniqueAccount() }): Promise<URL> {
  const result = await follow(browser, url, user, (target) => target.origin === ISSUER && target.pathname === "/auth/oidc/callback");
  if (!("landed" in result) || result.landed.pathname !== "/auth/oidc/callback") throw new Error("the flow did not reach the callback");
  return result.landed;
}

/** An account name of its own per test: each is a new user at the provider, and a new identity here. */
export function uniqueAccount(label = "alice"): string {
  return `${label}-${crypto.randomUUID().slice(0, 12)}`;
}

/** The app's side of a sign-in: its PKCE verifier, state and authorization URL. */
export async function appRequest(provider: string | null, { client = SPA, extra = {} }: { client?: { clientId: string; redirectUri: string }; extra?: Record<string, string> } = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(`${ISSUER}/auth/authorize`);
  const parameters: Record<string, string> = {
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    ...(provider === null ? {} : { provider }),
    ...extra,
  };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  return { verifier, state, url: url.href, client };
}

/** Signs in through `provider` and returns the app's landing URL, asserting that the flow got there. */
export async function signInAt(provider: string, user: UpstreamUser = { login: uniqueAccount() }, browser = new TestBrowser()) {
  const app = await appRequest(provider);
  const result = await follow(browser, app.url, user);
  if (!("landed" in result)) throw new Error(`the flow ended at ${result.response.status}: ${await result.response.text()}`);
  return { ...app, landed: result.landed, browser };
}

/** The gateway's discovery document, as oauth4webapi reads it. */
export async function gatewayMetadata(): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(ISSUER);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...downstream, algorithm: "oauth2" }));
}

/** POST /auth/token with a form. */
export function tokenRequest(fields: Record<string, string>, headers: Record<string, string> = {}) {
  return toWorker(`${ISSUER}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The query parameters of a landing URL, each once. */
export function parametersOf(url: URL): Record<string, string> {
  const parameters = Object.fromEntries(url.searchParams);
  expect(Object.keys(parameters).length).toBe([...url.searchParams.keys()].length);
  return parameters;
}

/** How many discovery, JWKS and token requests a provider has answered (its GET /__counts). */
export async function upstreamCounts(base: string): Promise<Record<string, unknown>> {
  return (await fetch(`${base}/__counts`)).json();
}

/** Exchanges the code of a sign-in's landing URL as its app, without DPoP; asserts a 200 and returns the token response. */
export async function exchangeLanded(signedIn: { landed: URL; verifier: string; client: { clientId: string; redirectUri: string } }, headers: Record<string, string> = {}) {
  const response = await tokenRequest(
    {
      grant_type: "authorization_code",
      code: signedIn.landed.searchParams.get("code") ?? "",
      redirect_uri: signedIn.client.redirectUri,
      client_id: signedIn.client.clientId,
      code_verifier: signedIn.verifier,
    },
    headers,
  );
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as { access_token: string; refresh_token: string; session_id: string; token_type: string };
}

import { createDpopProof } from "./dpop.js";
import type { DpopKeyStore } from "./dpop-key-store.js";
import { AuthClientError } from "./errors.js";
import type { AuthClientOptions, ClientEnvironment } from "./options.js";
import type { StoredSession } from "./token-store.js";

/**
 * How the client's requests leave: its own calls to `/auth/*` (JSON, cookies in cookie mode, a
 * DPoP proof) and API calls with an access token. Knows nothing of sessions beyond the token it
 * is handed.
 */
export class Transport {
  readonly #options: AuthClientOptions;
  readonly #env: ClientEnvironment;
  /** The gateway's origin: the only one requests go to. */
  readonly origin: string;
  /** The page is on another origin than the gateway, whose CORS answer may refuse it. */
  readonly #crossOrigin: boolean;
  /** DPoP mode: where the key is; null otherwise. */
  readonly #dpop: DpopKeyStore | null;
  readonly #fetch: (request: Request) => Promise<Response>;

  constructor(options: AuthClientOptions, env: ClientEnvironment, origin: string, crossOrigin: boolean, dpop: DpopKeyStore | null) {
    this.#options = options;
    this.#env = env;
    this.origin = origin;
    this.#crossOrigin = crossOrigin;
    this.#dpop = dpop;
    const globalFetch = globalThis.fetch?.bind(globalThis);
    this.#fetch = options.fetch ?? ((request) => globalFetch(request));
  }

  /**
   * A request of the client's own to `/auth/*`: JSON body, a DPoP proof (`signed`: a login,
   * refresh or logout), cookies in cookie mode, network errors as `network_error`.
   */
  async post(path: string, body?: unknown, signed = true): Promise<Response> {
    const url = new URL(path, this.origin).href;
    const headers = new Headers(await this.#proofHeaders("POST", url, null, signed));
    if (body !== undefined) headers.set("Content-Type", "application/json");
    // `credentials` is the browser's (Workers' types leave it out): the refresh cookie rides along
    // only in cookie mode, and no other mode lets the gateway set it.
    const init: RequestInit & { credentials: "include" | "omit" } = {
      method: "POST",
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: this.#options.storage === "cookie" ? "include" : "omit",
      cache: "no-store",
    };
    const request = new Request(url, init);
    try {
      return await this.#fetch(request);
    } catch (error) {
      // A browser hides from script why a cross-origin request failed: a CORS refusal (the page's
      // origin not in ALLOWED_ORIGINS) and a network down are one TypeError alike.
      const what = this.#crossOrigin ? "The gateway is unreachable or refused by CORS (is this page's origin in ALLOWED_ORIGINS?)" : "The gateway could not be reached";
      throw new AuthClientError("network_error", `${what}: ${(error as Error).message}`);
    }
  }

  /** `request` with the session's access token, and a DPoP proof for it when the token is bound. */
  async authorized(request: Request, session: StoredSession): Promise<Response> {
    const headers = new Headers(request.headers);
    headers.set("Authorization", `${session.tokenType} ${session.accessToken}`);
    // RFC 9449 section 7.1: a bound token goes with a proof for this request and this token.
    const bound = /^dpop$/i.test(session.tokenType);
    for (const [name, value] of Object.entries(await this.#proofHeaders(request.method, request.url, session.accessToken, bound))) headers.set(name, value);
    return this.#fetch(new Request(request, { headers }));
  }

  async #proofHeaders(method: string, url: string, accessToken: string | null, signed: boolean): Promise<Record<string, string>> {
    const target = { method, url, accessToken };
    const headers: Record<string, string> = {};
    if (this.#dpop && signed) headers.DPoP = await createDpopProof(await this.#dpop.key(), target, this.#env.now());
    return { ...headers, ...(await this.#options.proof?.(target)) };
  }
}

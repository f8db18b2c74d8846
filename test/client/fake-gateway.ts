import { EmbeddedJWK, base64url, calculateJwkThumbprint, decodeProtectedHeader, jwtVerify, type JWK } from "jose";
import type { ErrorBody, ErrorCode, TokenResponse } from "../../src/wire";

/**
 * An in-memory stand-in for the gateway, for the client's unit tests (Node, no workerd): login,
 * refresh with rules 3 to 5 (rotate; the previous token within the grace window gets the same
 * successor; anything older is reuse and revokes the session), logout, the session list, and an
 * API that answers 401 "expired" as the gateway does. DPoP as the gateway does it: a login with a
 * valid proof binds the session to the proof's key (a refresh never binds one), a bound session
 * refreshes only with a proof of that key, and its access tokens pass only as `Authorization: DPoP` with a proof
 * carrying their `ath`. Its clock is the tests' clock, and it can lose answers or the network the
 * way a flaky connection does.
 */
export interface FakeSession {
  id: string;
  generation: number;
  /** When each generation was rotated away (its successor issued), by generation. */
  rotatedAt: Map<number, number>;
  revoked: boolean;
  /** The thumbprint of the DPoP key the session is bound to; null for a Bearer session. */
  jkt: string | null;
}

/** A DPoP proof that verified (signature, typ, htm, htu, iat): its key's thumbprint and what it said. */
export interface CheckedProof {
  jkt: string;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

export interface Sent {
  method: string;
  path: string;
  authorization: string | null;
  body: string;
  credentials: string;
  headers: Headers;
  /** The request's DPoP proof when it verified; "invalid" when it did not; null without one. */
  proof: CheckedProof | "invalid" | null;
}

export class FakeGateway {
  now = 1_000_000;
  ttlSeconds = 60;
  graceSeconds = 10;
  /** Access tokens expire this much earlier at the gateway than `expires_in` says (a client clock that is behind). */
  earlyExpiryMs = 0;
  /** Refresh answers to lose after the gateway has acted on them (a dropped connection). */
  loseRefreshAnswers = 0;
  /** Every request fails before it reaches the gateway. */
  networkDown = false;
  /** Refreshes answered 503 before they reach the session. */
  unavailableRefreshes = 0;
  /** Refreshes of bound sessions refused for want of a proof of their key (the gateway's dpop_proof_failed). */
  dpopProofFailures = 0;
  readonly sessions = new Map<string, FakeSession>();
  /** Authorization codes the fake's `/auth/token` takes, each with the S256 challenge its verifier must meet. */
  readonly codes = new Map<string, string>();
  readonly sent: Sent[] = [];
  /** The refresh cookie (cookie mode), as a browser's cookie jar would hold it. */
  cookie: string | null = null;
  /** With TOTP on: the one code the fake's `/auth/mfa/verify` takes; a right password then answers `mfa_required`. */
  mfaCode: string | null = null;
  /** The logins waiting for a code, by `mfa_token`, with the DPoP key of the login. */
  readonly #pendingMfa = new Map<string, { jkt: string | null }>();
  readonly #accessTokens = new Map<string, { sessionId: string; expiresAt: number; jkt: string | null }>();
  #counter = 0;

  readonly env = {
    now: () => this.now,
    // Time passes only when someone waits.
    sleep: async (ms: number) => {
      this.now += ms;
    },
  };

  readonly fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const body = await request.text();
    // The browser's `credentials` (Workers' types leave it out).
    const credentials = (request as Request & { credentials: string }).credentials;
    const proof = await this.#checkProof(request);
    this.sent.push({ method: request.method, path: url.pathname, authorization: request.headers.get("Authorization"), body, credentials, headers: request.headers, proof });
    if (this.networkDown) throw new TypeError("Failed to fetch");
    const cookie = credentials === "include" ? this.cookie : null;
    const response = await this.#answer(request.method, url.pathname, request.headers.get("Authorization"), body, cookie, proof);
    if (url.pathname === "/auth/refresh" && this.loseRefreshAnswers > 0) {
      this.loseRefreshAnswers -= 1;
      throw new TypeError("Failed to fetch");
    }
    return response;
  };

  calls(path: string): Sent[] {
    return this.sent.filter((entry) => entry.path === path);
  }

  /** Revokes every session, as reuse detection or an admin would. */
  revokeAll(): void {
    for (const session of this.sessions.values()) session.revoked = true;
  }

  refreshTokenOf(sessionId: string): string {
    return `rt.${sessionId}.${this.sessions.get(sessionId)!.generation}`;
  }

  async #answer(method: string, path: string, authorization: string | null, body: string, cookie: string | null, proof: CheckedProof | "invalid" | null): Promise<Response> {
    const sessionRequest = method === "POST" && ["/auth/login", "/auth/mfa/verify", "/auth/refresh", "/auth/logout", "/auth/token"].includes(path);
    if (sessionRequest && proof === "invalid") return errorAnswer(400, "invalid_dpop_proof", "The DPoP proof is not valid.");
    const jkt = proof === null || proof === "invalid" ? null : proof.jkt;
    if (method === "POST" && path === "/auth/login") {
      const { password } = JSON.parse(body) as { password: string };
      if (password !== "right") return errorAnswer(401, "invalid_credentials", "The username or password is wrong.");
      if (this.mfaCode !== null) {
        const mfaToken = `mt.${++this.#counter}`;
        this.#pendingMfa.set(mfaToken, { jkt });
        return json(401, { error: "mfa_required", error_description: "Send a code.", mfa_token: mfaToken });
      }
      const session: FakeSession = { id: `s${++this.#counter}`, generation: 0, rotatedAt: new Map(), revoked: false, jkt };
      this.sessions.set(session.id, session);
      return this.#pair(session, this.cookieMode);
    }
    if (method === "POST" && path === "/auth/register") return json(201, { user_id: "u1", ...((JSON.parse(body) as { password: string }).password === "breached" ? { breached: true } : {}) });
    if (method === "POST" && path === "/auth/mfa/verify") {
      const { mfa_token: mfaToken, code } = JSON.parse(body) as { mfa_token: string; code: string };
      const pending = this.#pendingMfa.get(mfaToken);
      if (!pending) return errorAnswer(401, "invalid_mfa_token", "Log in again.");
      if (code !== this.mfaCode) return errorAnswer(401, "invalid_code", "The code is wrong.");
      this.#pendingMfa.delete(mfaToken);
      const session: FakeSession = { id: `s${++this.#counter}`, generation: 0, rotatedAt: new Map(), revoked: false, jkt: pending.jkt ?? jkt };
      this.sessions.set(session.id, session);
      return this.#pair(session, this.cookieMode);
    }
    // The account lifecycle without a session: a reset link's token is "good-token", once.
    if (method === "POST" && path === "/auth/password/forgot") return new Response(null, { status: 202 });
    if (method === "POST" && path === "/auth/password/reset") {
      const { token } = JSON.parse(body) as { token: string };
      if (token !== "good-token" || this.resetSpent) return errorAnswer(400, "invalid_grant", "The reset token is invalid, expired or already used.");
      this.resetSpent = true;
      this.revokeAll();
      return new Response(null, { status: 204 });
    }
    if (method === "POST" && path === "/auth/token") {
      const { code, code_verifier: verifier } = JSON.parse(body) as { code: string; code_verifier: string };
      const challenge = this.codes.get(code);
      this.codes.delete(code);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
      if (challenge === undefined || challenge !== Buffer.from(digest).toString("base64url")) return errorAnswer(400, "invalid_grant", "The authorization code is invalid.");
      const session: FakeSession = { id: `s${++this.#counter}`, generation: 0, rotatedAt: new Map(), revoked: false, jkt };
      this.sessions.set(session.id, session);
      return this.#pair(session, this.cookieMode);
    }
    if (method === "POST" && path === "/auth/refresh") {
      if (this.unavailableRefreshes > 0) {
        this.unavailableRefreshes -= 1;
        return errorAnswer(503, "temporarily_unavailable", "Try again.");
      }
      const presented = body ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : cookie;
      if (!presented) return errorAnswer(400, "invalid_request", "refresh_token is required.");
      const [, sessionId, generation] = presented.split(".");
      const session = this.sessions.get(sessionId ?? "");
      const invalid = errorAnswer(400, "invalid_grant", "The refresh token is invalid, expired, revoked or already used.");
      if (!session || session.revoked) return invalid;
      // Before the refresh rules: a thief without the key can neither rotate nor trigger reuse.
      if (session.jkt !== null && jkt !== session.jkt) {
        this.dpopProofFailures += 1;
        return invalid;
      }
      const presentedGeneration = Number(generation);
      if (presentedGeneration === session.generation) {
        // Rule 3: rotate.
        session.rotatedAt.set(session.generation, this.now);
        session.generation += 1;
        return this.#pair(session, this.cookieMode);
      }
      const rotatedAt = session.rotatedAt.get(presentedGeneration);
      if (presentedGeneration === session.generation - 1 && rotatedAt !== undefined && this.now - rotatedAt <= this.graceSeconds * 1000) {
        // Rule 4: the same successor, a fresh access token.
        return this.#pair(session, this.cookieMode);
      }
      // Rule 5: reuse.
      session.revoked = true;
      return invalid;
    }
    if (method === "POST" && path === "/auth/logout") {
      const presented = body ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : cookie;
      const session = this.sessions.get(presented?.split(".")[1] ?? "");
      if (!session) return errorAnswer(401, "invalid_token", "Not ours.");
      session.revoked = true;
      if (this.cookieMode) this.cookie = null;
      return new Response(null, { status: 204 });
    }
    const [, scheme, token] = /^(Bearer|DPoP) (.+)$/.exec(authorization ?? "") ?? [];
    const access = token ? this.#accessTokens.get(token) : undefined;
    const challengeScheme = scheme === "DPoP" || access?.jkt ? "DPoP" : "Bearer";
    if (!access) return challenge(`${challengeScheme} realm="test", error="invalid_token", error_description="The access token is invalid"`);
    if (this.now >= access.expiresAt - this.earlyExpiryMs) {
      return challenge(`${challengeScheme} realm="test", error="invalid_token", error_description="The access token expired"`);
    }
    if ((scheme === "DPoP") !== (access.jkt !== null)) return challenge(`${challengeScheme} realm="test", error="invalid_token", error_description="Wrong scheme"`);
    if (access.jkt !== null) {
      const ath = base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))));
      if (jkt !== access.jkt || (proof as CheckedProof).payload.ath !== ath) {
        return challenge('DPoP realm="test", error="invalid_dpop_proof", error_description="A DPoP proof of the bound key is required"');
      }
    }
    if (method === "POST" && path === "/auth/mfa/totp") return json(201, { secret: "JBSWY3DPEHPK3PXP", otpauth_uri: "otpauth://totp/test:bob?secret=JBSWY3DPEHPK3PXP" });
    if (path === "/auth/mfa/totp/confirm" || path === "/auth/mfa/recovery-codes" || (method === "DELETE" && path === "/auth/mfa/totp")) {
      const { code } = JSON.parse(body) as { code: string };
      if (code !== "123456") return errorAnswer(400, "invalid_code", "The code is wrong.");
      return method === "DELETE" ? new Response(null, { status: 204 }) : json(200, { recovery_codes: ["aaaa-bbbb-cccc"] });
    }
    if (method === "POST" && path === "/auth/logout-all") {
      this.revokeAll();
      return new Response(null, { status: 204 });
    }
    // The account lifecycle with a session: the password is "right", the code "123456".
    if (method === "GET" && path === "/auth/account") {
      return json(200, { user_id: "u1", username: "bob", email: "bob@example.com", email_verified: this.emailVerified, created_at: "2026-12-01T00:00:00.000Z", mfa: { totp: false, recovery_codes_left: 0 }, passkeys: 0, identities: [] });
    }
    if (method === "POST" && path === "/auth/email/verification") return new Response(null, { status: 202 });
    if (method === "POST" && path === "/auth/email/verify") {
      if ((JSON.parse(body) as { code: string }).code !== "123456") return errorAnswer(400, "invalid_code", "The code is wrong.");
      this.emailVerified = true;
      return new Response(null, { status: 204 });
    }
    if (method === "POST" && path === "/auth/password") {
      if ((JSON.parse(body) as { current_password: string }).current_password !== "right") return errorAnswer(401, "invalid_credentials", "The current password is wrong.");
      for (const session of this.sessions.values()) if (session.id !== access.sessionId) session.revoked = true;
      return new Response(null, { status: 204 });
    }
    if (method === "DELETE" && path === "/auth/account") {
      if (!body || (JSON.parse(body) as { password?: string }).password !== "right") return errorAnswer(401, "invalid_credentials", "Send your password.");
      this.revokeAll();
      return new Response(null, { status: 204 });
    }
    if (method === "GET" && path === "/auth/sessions") {
      const sessions = [...this.sessions.values()].filter((session) => !session.revoked).map((session) => ({ id: session.id, current: session.id === access.sessionId }));
      return json(200, { sessions });
    }
    if (method === "DELETE" && path.startsWith("/auth/sessions/")) {
      const session = this.sessions.get(decodeURIComponent(path.slice("/auth/sessions/".length)));
      if (!session || session.revoked) return errorAnswer(404, "not_found", "No active session of yours has that id.");
      session.revoked = true;
      return new Response(null, { status: 204 });
    }
    return json(200, { method, path, session: access.sessionId, body });
  }

  /** Whether the gateway sets the refresh cookie (REFRESH_COOKIE=true). */
  cookieMode = false;
  /** The account lifecycle's state: whether the reset token was used, whether the address is verified. */
  resetSpent = false;
  emailVerified = false;

  #pair(session: FakeSession, setCookie: boolean): Response {
    const accessToken = `at.${session.id}.${++this.#counter}`;
    this.#accessTokens.set(accessToken, { sessionId: session.id, expiresAt: this.now + this.ttlSeconds * 1000, jkt: session.jkt });
    const refreshToken = `rt.${session.id}.${session.generation}`;
    if (setCookie) this.cookie = refreshToken;
    const tokenType = session.jkt === null ? "Bearer" : "DPoP";
    const pair: TokenResponse = { access_token: accessToken, token_type: tokenType, expires_in: this.ttlSeconds, refresh_token: refreshToken, session_id: session.id };
    return json(200, pair);
  }

  /** Checks a `DPoP` header as the gateway does (RFC 9449 section 4.3), on this gateway's clock. */
  async #checkProof(request: Request): Promise<CheckedProof | "invalid" | null> {
    const header = request.headers.get("DPoP");
    if (header === null) return null;
    try {
      const { payload, protectedHeader } = await jwtVerify(header, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256", "EdDSA"], requiredClaims: ["jti", "htm", "htu", "iat"] });
      const htu = new URL(payload.htu as string);
      const target = new URL(request.url);
      const fresh = Math.abs((payload.iat as number) - this.now / 1000) <= 60;
      if (payload.htm !== request.method || htu.origin !== target.origin || htu.pathname !== target.pathname || !fresh) return "invalid";
      const jkt = await calculateJwkThumbprint(decodeProtectedHeader(header).jwk as JWK, "sha256");
      return { jkt, header: protectedHeader as Record<string, unknown>, payload };
    } catch {
      return "invalid";
    }
  }
}

/** An error answer with the gateway's body. */
function errorAnswer(status: number, error: ErrorCode, description: string): Response {
  return json(status, { error, error_description: description } satisfies ErrorBody);
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function challenge(wwwAuthenticate: string): Response {
  const description = /error_description="([^"]*)"/.exec(wwwAuthenticate)![1];
  return new Response(JSON.stringify({ error: "invalid_token", error_description: description }), {
    status: 401,
    headers: { "Content-Type": "application/json", "WWW-Authenticate": wwwAuthenticate },
  });
}

/** `localStorage` of one origin, shared by the tabs of a test. */
export class FakeStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

/** Web Locks of one origin: exclusive locks, granted in request order; `ifAvailable` grants only a free lock (else calls back with null). */
export class FakeLocks {
  readonly #tails = new Map<string, Promise<unknown>>();
  /** Requests granted or waiting, by lock name. */
  readonly #held = new Map<string, number>();
  request<T>(name: string, ...args: [() => Promise<T>] | [{ ifAvailable: true }, (lock: unknown) => Promise<T>]): Promise<T> {
    if (args.length === 2) {
      if ((this.#held.get(name) ?? 0) > 0) return args[1](null);
      return this.request(name, () => args[1]({ name }));
    }
    const previous = this.#tails.get(name) ?? Promise.resolve();
    // Held or queued from the moment it is asked for, as the browser's lock manager records it.
    this.#held.set(name, (this.#held.get(name) ?? 0) + 1);
    const result = previous.then(async () => {
      try {
        return await args[0]();
      } finally {
        this.#held.set(name, this.#held.get(name)! - 1);
      }
    });
    this.#tails.set(name, result.catch(() => undefined));
    return result;
  }
}

/** Messages posted on any fake channel and not yet delivered. */
const inTransit = new Set<Promise<void>>();

/** Resolves once every message posted on a fake channel has been delivered, those its delivery posted included. */
export async function channelMessagesDelivered(): Promise<void> {
  while (inTransit.size > 0) await Promise.all(inTransit);
}

/** BroadcastChannel of one origin: delivers to every other channel of the name, asynchronously like a browser. */
export function fakeBroadcastChannel() {
  const channels = new Set<FakeChannel>();
  class FakeChannel {
    readonly #listeners: Array<(event: { data: unknown }) => void> = [];
    constructor(readonly name: string) {
      channels.add(this);
    }
    postMessage(data: unknown): void {
      const copy = structuredClone(data);
      for (const channel of channels) {
        if (channel !== this && channel.name === this.name) {
          const delivery: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => {
            inTransit.delete(delivery);
            channel.#deliver(copy);
          });
          inTransit.add(delivery);
        }
      }
    }
    addEventListener(_type: "message", listener: (event: { data: unknown }) => void): void {
      this.#listeners.push(listener);
    }
    close(): void {
      channels.delete(this);
    }
    #deliver(data: unknown): void {
      for (const listener of this.#listeners) listener({ data });
    }
  }
  return FakeChannel;
}

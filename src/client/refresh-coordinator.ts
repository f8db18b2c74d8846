import { AuthClientError, errorFromResponse } from "./errors.js";
import type { AuthClientOptions, ClientEnvironment } from "./options.js";
import type { SessionState } from "./session-state.js";
import type { StoredSession } from "./token-store.js";
import type { Transport } from "./transport.js";

/**
 * When and how the access token is renewed: shortly before it expires when a request needs it (no
 * timer runs in the background), once however many callers ask at the same time, and once for all
 * tabs of the origin.
 */
export class RefreshCoordinator {
  readonly #state: SessionState;
  readonly #transport: Transport;
  readonly #options: AuthClientOptions;
  readonly #env: ClientEnvironment;
  #inFlight: Promise<StoredSession> | null = null;

  constructor(state: SessionState, transport: Transport, options: AuthClientOptions, env: ClientEnvironment) {
    this.#state = state;
    this.#transport = transport;
    this.#options = options;
    this.#env = env;
  }

  /** The session with an access token that is not about to expire, refreshed first if need be. */
  async usable(): Promise<StoredSession> {
    const session = this.#state.read();
    if (!session) {
      // Cookie mode: a reload or a new tab has the cookie but no access token yet.
      if (this.#options.storage === "cookie" && !this.#state.cookieRefused) return this.refresh(null);
      throw this.#state.gone();
    }
    return this.#isFresh(session) ? session : this.refresh(session.accessToken);
  }

  /**
   * Single flight: however many callers find the token stale, one refresh runs in this page and all
   * of them get its result. `stale` is the access token the caller found wanting (null: none).
   */
  refresh(stale: string | null): Promise<StoredSession> {
    this.#inFlight ??= this.#refreshAcrossTabs(stale).finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  /** One refresh for all tabs: under the origin's lock, and only if no other tab did it meanwhile. */
  #refreshAcrossTabs(stale: string | null): Promise<StoredSession> {
    const { sync } = this.#state;
    const cookie = this.#options.storage === "cookie";
    const stampBefore = sync?.rotationStamp() ?? 0;
    return this.#state.exclusive(async (contended) => {
      let current = this.#state.read();
      if (current && current.accessToken !== stale && this.#isFresh(current)) return current;
      const rotatedMeanwhile = cookie && sync !== null && sync.rotationStamp() !== stampBefore;
      if (sync && (contended || rotatedMeanwhile)) {
        // Another tab held the lock, so it probably just rotated: its session is on the way by
        // message, which may arrive after the lock (and before this tab's view of localStorage
        // catches up). Waiting for it briefly keeps two tabs to one refresh request.
        const shared = await sync.waitForSession(rotatedMeanwhile ? sync.rotationStamp() : (current?.expiresAt ?? 0) + 1, 1_000);
        if (shared && this.#isFresh(shared)) return shared;
        current = this.#state.read();
      }
      if (!current && !cookie) throw this.#state.gone();
      return this.#rotate(current?.refreshToken ?? null);
    });
  }

  #isFresh(session: StoredSession): boolean {
    const leewayMs = Math.min((this.#options.refreshBeforeExpirySeconds ?? 30) * 1000, session.lifetimeMs / 2);
    return session.expiresAt - this.#env.now() > leewayMs;
  }

  /** `POST /auth/refresh`, and what follows from its answer. */
  async #rotate(refreshToken: string | null): Promise<StoredSession> {
    const sentAt = this.#env.now();
    const response = await this.#send(refreshToken);
    if (response.status >= 500) throw await errorFromResponse(response);
    // Refused (invalid_grant: revoked, expired, reused; or no cookie): the session is over.
    if (!response.ok) throw this.#state.refused(await errorFromResponse(response), response.status);
    return this.#state.accept(response, sentAt, "refresh");
  }

  /**
   * Sends the refresh, and sends it again with the same refresh token while the network fails or
   * the gateway answers 5xx, for up to `refreshRetrySeconds`. A lost answer does not mean the
   * gateway did not rotate: the same token again within its grace window gets the same successor
   * (refresh rule 4), so the user stays logged in.
   */
  async #send(refreshToken: string | null): Promise<Response> {
    const { now, sleep } = this.#env;
    const deadline = now() + (this.#options.refreshRetrySeconds ?? 8) * 1000;
    for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
      let response: Response | null = null;
      try {
        response = await this.#transport.post("/auth/refresh", refreshToken === null ? undefined : { refresh_token: refreshToken });
      } catch (error) {
        if (!(error instanceof AuthClientError) || error.code !== "network_error") throw error;
        if (now() + delay > deadline) throw error;
      }
      if (response && (response.status < 500 || now() + delay > deadline)) return response;
      await sleep(delay);
    }
  }
}

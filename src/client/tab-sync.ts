import type { StorageLike, StoredSession } from "./token-store.js";

/** The part of the Web Locks API the client uses (`navigator.locks`): waiting for a lock, and taking it only if it is free. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
  request<T>(name: string, options: { ifAvailable: true }, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

/** The part of `BroadcastChannel` the client uses. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  close(): void;
}

export type LogoutReason = "refresh_refused" | "logged_out";

/**
 * What one tab tells the others of the origin. A session message carries the session, tokens
 * included: only the origin's own tabs hear the channel, and they can read localStorage anyway
 * (in cookie mode, where nothing is stored, the message is how they learn the access token).
 */
export type TabMessage =
  | { type: "session"; event: "login" | "refresh"; sessionId: string; tokenType: string; expiresAt: number; session?: StoredSession }
  | { type: "logout"; reason: LogoutReason; sessionId: string | null };

/**
 * What tabs of one origin share: one Web Lock around every refresh, so that one tab rotates while
 * the others wait and then use its result, and a BroadcastChannel that tells every tab of a login,
 * a refresh or a logout. Either may be missing (an old browser, a worker, Node): without the lock
 * each tab refreshes for itself, which the gateway's grace window (refresh rule 4) tolerates;
 * without the channel tabs learn of each other's changes when they next read the session.
 */
export class TabSync {
  readonly #lockName: string;
  readonly #stampKey: string;
  readonly #locks: LockManagerLike | undefined;
  readonly #channel: ChannelLike | undefined;
  readonly #storage: StorageLike | undefined;
  readonly #waiters = new Set<(message: TabMessage) => void>();

  constructor(
    key: string,
    env: { locks?: LockManagerLike; BroadcastChannel?: new (name: string) => ChannelLike; storage?: StorageLike },
    onMessage: (message: TabMessage) => void,
  ) {
    this.#lockName = `${key}:refresh`;
    this.#stampKey = `${key}:rotation`;
    this.#locks = env.locks;
    this.#storage = env.storage;
    this.#channel = env.BroadcastChannel ? new env.BroadcastChannel(key) : undefined;
    this.#channel?.addEventListener("message", (event) => {
      const message = event.data as TabMessage;
      if (!message || (message.type !== "session" && message.type !== "logout")) return;
      onMessage(message);
      for (const waiter of this.#waiters) waiter(message);
    });
  }

  /**
   * Runs `task` holding the origin-wide refresh lock (or directly, without Web Locks), telling it
   * whether it had to wait for another tab (`contended`): that tab's refresh may have ended just
   * before, its message still on the way.
   */
  exclusive<T>(task: (contended: boolean) => Promise<T>): Promise<T> {
    const locks = this.#locks;
    if (!locks) return task(false);
    return locks.request(this.#lockName, { ifAvailable: true }, (lock) => (lock ? task(false) : locks.request(this.#lockName, () => task(true))));
  }

  post(message: TabMessage): void {
    this.#channel?.postMessage(message);
  }

  /**
   * Cookie mode keeps the access token in memory, so a tab that waited for the lock learns of the
   * other tab's refresh only by message, and a message may arrive just after the lock. This stamp
   * (no token in it) says that a rotation happened, so the tab knows to wait for the message
   * instead of rotating a second time.
   */
  rotationStamp(): number {
    return Number(this.#storage?.getItem(this.#stampKey) ?? 0) || 0;
  }

  setRotationStamp(expiresAt: number): void {
    try {
      this.#storage?.setItem(this.#stampKey, String(expiresAt));
    } catch {
      // Storage full or blocked: tabs then rotate one after another, which is still safe.
    }
  }

  /**
   * The next session message whose access token expires at `expiresAt` or later; null after
   * `timeoutMs` of the event loop (a message in flight, not the session's clock, is waited for).
   */
  waitForSession(expiresAt: number, timeoutMs: number): Promise<StoredSession | null> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (session: StoredSession | null) => {
        if (timer !== undefined) clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(session);
      };
      const waiter = (message: TabMessage) => {
        if (message.type === "session" && message.session && message.session.expiresAt >= expiresAt) done(message.session);
        else if (message.type === "logout") done(null);
      };
      this.#waiters.add(waiter);
      timer = setTimeout(() => done(null), timeoutMs);
    });
  }

  close(): void {
    this.#channel?.close();
  }
}

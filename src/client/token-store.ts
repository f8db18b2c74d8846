/** Where the client keeps the session: the refresh token's place is what the app chooses. */
export type StorageMode = "memory" | "localStorage" | "cookie";

/** What the client knows of the session; never holds a password. */
export interface StoredSession {
  accessToken: string;
  /** `token_type` of the token response: the scheme of `Authorization` (`Bearer`, or `DPoP` for a bound session). */
  tokenType: string;
  /** When the access token expires, in this machine's milliseconds since the epoch. */
  expiresAt: number;
  /** The access token's lifetime in milliseconds (`expires_in`). */
  lifetimeMs: number;
  sessionId: string;
  /** Null in cookie mode, where the `HttpOnly` cookie holds it and script never sees it. */
  refreshToken: string | null;
}

/** The part of the Web Storage API the client uses (`localStorage` fits). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface TokenStore {
  read(): StoredSession | null;
  write(session: StoredSession): void;
  clear(): void;
}

/** Memory (a page's lifetime) or `localStorage` (shared by the origin's tabs, kept across reloads). */
export function tokenStore(mode: StorageMode, key: string, storage: StorageLike | undefined): TokenStore {
  if (mode !== "localStorage") {
    let session: StoredSession | null = null;
    return {
      read: () => session,
      write: (next) => void (session = next),
      clear: () => void (session = null),
    };
  }
  if (!storage) throw new TypeError('storage: "localStorage" needs a localStorage (or pass environment.localStorage).');
  return {
    read: () => parseSession(storage.getItem(key)),
    write: (next) => storage.setItem(key, JSON.stringify(next)),
    clear: () => storage.removeItem(key),
  };
}

// Whatever another version, another library or a person left under the key: only a whole session
// counts, anything else reads as logged out.
function parseSession(raw: string | null): StoredSession | null {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<StoredSession>;
    const ok =
      typeof value.accessToken === "string" &&
      typeof value.tokenType === "string" &&
      typeof value.expiresAt === "number" &&
      typeof value.lifetimeMs === "number" &&
      typeof value.sessionId === "string" &&
      (typeof value.refreshToken === "string" || value.refreshToken === null);
    return ok ? (value as StoredSession) : null;
  } catch {
    return null;
  }
}

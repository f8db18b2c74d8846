import type { SessionSettings } from "../src/config";

/** The session settings of wrangler.toml's defaults, for the pure functions' tests, with `overrides`. */
export function sessionSettings(overrides: Partial<SessionSettings> = {}): SessionSettings {
  return {
    refreshIdleTtlSeconds: 14 * 86_400,
    sessionMaxTtlSeconds: 90 * 86_400,
    refreshReuseGraceSeconds: 10,
    reuseRevokes: "user",
    sessionRetentionSeconds: 7 * 86_400,
    maxSessionsPerUser: 100,
    auditRefreshEvents: true,
    ...overrides,
  };
}

import { describe, expect, it } from "vitest";
import {
  ageSession,
  eventsOf,
  onlyEvent,
  openSession,
  postJson,
  refresh,
  type TokenResponse,
  uniqueSub,
} from "../helpers";

// Audit events of reuse and expiry under REUSE_REVOKES=session, no grace window, a 60 s idle limit
// and a 300 s absolute one (vitest.config.ts, "strict-sessions").

const SECOND = 1000;
const IP = "198.51.100.23";
const fromIp = { "CF-Connecting-IP": IP };

function refreshFromIp(refreshToken: string) {
  return postJson("/auth/refresh", { refresh_token: refreshToken }, fromIp);
}

describe("audit events", () => {
  it("records refresh_token_reuse with generations_behind 1 and only the session itself under REUSE_REVOKES=session", async () => {
    const sub = uniqueSub();
    const stolen = await openSession(sub);
    const sibling = await openSession(sub);
    const rotationFrom = Date.now();
    expect((await refresh(stolen.refresh_token)).status).toBe(200);
    const rotationTo = Date.now();
    expect((await refreshFromIp(stolen.refresh_token)).status).toBe(400);

    const event = await onlyEvent(sub, "refresh_token_reuse", { from: rotationFrom });
    expect(event).toMatchObject({ session_id: stolen.session_id, ip: IP });
    expect(event.detail).toMatchObject({ generations_behind: 1, revoked_session_ids: [stolen.session_id] });
    const successor = Date.parse((event.detail as { successor_issued_at: string }).successor_issued_at);
    expect(successor).toBeGreaterThanOrEqual(rotationFrom - 1000);
    expect(successor).toBeLessThanOrEqual(rotationTo + 1000);
    expect((await refresh(sibling.refresh_token)).status).toBe(200);
  });

  it("records session_expired with the reason when a refresh finds the session past its limit", async () => {
    const sub = uniqueSub();
    let pair = await openSession(sub);
    // In use every 55 s until it is 301 s old: past the absolute limit, within the idle one.
    for (let round = 0; round < 5; round += 1) {
      await ageSession(sub, pair.session_id, 55 * SECOND);
      const rotated = await refresh(pair.refresh_token);
      expect(rotated.status).toBe(200);
      pair = (await rotated.json()) as TokenResponse;
    }
    await ageSession(sub, pair.session_id, 26 * SECOND);

    const from = Date.now();
    expect((await refreshFromIp(pair.refresh_token)).status).toBe(400);
    const event = await onlyEvent(sub, "session_expired", { from });
    expect(event).toMatchObject({ session_id: pair.session_id, ip: IP, detail: { reason: "max_lifetime" } });
  });
});

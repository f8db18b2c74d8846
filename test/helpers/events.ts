// The audit events, through the admin route.
import { expect } from "vitest";
import type { AuditEventItem, EventList } from "../../src/wire";
import { adminHeaders, call } from "./requests";
import { drainEvents } from "./queue";

/** The audit events of a user, newest first, through the admin route, once the user's events have drained. */
export async function eventsOf(sub: string, type?: string) {
  await drainEvents(sub);
  const query = new URLSearchParams({ sub, ...(type ? { type } : {}) });
  const response = await call(`/auth/admin/events?${query}`, { headers: adminHeaders });
  if (response.status !== 200) throw new Error(`events: ${response.status} ${await response.text()}`);
  return ((await response.json()) as EventList).events;
}

/** The audit events of one type from one client address, newest first (events of unknown users have no `sub`). */
export async function eventsFrom(ip: string, type: string) {
  // Each failed login's event was sent to the queue before its 401 (the throttle's flush starts
  // at once); what is left is the queue's part.
  await drainEvents();
  const response = await call(`/auth/admin/events?type=${type}&limit=1000`, { headers: adminHeaders });
  if (response.status !== 200) throw new Error(`events: ${response.status} ${await response.text()}`);
  return ((await response.json()) as EventList).events.filter((event) => event.ip === ip);
}

/** One audit event as `GET /auth/admin/events` returns it. */
export type AuditEventOnTheWire = AuditEventItem;

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The one event of `type` for `sub`, checked for the contract's fields and a time inside `window`. */
export async function onlyEvent(sub: string, type: string, window: { from: number; to?: number }): Promise<AuditEventOnTheWire> {
  const events = await eventsOf(sub, type);
  expect(events, type).toHaveLength(1);
  const event = events[0]!;
  expect(Object.keys(event).sort()).toEqual(["at", "detail", "ip", "session_id", "sub", "type"]);
  expect(event.type).toBe(type);
  expect(event.sub).toBe(sub);
  expect(event.at).toMatch(ISO_8601);
  expect(Date.parse(event.at)).toBeGreaterThanOrEqual(window.from - 1000);
  expect(Date.parse(event.at)).toBeLessThanOrEqual((window.to ?? Date.now()) + 1000);
  return event;
}

// Property-based: what a stranger at one address can make the login limits store. Whatever the
// usernames it tries (new ones, the same ones again in other cases) and however many requests it
// sends at once, after N failed logins from one address:
//   - at most min(N, LOGIN_MAX_FAILURES_PER_IP) of them were answered 401, and exactly those
//     were counted: one row in the address's object and one in that username's object;
//   - at most 1 + min(N, LOGIN_MAX_FAILURES_PER_IP) LoginThrottle objects store anything (the
//     address's, and one per username that got a verdict), holding at most
//     3 * min(N, LOGIN_MAX_FAILURES_PER_IP) rows (two attempts and one queued audit event per
//     counted failure);
//   - once the window has passed and their alarms ran, none of them stores anything.
// The default limits apply: 50 per address, 5 per username and address, 100 per username.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { attemptsIn, fromIp, letTimePass, login, storedIn, storesAnything, throttleOfAddress, throttleOfUsername, uniqueIp } from "../helpers";

const PER_IP = 50;
const PER_USERNAME_AND_IP = 5;
const WINDOW_SECONDS = 900;

/** A username the attacker tries: a new one, or (in another case) one it tried already. */
const attempt = fc.oneof(
  { weight: 4, arbitrary: fc.record({ fresh: fc.stringMatching(/^[a-z0-9._@-]{3,24}$/) }) },
  { weight: 1, arbitrary: fc.record({ again: fc.nat(), upper: fc.boolean() }) },
);

/** N attempts (past the address limit), sent in batches of parallel requests. */
const attack = fc.record({
  attempts: fc.array(attempt, { minLength: PER_IP + 5, maxLength: PER_IP + 40 }),
  batch: fc.integer({ min: 1, max: 12 }),
});

describe("failed logins from one address", () => {
  it("store a bounded number of objects and rows, and nothing once the window has passed", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(attack, async ({ attempts, batch }) => {
        const ip = uniqueIp();
        // Each run's new usernames are its own, whatever the other runs tried.
        const run = crypto.randomUUID().slice(0, 8);
        const tried: string[] = [];
        const usernames = attempts.map((next, index) => {
          if ("fresh" in next || tried.length === 0) {
            tried.push(`${"fresh" in next ? next.fresh : "first"}.${run}.${index}`);
            return tried.at(-1)!;
          }
          const username = tried[next.again % tried.length]!;
          return next.upper ? username.toUpperCase() : username;
        });

        const verdicts = new Map<string, number>();
        let counted = 0;
        for (let start = 0; start < usernames.length; start += batch) {
          const slice = usernames.slice(start, start + batch);
          const responses = await Promise.all(slice.map((username) => login(username, "wrong password", fromIp(ip))));
          for (const [index, response] of responses.entries()) {
            expect([401, 429], slice[index]).toContain(response.status);
            if (response.status !== 401) continue;
            counted += 1;
            const key = slice[index]!.toLowerCase();
            verdicts.set(key, (verdicts.get(key) ?? 0) + 1);
          }
        }

        const n = usernames.length;
        expect(counted).toBeLessThanOrEqual(Math.min(n, PER_IP));
        for (const [username, failures] of verdicts) expect(failures, username).toBeLessThanOrEqual(PER_USERNAME_AND_IP);
        expect(await attemptsIn(throttleOfAddress(ip))).toBe(counted);

        const throttles = [throttleOfAddress(ip), ...tried.map((username) => throttleOfUsername(username))];
        const stored = await Promise.all(throttles.map((throttle) => storedIn(throttle)));
        const storing = stored.filter((what) => what.tables.length > 0 || what.alarm !== null);
        expect(storing.length).toBe(1 + verdicts.size);
        expect(storing.length).toBeLessThanOrEqual(1 + Math.min(n, PER_IP));
        expect(stored.reduce((sum, what) => sum + what.rows, 0)).toBeLessThanOrEqual(3 * Math.min(n, PER_IP));
        for (const username of tried) {
          expect(await attemptsIn(throttleOfUsername(username)), username).toBe(verdicts.get(username.toLowerCase()) ?? 0);
        }

        for (const throttle of throttles) await letTimePass(throttle, WINDOW_SECONDS);
        for (const [index, throttle] of throttles.entries()) expect(await storesAnything(throttle), `object ${index}`).toBe(false);
      }),
      // A failing run is reported as it is: shrinking would replay hundreds of logins per step.
      { numRuns: 3, endOnFailure: true },
    );
  });
});

import { describe, expect, it } from "vitest";
import { ExpectedOutput } from "../expected-output.ts";

const REFUSED = '{"event":"refresh_refused","rule":5,"reason":"reuse","session_id":"4d8af8f3-ef67-47f5-9708-f9df96e2483c"}\n';
const D1_OFFLINE = "D1 write failed, 3 queue messages retried: D1_ERROR: no such table: events: SQLITE_ERROR\n";
const OFFLINE_TEST = 'await withD1TableOffline("events", async () => {});';
const WORKERD_REFUSED =
  "exception = rust/worker/ffi.rs:110: disconnected: Connection refused (os error 111)\nstack: /x/workerd@28a3c60 /x/workerd@3ac7580 /x/workerd@3692230\n";

describe("the output npm test hides (vitest.config.ts)", () => {
  it("hides the code's structured log lines from any test, and counts them by event", () => {
    const expected = new ExpectedOutput(true);
    expect(expected.isExpectedLog(REFUSED, undefined)).toBe(true);
    expect(expected.isExpectedLog('{"event":"cors_origin_not_allowed","origin":"https://a.example"}\n', "")).toBe(true);
    expect(expected.summary()).toBe(
      "Hid 2 messages the tests cause on purpose (1 refresh_refused, 1 cors_origin_not_allowed): test/expected-output.ts lists them; SHOW_EXPECTED_OUTPUT=1 npm test prints them.",
    );
  });

  it("hides an error a test provokes only in a test file that provokes it", () => {
    const expected = new ExpectedOutput(true);
    expect(expected.isExpectedLog(D1_OFFLINE, OFFLINE_TEST)).toBe(true);
    expect(expected.isExpectedLog(D1_OFFLINE, 'it("refreshes", async () => {});')).toBe(false);
    expect(expected.isExpectedLog(D1_OFFLINE, undefined)).toBe(false);
  });

  it("never hides anything else: another error, a message of several lines, a line with more on it", () => {
    const expected = new ExpectedOutput(true);
    for (const log of [
      "unhandled TypeError: Cannot read properties of undefined\n",
      `${REFUSED}${REFUSED}`,
      `${D1_OFFLINE.trim()} (and more)\n`,
      '{"event":"refresh_refused","detail":{"nested":true}}\n',
      "D1 write failed, 3 queued for retry: D1_ERROR: disk I/O error: SQLITE_IOERR\n",
    ]) {
      expect(expected.isExpectedLog(log, OFFLINE_TEST), log).toBe(false);
    }
    expect(expected.isExpectedRuntimeOutput("uncaught exception; source = Uncaught (in promise); stack = TypeError: boom\n")).toBe(false);
    expect(expected.summary()).toBeNull();
  });

  it("hides workerd's trace of a refused connection, one write with its stack line", () => {
    const expected = new ExpectedOutput(true);
    expect(expected.isExpectedRuntimeOutput(WORKERD_REFUSED)).toBe(true);
    expect(expected.isExpectedRuntimeOutput("uncaught exception; source = Uncaught (in promise); stack = Error: Network connection lost.\n")).toBe(true);
    expect(expected.isExpectedRuntimeOutput(`${WORKERD_REFUSED}${WORKERD_REFUSED}`)).toBe(false);
  });

  it("hides nothing when SHOW_EXPECTED_OUTPUT is set", () => {
    const expected = new ExpectedOutput(false);
    expect(expected.isExpectedLog(REFUSED, OFFLINE_TEST)).toBe(false);
    expect(expected.isExpectedRuntimeOutput(WORKERD_REFUSED)).toBe(false);
  });
});

import { afterEach, beforeEach, vi } from "vitest";

/**
 * The console lines (log, info, warn, error) the code under test writes during each test of the
 * file, still printed as usual: for asserting that no token, code or password reaches the log.
 * Call once at the top level of a test file; `lines` starts empty in every test.
 *
 * @example
 * const logs = capturedLogs();
 * it("never logs the token", async () => {
 *   ...
 *   expect(logs.lines.join("\n")).not.toContain(token);
 * });
 */
export function capturedLogs(): { lines: string[] } {
  const captured = { lines: [] as string[] };
  beforeEach(() => {
    captured.lines = [];
    for (const level of ["log", "info", "warn", "error"] as const) {
      const original = console[level].bind(console);
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        captured.lines.push(args.map(String).join(" "));
        original(...args);
      });
    }
  });
  afterEach(() => vi.restoreAllMocks());
  return captured;
}

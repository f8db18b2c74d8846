// The lines a green `npm test` would print because tests make the code log on purpose: a refused
// refresh logs `refresh_refused`, a D1 table taken offline logs the failed write, a bad setting
// logs `server_misconfigured`, and so on, hundreds of times. vitest.config.ts hides exactly these
// and says how many it hid in one line at the end; everything else is printed as it comes, so an
// unexpected error is never hidden. `SHOW_EXPECTED_OUTPUT=1 npm test` prints them all.

/** A line a test causes on purpose. */
export interface ExpectedLine {
  /** What the summary calls it; `$1` stands for the line's first group. */
  what: string;
  /** The whole message, exactly (one line; a multi-line message is never hidden). */
  line: RegExp;
  /**
   * Hidden only in a test file whose source matches: one that asserts the outcome the line goes
   * with, or uses the helper that causes it. Absent: the code's own structured log lines, which
   * are never errors, hidden anywhere.
   */
  provokedBy?: RegExp;
}

/** What the code under test writes with `console.*` (Vitest's `onConsoleLog`). */
export const EXPECTED_LOG_LINES: ExpectedLine[] = [
  {
    what: "$1",
    // One flat JSON object whose first member is the event: `refresh_refused`, `cors_origin_not_allowed`, ...
    line: /^\{"event":"([a-z_]+)"(?:,"[a-z_]+":(?:null|true|false|-?\d+|"(?:[^"\\]|\\.)*"))*\}$/,
  },
  {
    what: "D1 table offline",
    line: /^D1 (?:write failed, \d+ queue messages retried|unavailable \([a-z ]+\)): D1_ERROR: no such table: [a-z_]+: SQLITE_ERROR$/,
    provokedBy: /\bwithD1TableOffline\(/,
  },
  {
    what: "event queue refusing",
    line: /^event queue send failed, \d+ entries kept for retry: Queue sendBatch failed: Too Many Requests$/,
    provokedBy: /\bwithQueueRefusing\(/,
  },
  { what: "server_misconfigured", line: /^server_misconfigured: [^\n]+$/, provokedBy: /"server_misconfigured"/ },
  { what: "origin unreachable", line: /^origin unreachable: Network connection lost\.$/, provokedBy: /"bad_gateway"/ },
  { what: "unreadable password hash", line: /^stored password hash has an unknown format$/, provokedBy: /\bverifyPassword\(/ },
  { what: "housekeeping", line: /^housekeeping: purged \d+ session records and \d+ audit events$/, provokedBy: /\bscheduled\(/ },
];

/**
 * What workerd and wrangler print themselves (no test is known for it): workerd's trace of a
 * fetch to a closed port, which test/gateway.test.ts makes on purpose (workerd prints it even when
 * the fetch's rejection is caught), and wrangler saying it read .dev.vars, whose values the tests
 * blank (vitest.config.ts). Each is one write, its `stack:` line included.
 */
export const EXPECTED_RUNTIME_OUTPUT: ExpectedLine[] = [
  {
    what: "workerd: connection refused",
    line: /^exception = rust\/worker\/ffi\.rs:\d+: disconnected: Connection refused \(os error 111\)\nstack:(?: \S+@[0-9a-f]+)+\n$/,
  },
  {
    what: "workerd: connection refused",
    line: /^uncaught exception; (?:source = Uncaught \(in promise\); stack = Error|exception = workerd\/jsg\/value\.h:\d+: disconnected: jsg\.Error): Network connection lost\.\n(?:stack:(?: \S+@[0-9a-f]+)+\n)?$/,
  },
  { what: "wrangler: read .dev.vars", line: /^Using secrets defined in \.dev\.vars\n$/ },
  {
    // The tests' local queue drops a message the consumer retries instead of delivering it again
    // after its delay (vitest.config.ts, test/queue-ledger.ts); Miniflare says so.
    what: "local queue: retried message dropped",
    line: /^(?:\x1b\[[0-9;]*m)*\[mf:warn\](?:\x1b\[[0-9;]*m)* Dropped message "[0-9a-f]+" on queue "[a-z-]+" after 1 failed attempt!(?:\x1b\[[0-9;]*m)*\n$/,
  },
];

/** Counts what it hid, by name, for the summary. */
export class ExpectedOutput {
  readonly #hidden = new Map<string, number>();
  readonly #enabled: boolean;

  constructor(enabled: boolean) {
    this.#enabled = enabled;
  }

  /** Whether a console message of the test file whose source is `source` (undefined: none known) is expected. */
  isExpectedLog(log: string, source: string | undefined): boolean {
    const message = log.endsWith("\n") ? log.slice(0, -1) : log;
    return this.#hide(EXPECTED_LOG_LINES, message, (entry) => entry.provokedBy === undefined || (source !== undefined && entry.provokedBy.test(source)));
  }

  /** Whether one write of workerd's or wrangler's own output is expected. */
  isExpectedRuntimeOutput(chunk: string): boolean {
    return this.#hide(EXPECTED_RUNTIME_OUTPUT, chunk, () => true);
  }

  /** One line saying what was hidden, or null when nothing was. */
  summary(): string | null {
    const total = [...this.#hidden.values()].reduce((sum, count) => sum + count, 0);
    if (total === 0) return null;
    const parts = [...this.#hidden].sort((a, b) => b[1] - a[1]).map(([what, count]) => `${count} ${what}`);
    return `Hid ${total} messages the tests cause on purpose (${parts.join(", ")}): test/expected-output.ts lists them; SHOW_EXPECTED_OUTPUT=1 npm test prints them.`;
  }

  #hide(entries: ExpectedLine[], text: string, applies: (entry: ExpectedLine) => boolean): boolean {
    if (!this.#enabled) return false;
    for (const entry of entries) {
      const match = entry.line.exec(text);
      if (match === null || !applies(entry)) continue;
      const what = entry.what.replace("$1", match[1] ?? "");
      this.#hidden.set(what, (this.#hidden.get(what) ?? 0) + 1);
      return true;
    }
    return false;
  }
}

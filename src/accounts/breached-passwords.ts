import { readAtMost } from "../bounded-read";
import type { Config } from "../config";
import { AuthError } from "../errors/auth-error";

/**
 * The breached-password check (`PWNED_PASSWORDS`): the k-anonymity range API of Have I Been
 * Pwned. Only the first 5 hex characters of the password's SHA-1 leave the worker; the API
 * answers every suffix it knows under that prefix (`SUFFIX:COUNT` lines), padded with fake
 * suffixes of count 0 (`Add-Padding: true`) so that the answer's size does not reveal the prefix
 * either, and the match is made here.
 *
 * Ten lines on WebCrypto's SHA-1 rather than a client library (`hibp` and the like): the
 * protocol is one GET and a line split, a library would add a dependency for it, and none lets
 * us set the 2 s budget, the padding header and the fail-open rule the way the contract wants.
 */

/** The budget of one check; past it the password is let through (logged). */
export const RANGE_API_TIMEOUT_MS = 2_000;
/** An answer larger than this is not a range answer (real ones are about 30 KB padded). */
const MAX_ANSWER_BYTES = 1_000_000;
const LINE = /^([0-9A-F]{35}):(\d{1,12})$/;

/** What the check found: in a breach, not in one, or not known (the API failed: let through). */
export type BreachVerdict = "breached" | "not_found" | "unknown";

/**
 * Asks the range API about `password`. Never throws: a failure, a timeout or an answer that is
 * not a range answer is `unknown`, with one log line that names the problem and never the
 * password or its hash.
 */
export async function breachVerdict(url: URL, password: string): Promise<BreachVerdict> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(password)));
  const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("").toUpperCase();
  const prefix = hex.slice(0, 5);
  const suffix = hex.slice(5);
  try {
    const response = await fetch(new URL(prefix, url.href.endsWith("/") ? url : `${url.href}/`), {
      headers: { "Add-Padding": "true" },
      signal: AbortSignal.timeout(RANGE_API_TIMEOUT_MS),
      redirect: "manual",
    });
    if (response.status !== 200) throw new Error(`answered ${response.status}`);
    const body = await readAtMost(response, MAX_ANSWER_BYTES);
    if (body === null) throw new Error(`answered more than ${MAX_ANSWER_BYTES} bytes`);
    const text = new TextDecoder().decode(body);
    const lines = text.split(/\r?\n/).filter((line) => line !== "");
    let found = false;
    for (const line of lines) {
      const match = LINE.exec(line.trim().toUpperCase());
      if (!match) throw new Error("answered something that is not a range answer");
      // Padding lines have count 0: not a breach.
      if (match[1] === suffix && Number(match[2]) > 0) found = true;
    }
    return found ? "breached" : "not_found";
  } catch (error) {
    const problem = (error as Error).name === "TimeoutError" ? `no answer within ${RANGE_API_TIMEOUT_MS} ms` : (error as Error).message;
    console.warn(JSON.stringify({ event: "breached_password_check_failed", problem, outcome: "let through" }));
    return "unknown";
  }
}

/**
 * The check as a route applies it to a new password: with `block`, a breached password is 400
 * `breached_password`; with `warn`, the answer says whether it was breached; with `off`, nothing
 * is asked.
 *
 * @example
 * const { breached } = await screenNewPassword(c.get("config"), password);
 */
export async function screenNewPassword(config: Config, password: string): Promise<{ breached: boolean }> {
  const { mode, url } = config.pwnedPasswords;
  if (mode === "off" || url === null) return { breached: false };
  const breached = (await breachVerdict(url, password)) === "breached";
  if (breached && mode === "block") {
    throw new AuthError("breached_password", 400, "This password appears in a known data breach: choose another.");
  }
  return { breached };
}

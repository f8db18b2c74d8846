/**
 * A filter for log lines about a condition that holds on every request until someone fixes it (a
 * bad setting, a page on an origin that `ALLOWED_ORIGINS` leaves out): the operator needs to read
 * it once per isolate, not once per request. `firstTime(key)` is true the first time it sees
 * `key`, and false after. It remembers at most `max` keys, forgetting the oldest first, so a
 * client that varies the key (an `Origin` header is the client's to choose) cannot grow the
 * isolate's memory; such a client gets a line logged again once it has pushed the key out.
 *
 * @example
 * const firstTime = firstTimeFilter(64);
 * if (firstTime(description)) console.error(`server_misconfigured: ${description}`);
 */
export function firstTimeFilter(max: number): (key: string) => boolean {
  const seen = new Set<string>();
  return function firstTime(key: string): boolean {
    if (seen.has(key)) return false;
    // A Set iterates in insertion order: its first value is the oldest.
    if (seen.size >= max) seen.delete(seen.values().next().value!);
    seen.add(key);
    return true;
  };
}

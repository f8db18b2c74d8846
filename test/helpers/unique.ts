// Names, addresses and user ids of a test's own, so that tests sharing a worker's storage never mix.
/** A username of its own per test, so login limits and users never mix tests. */
export function uniqueUsername(label = "user"): string {
  return `${label}.${crypto.randomUUID().slice(0, 8)}`;
}

/** A client address of its own per test, so per-IP limits and event filters never mix tests. */
export function uniqueIp(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  return `10.${bytes[0]}.${bytes[1]}.${bytes[2]}`;
}

/** A unique user id per test, so tests never share a Durable Object. */
export function uniqueSub(label = "user"): string {
  return `${label}-${crypto.randomUUID()}`;
}

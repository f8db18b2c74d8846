// Work the password hashing did, seen without timing it.
import { vi } from "vitest";

/** One PBKDF2 key derivation, without its salt bytes. */
export interface Pbkdf2Run {
  hash: unknown;
  iterations: number;
  saltBytes: number;
  bits: number | null | undefined;
}

/**
 * The PBKDF2 derivations that ran while `action` did (WebCrypto's `deriveBits` is watched for its
 * duration, in this isolate: the test, the worker and its Durable Objects). Proves that work was
 * done without timing it.
 */
export async function pbkdf2RunsDuring(action: () => Promise<unknown>): Promise<Pbkdf2Run[]> {
  const spy = vi.spyOn(crypto.subtle, "deriveBits");
  let calls: typeof spy.mock.calls;
  try {
    await action();
  } finally {
    calls = [...spy.mock.calls];
    spy.mockRestore();
  }
  return calls.flatMap(([algorithm, , length]) => {
    if (typeof algorithm !== "object" || algorithm.name !== "PBKDF2") return [];
    const { hash, iterations, salt } = algorithm;
    return [{ hash, iterations: iterations ?? NaN, saltBytes: salt?.byteLength ?? 0, bits: length }];
  });
}

/**
 * Evens out what a login's timing tells about its username's LoginThrottle object.
 *
 * The first call an object instance serves costs more than later ones (the runtime creates the
 * instance, and a new object its tables): a few milliseconds in workerd, which is enough for
 * anyone to tell, from one failed login, whether the username was tried recently by someone
 * else. So the worker keeps the durations of recent first and later calls, and after a later call
 * waits the difference of their medians: both cost what a first use costs. Waiting costs wall
 * time only, no CPU. What remains is said in SECURITY.md.
 */

/** Durations kept per kind of call: enough for a steady median, few enough to follow the load. */
export const SAMPLES = 64;
/** The longest wait added to a login, whatever the samples say. */
export const MAX_PADDING_MS = 200;

/** Recent call durations in milliseconds, newest last, at most SAMPLES of each kind. */
export interface CallDurations {
  firstUse: number[];
  later: number[];
}

/** The durations with one more sample of a call (pure: returns a new record). */
export function withSample(durations: CallDurations, firstUse: boolean, ms: number): CallDurations {
  const kind = firstUse ? "firstUse" : "later";
  return { ...durations, [kind]: [...durations[kind], Math.max(0, ms)].slice(-SAMPLES) };
}

/**
 * How long to wait after a call so that it costs what a first use does: nothing after a first
 * use or before both kinds were seen, else the difference of the medians, at most MAX_PADDING_MS.
 */
export function paddingMs(durations: CallDurations, firstUse: boolean): number {
  if (firstUse || durations.firstUse.length === 0 || durations.later.length === 0) return 0;
  return Math.min(MAX_PADDING_MS, Math.max(0, median(durations.firstUse) - median(durations.later)));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The durations seen by this isolate, shared by its requests. */
let seen: CallDurations = { firstUse: [], later: [] };

/**
 * Runs `call` to a username's object, records how long it took, and after a later call waits
 * the difference to a first use (see above). `firstUse` tells from the result whether the call
 * was the instance's first, or null for a result that is neither timed nor evened out (a refusal,
 * which tells more than its timing anyway).
 */
export async function evenedOut<T>(call: () => Promise<T>, firstUse: (result: T) => boolean | null): Promise<T> {
  // Date.now() moves on at I/O in Workers, which the call is: its duration is what a client sees.
  const started = Date.now();
  const result = await call();
  const first = firstUse(result);
  if (first === null) return result;
  const wait = paddingMs(seen, first);
  seen = withSample(seen, first, Date.now() - started);
  if (wait > 0) await scheduler.wait(wait);
  return result;
}

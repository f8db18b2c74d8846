import { temporarilyUnavailable } from "../errors/auth-error";

/** How long a client is asked to wait when D1 cannot be reached: long enough for a blip to pass. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Runs a D1 request for a route that cannot answer without it (register, the user lookup of
 * login, the admin event listing). Any D1 failure becomes 503 `temporarily_unavailable` with
 * `Retry-After` instead of a 500; the D1 message goes to the log only. Routes that do not read D1
 * never call this, so they keep working while D1 is away.
 */
export async function requireD1<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    console.error(`D1 unavailable (${what}): ${(error as Error).message}`);
    throw temporarilyUnavailable("The user database is unavailable. Try again shortly.", RETRY_AFTER_SECONDS);
  }
}

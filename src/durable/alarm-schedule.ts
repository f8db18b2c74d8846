/**
 * The one alarm of a Durable Object, shared by everything that needs a wake-up (outbox retries,
 * expiry, purges): each asks for a time and the alarm is moved earlier, never later. The time
 * set is mirrored in memory so that asking costs no storage read.
 */
export class AlarmSchedule {
  #at: number | null = null;

  constructor(private readonly ctx: DurableObjectState) {
    // Async start-up only: learn whether an alarm is already set before serving anything.
    void ctx.blockConcurrencyWhile(async () => {
      this.#at = await ctx.storage.getAlarm();
    });
  }

  /** Makes sure the alarm fires no later than `at` (null: nothing to ask for). */
  noLaterThan(at: number | null): void {
    if (at === null || (this.#at !== null && this.#at <= at)) return;
    this.#at = at;
    void this.ctx.storage.setAlarm(at);
  }

  /** Call first thing in `alarm()`: the alarm that was set has fired and is gone. */
  fired(): void {
    this.#at = null;
  }
}

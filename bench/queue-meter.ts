import type { EventMessage } from "../src/events/messages";

// What the EVENTS queue's consumer did in this bench worker: its batches, the messages in them,
// the D1 calls it made, and whether a batch is being handled right now. The consumer is the
// production one (src/events/consumer.ts); the bench worker hands it an env whose D1 binding
// counts each call on the way through, and nothing else differs.

type QueueHandler = (batch: MessageBatch<EventMessage>, env: Env, ctx: ExecutionContext) => Promise<void>;

const meter = { batches: 0, messages: 0, d1Calls: 0, inFlight: 0 };
const UNWRAP = Symbol("unwrap");

/** The counters so far (a copy). */
export function queueMeter() {
  return { ...meter };
}

/** The production `queue` handler, metered. */
export function meteredQueue(handler: QueueHandler): QueueHandler {
  return async function meteredQueueHandler(batch, env, ctx) {
    meter.batches += 1;
    meter.messages += batch.messages.length;
    meter.inFlight += 1;
    try {
      await handler(batch, { ...env, DB: countingD1(env.DB) }, ctx);
    } finally {
      meter.inFlight -= 1;
    }
  };
}

/** `db`, counting every call that reaches D1: a `batch`, an `exec`, or one statement run alone. */
function countingD1(db: D1Database): D1Database {
  const counted = <T>(call: () => Promise<T>) => {
    meter.d1Calls += 1;
    return call();
  };
  const statement = (prepared: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(prepared, {
      get(target, name) {
        if (name === UNWRAP) return target;
        if (name === "bind") return (...values: unknown[]) => statement(target.bind(...values));
        if (name === "run" || name === "all" || name === "first" || name === "raw") {
          return (...args: unknown[]) => counted(() => (target[name] as (...a: unknown[]) => Promise<unknown>)(...args));
        }
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(db, {
    get(target, name) {
      if (name === "prepare") return (query: string) => statement(target.prepare(query));
      // The statements go to D1 as they are: D1 wants its own objects, not these proxies.
      if (name === "batch") return (statements: D1PreparedStatement[]) => counted(() => target.batch(statements.map(unwrapped)));
      if (name === "exec") return (query: string) => counted(() => target.exec(query));
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function unwrapped(statement: D1PreparedStatement): D1PreparedStatement {
  return ((statement as unknown as Record<symbol, D1PreparedStatement>)[UNWRAP] ?? statement) as D1PreparedStatement;
}

// The load generator of `npm run bench`: a bounded number of requests from a number of concurrent
// clients (Node's fetch, one connection each), with latencies and errors, and the statistics the
// report prints.

/**
 * Sends requests from `concurrency` clients until `limit` have been sent or `seconds` have passed.
 * `send(client)` returns a Response; every body is read, anything but a 2xx counts as an error.
 */
export async function measure(send, { concurrency, limit, seconds }) {
  const latencies = [];
  let sent = 0;
  let errors = 0;
  let firstError = null;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  async function client(index) {
    while (sent < limit && performance.now() < deadline) {
      sent += 1;
      const t0 = performance.now();
      try {
        const response = await send(index);
        await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (!response.ok) {
          errors += 1;
          firstError ??= `HTTP ${response.status}`;
        }
      } catch (error) {
        errors += 1;
        firstError ??= error.message;
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, index) => client(index)));
  return { latencies, errors, firstError, seconds: (performance.now() - started) / 1000 };
}

/** Merges the samples of one scenario: requests/s over the time it ran, percentiles over all latencies. */
export function combine(samples) {
  const latencies = samples.flatMap((sample) => sample.latencies).sort((x, y) => x - y);
  const seconds = samples.reduce((sum, sample) => sum + sample.seconds, 0);
  return {
    requests: latencies.length,
    errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
    firstError: samples.find((sample) => sample.firstError)?.firstError ?? null,
    seconds,
    rps: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

/** The q-quantile of sorted numbers (nearest rank). */
export function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export function median(numbers) {
  return quantile([...numbers].sort((x, y) => x - y), 0.5);
}

/**
 * Runs the sides of one comparison in turns: each round gives every side its share of requests
 * and time, so a change in the machine's load hits them alike, and the ratios (each side over
 * the first) are the medians of the rounds' own ratios, which a burst of load in one round cannot
 * skew. A round carries at least two requests per client (fewer rounds when there are many
 * clients), so that every client is busy most of the round. Warms every side up first. On a
 * machine too slow for its bounds, rounds stop once the comparison has had its time (every side's
 * `seconds` and warm-up), after at least one: `rounds` says how many ran.
 * `ratio` is the second side's over the first, `ratios[i]` side i's over the first (`ratioOf`).
 */
export async function interleaved(sides, { rounds: maxRounds, warmup, seconds }) {
  const [first] = sides;
  const started = performance.now();
  // The warm-up gets a quarter of a side's time, so a slow machine spends it measuring.
  for (const side of sides) {
    await measure(side.send, { concurrency: side.concurrency, limit: Math.max(warmup, side.concurrency), seconds: seconds / 4 });
  }
  const planned = Math.max(1, Math.min(maxRounds, Math.floor(first.limit / (2 * first.concurrency))));
  const samples = sides.map(() => []);
  const deadline = started + sides.length * seconds * 1.25 * 1000;
  let rounds = 0;
  for (let round = 0; round < planned && (round === 0 || performance.now() < deadline); round += 1) {
    rounds += 1;
    // Rotate who goes first, so no side always runs right after the same other one.
    for (let turn = 0; turn < sides.length; turn += 1) {
      const index = (turn + round) % sides.length;
      const side = sides[index];
      samples[index].push(await measure(side.send, { concurrency: side.concurrency, limit: Math.ceil(side.limit / planned), seconds: seconds / planned }));
    }
  }
  const perRound = samples.map((sideSamples) => sideSamples.map((sample) => pick(combine([sample]), ["rps", "p50"])));
  const scenarios = sides.map((side, index) => ({ name: side.name, concurrency: side.concurrency, ...combine(samples[index]) }));
  const comparison = { rounds, scenarios, perRound };
  const ratios = sides.map((_, index) => ratioOf(comparison, index, 0));
  return { ...comparison, ratio: ratios[1], ratios };
}

/**
 * Side `index` of an `interleaved` comparison over side `baseline`: req/s and p50 as the medians
 * of the rounds' own ratios, p99 as the ratio of the p99s over all rounds (a round holds too few
 * requests for its own p99).
 */
export function ratioOf({ scenarios, perRound }, index, baseline) {
  const over = (field) => median(perRound[index].map((sample, round) => sample[field] / perRound[baseline][round][field]));
  return { rps: over("rps"), p50: over("p50"), p99: scenarios[index].p99 / scenarios[baseline].p99 };
}

function pick(object, names) {
  return Object.fromEntries(names.map((name) => [name, object[name]]));
}

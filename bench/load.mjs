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
 * Runs the two sides of one comparison in turns: each round gives both their share of requests
 * and time, so a change in the machine's load hits them alike, and the ratios (second side over
 * first) are the medians of the rounds' own ratios, which a burst of load in one round cannot
 * skew. A round carries at least two requests per client (fewer rounds when there are many
 * clients), so that every client is busy most of the round. Warms both sides up first.
 */
export async function interleaved([first, second], { rounds: maxRounds, warmup, seconds }) {
  const sides = [first, second];
  for (const side of sides) {
    await measure(side.send, { concurrency: side.concurrency, limit: Math.max(warmup, side.concurrency), seconds });
  }
  const rounds = Math.max(1, Math.min(maxRounds, Math.floor(first.limit / (2 * first.concurrency))));
  const samples = [[], []];
  for (let round = 0; round < rounds; round += 1) {
    // Alternate who goes first, so neither always runs right after the other.
    for (const index of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const side = sides[index];
      samples[index].push(await measure(side.send, { concurrency: side.concurrency, limit: Math.ceil(side.limit / rounds), seconds: seconds / rounds }));
    }
  }
  const perRound = samples.map((sideSamples) => sideSamples.map((sample) => combine([sample])));
  return {
    rounds,
    scenarios: sides.map((side, index) => ({ name: side.name, concurrency: side.concurrency, ...combine(samples[index]) })),
    ratio: {
      rps: median(perRound[1].map((sample, round) => sample.rps / perRound[0][round].rps)),
      p50: median(perRound[1].map((sample, round) => sample.p50 / perRound[0][round].p50)),
    },
  };
}

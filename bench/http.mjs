// The HTTP client side of `npm run bench`: requests to the bench worker (bench/worker.ts) with
// a time bound, and the few calls every scenario makes.

export const REQUEST_TIMEOUT_MS = 30_000;

/** Requests to the bench worker at `base`; `adminToken` is its ADMIN_API_TOKEN. */
export function benchClient({ base, adminToken }) {
  /** The admin token's header: the admin routes and the bench routes require it. */
  const admin = () => ({ Authorization: `Bearer ${adminToken}` });
  async function settledQueue() {
    let last = null;
    for (let attempt = 0; attempt < 60; attempt += 1) {
      const current = await json(await get(`${base}/bench/events-queue`, admin()));
      const idle = current.backlog === 0 && current.inFlight === 0;
      if (idle && last !== null && last.batches === current.batches && last.messages === current.messages) return current;
      last = idle ? current : null;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    throw new Error("the events queue did not settle within 60 s");
  }
  return {
    base,
    admin,
    get,
    post,
    json,
    /** A new session for `sub` through `POST /auth/admin/sessions` (with `claims`, if given): its token response. */
    async openSession(sub, claims) {
      const response = await post(`${base}/auth/admin/sessions`, claims ? { sub, claims } : { sub }, REQUEST_TIMEOUT_MS, admin());
      if (response.status !== 201) throw new Error(`POST /auth/admin/sessions answered ${response.status}: ${await response.text()}`);
      return response.json();
    },
    /**
     * What the bench worker's EVENTS queue consumer has done (`GET /bench/events-queue`), once
     * nothing waits in the queue and no batch is in hand on two reads a second apart: everything
     * the objects sent has been handled.
     */
    settledQueue,
    /**
     * What reached D1 from the users under `prefix` (`GET /bench/d1-writes`), once the queue has
     * settled and two reads a second apart agree (the outboxes and the queue have drained).
     */
    async settledD1Writes(prefix) {
      await settledQueue();
      let last = null;
      for (let attempt = 0; attempt < 30; attempt += 1) {
        const current = await json(await get(`${base}/bench/d1-writes?prefix=${encodeURIComponent(prefix)}`, admin()));
        if (last !== null && JSON.stringify(current) === JSON.stringify(last)) return current;
        last = current;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      throw new Error("D1 writes did not settle within 30 s");
    },
    /** `POST /auth/refresh` with one refresh token. */
    refresh(refreshToken, headers = {}) {
      return post(`${base}/auth/refresh`, { refresh_token: refreshToken }, REQUEST_TIMEOUT_MS, headers);
    },
  };
}

export function get(url, headers = {}) {
  return fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

export function post(url, body, timeoutMs = REQUEST_TIMEOUT_MS, headers = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** The JSON body of a 2xx response; throws with the body of anything else. */
export async function json(response) {
  if (!response.ok) throw new Error(`${response.url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Runs `task(index)` for 0 to count - 1 with at most `concurrency` at a time. */
export async function inParallel(count, concurrency, task) {
  const results = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, concurrency) }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}

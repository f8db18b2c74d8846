// The race of `npm run bench`: one refresh token sent by many requests at once, as several tabs
// or a retrying client send it, against this gateway and each peer (bench/peers.mjs).
import { benchClient } from "./http.mjs";

export const RACE_CLIENTS = 50;

/**
 * Opens a session with `open()` (resolving to `{ token, ... }`), sends its refresh token in
 * `clients` refreshes at once (`refresh(session, token)`, real parallel fetches), calls
 * `afterRace()` (what it resolves to is the outcome's `recorded`), then tries each distinct
 * successor that came back once, one after another. A successor "works" when its own refresh
 * succeeds; the user is logged out when none does.
 */
export async function raceOnOneToken({ open, refresh, afterRace = async () => null }, clients = RACE_CLIENTS) {
  const session = await open();
  const answers = await Promise.all(
    Array.from({ length: clients }, async () => {
      const response = await refresh(session, session.token);
      const body = await response.json().catch(() => null);
      return { status: response.status, successor: response.ok ? body?.refresh_token : null };
    }),
  );
  const recorded = await afterRace();
  const successors = [...new Set(answers.flatMap((answer) => (typeof answer.successor === "string" ? [answer.successor] : [])))];
  let working = 0;
  for (const successor of successors) {
    const response = await refresh(session, successor);
    await response.arrayBuffer();
    if (response.ok) working += 1;
  }
  const statuses = {};
  for (const { status } of answers) statuses[status] = (statuses[status] ?? 0) + 1;
  return {
    clients,
    succeeded: answers.filter((answer) => answer.successor !== null).length,
    statuses,
    distinctSuccessors: successors.length,
    successorsThatWork: working,
    loggedOut: working === 0,
    recorded,
  };
}

/** The race against the bench worker at `base` (its ADMIN_API_TOKEN `adminToken`): one session of `sub`; and the audit events the race left in D1. */
export async function raceGateway({ base, adminToken, name, sub, log }) {
  log(`race: ${RACE_CLIENTS} refreshes of one token at once, ${name}`);
  const client = benchClient({ base, adminToken });
  const outcome = await raceOnOneToken({
    open: async () => ({ token: (await client.openSession(sub)).refresh_token }),
    refresh: (_session, token) => client.refresh(token),
    // What the race itself left in D1, before its successors are tried.
    afterRace: async () => (await client.settledD1Writes(sub)).eventTypes,
  });
  return { name, ...outcome, events: outcome.recorded };
}

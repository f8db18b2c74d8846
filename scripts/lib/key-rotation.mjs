// Signing-key rotation as pure steps on a key set (the JSON of SIGNING_KEYS): each step takes the
// set, the time and, where it adds one, the new key, and returns the next set, or throws a
// KeySetError saying why not and what to do. No I/O, no clock: scripts/keys.mjs reads and writes.
//
// The worker signs with the first key and verifies with all of them. A set also records where it
// is in a rotation, in two members beside `keys` that the worker ignores and never publishes (RFC
// 7517 section 5: a JWK set may carry more members, and those not understood are ignored):
//
//   "signer_since": "2026-12-01T10:00:00.000Z"   when the first key began to sign
//   "pending": { "kid": "...", "published_at": "..." }   a key published (second), not signing yet
//
// so that `promote` knows which key to move first, and `retire` when the tokens the older keys
// signed have all expired.
import { KeySetError } from "./signing-keys.mjs";

/** How long a verifier may keep the JWKS before it sees a new key (its Cache-Control, src/routes/well-known.ts). */
export const JWKS_MAX_AGE_SECONDS = 300;

const iso = (ms) => new Date(ms).toISOString();

/** A set of one key, which signs from `now`. */
export function newKeySet(key, now) {
  return { keys: [key], signer_since: iso(now) };
}

/**
 * Rotation in one step: `key` signs from `now` on, every key of `set` stays to verify the tokens
 * it signed. Verifiers that cache the JWKS meet the new kid before they have fetched it; `add`
 * then `promote` spares them that.
 */
export function rotateKey(set, key, now) {
  refuseWhilePending(set, "rotate");
  refuseTakenKid(set, key);
  return { keys: [key, ...set.keys], signer_since: iso(now) };
}

/**
 * Rotation, step 1: `key` goes second, so it is published and verifies, while the current signer
 * keeps signing until `promote`.
 */
export function addKey(set, key, now) {
  refuseWhilePending(set, "add");
  refuseTakenKid(set, key);
  const [signer, ...others] = set.keys;
  return { keys: [signer, key, ...others], ...since(set), pending: { kid: key.kid, published_at: iso(now) } };
}

/**
 * Rotation, step 2: the key `add` published signs from `now` on; the previous signer stays to
 * verify. Refused until everything that caches the JWKS has had time to see the key, unless `force`.
 */
export function promoteKey(set, now, { force = false } = {}) {
  const pending = pendingOf(set);
  if (pending === null) throw new KeySetError('no key is waiting to sign: `add` publishes one first (or `rotate` does both steps at once).');
  const ready = Date.parse(pending.published_at) + JWKS_MAX_AGE_SECONDS * 1000;
  if (now < ready && !force) {
    throw new KeySetError(
      `"${pending.kid}" was published at ${pending.published_at}; a verifier may keep the old JWKS for ${JWKS_MAX_AGE_SECONDS} s, ` +
        `so promote it after ${iso(ready)} (or now with --force, if only the gateway verifies your tokens).`,
    );
  }
  const key = set.keys.find((candidate) => candidate.kid === pending.kid);
  return { keys: [key, ...set.keys.filter((candidate) => candidate !== key)], signer_since: iso(now) };
}

/**
 * Rotation, last step: drops the keys that no longer sign (every key but the signer and a pending
 * one), once `waitSeconds` (the access-token lifetime plus the clock skew the gateway allows) have
 * passed since the signer began to sign: every access token an older key signed has expired by
 * then. Refused before, or when the set does not say when that was, unless `force`. Returns the
 * next set and the kids it dropped.
 */
export function retireKeys(set, now, { waitSeconds, force = false }) {
  const pending = pendingOf(set);
  const keep = (key, index) => index === 0 || key.kid === pending?.kid;
  const dropped = set.keys.filter((key, index) => !keep(key, index)).map((key) => key.kid);
  if (dropped.length === 0) throw new KeySetError(`nothing to retire: the set holds no key but the signer "${set.keys[0].kid}"${pending ? " and the pending one" : ""}.`);
  if (!force) {
    const since = set.signer_since === undefined ? NaN : Date.parse(set.signer_since);
    if (Number.isNaN(since)) {
      throw new KeySetError(
        `the set does not say when "${set.keys[0].kid}" began to sign; once ${waitSeconds} s have passed since then, retire with --force.`,
      );
    }
    const safe = since + waitSeconds * 1000;
    if (now < safe) {
      throw new KeySetError(
        `"${set.keys[0].kid}" signs since ${set.signer_since}; tokens the older keys signed may be valid for ${waitSeconds} s after that ` +
          `(access-token lifetime plus clock skew), so retire after ${iso(safe)}.`,
      );
    }
  }
  return { set: { keys: set.keys.filter(keep), ...since(set), ...(pending ? { pending } : {}) }, dropped };
}

/** The rotation members of a set read from a file: refuses ones this module did not write. */
export function checkedRotationState(set) {
  if (set.signer_since !== undefined && Number.isNaN(Date.parse(set.signer_since))) throw new KeySetError('its "signer_since" is not a time.');
  const pending = set.pending;
  if (pending === undefined) return;
  const index = set.keys.findIndex((key) => key.kid === pending?.kid);
  if (index < 1 || Number.isNaN(Date.parse(pending.published_at))) throw new KeySetError('its "pending" names no published key other than the signer.');
}

function pendingOf(set) {
  return set.pending ?? null;
}

function since(set) {
  return set.signer_since === undefined ? {} : { signer_since: set.signer_since };
}

function refuseWhilePending(set, step) {
  const pending = pendingOf(set);
  if (pending !== null) throw new KeySetError(`"${pending.kid}" is published and waiting to sign: \`promote\` it before you ${step} another key.`);
}

function refuseTakenKid(set, key) {
  if (set.keys.some((old) => old.kid === key.kid)) throw new KeySetError(`kid "${key.kid}" is already in the key set; choose another --kid.`);
}

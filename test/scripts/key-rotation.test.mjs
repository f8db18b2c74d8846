import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addKey, JWKS_MAX_AGE_SECONDS, newKeySet, promoteKey, retireKeys, rotateKey } from "../../scripts/lib/key-rotation.mjs";
import { ROOT } from "../../scripts/lib/dev-vars.mjs";
import { checkedKeySet, newSigningKey } from "../../scripts/lib/signing-keys.mjs";

const T0 = Date.parse("2026-12-01T10:00:00.000Z");
const SECOND = 1000;
const WAIT = 330; // ACCESS_TOKEN_TTL_SECONDS 300 + CLOCK_SKEW_SECONDS 30
const kids = (set) => set.keys.map((key) => key.kid);

async function key(kid) {
  return newSigningKey({ kid });
}

/** A set whose signer "old" has signed since T0. */
async function oneKeySet() {
  return newKeySet(await key("old"), T0);
}

describe("key rotation in one step (rotate)", () => {
  it("puts the new key first, so it signs, and keeps every old key after it to verify", async () => {
    const set = await oneKeySet();
    const next = rotateKey(set, await key("new"), T0 + 60 * SECOND);
    expect(kids(next)).toEqual(["new", "old"]);
    expect(next.keys[1]).toEqual(set.keys[0]);
    expect(next.signer_since).toBe("2026-12-01T10:01:00.000Z");
    expect(await checkedKeySet(JSON.stringify(next))).toHaveLength(2);
  });

  it("refuses a kid the set already has", async () => {
    const set = await oneKeySet();
    const twin = await key("old");
    expect(() => rotateKey(set, twin, T0)).toThrow('kid "old" is already in the key set');
  });
});

describe("key rotation in two steps (add, then promote)", () => {
  it("adds the new key second: published and verifying, while the old key still signs", async () => {
    const next = addKey(await oneKeySet(), await key("new"), T0 + SECOND);
    expect(kids(next)).toEqual(["old", "new"]);
    expect(next.signer_since).toBe("2026-12-01T10:00:00.000Z");
    expect(next.pending).toEqual({ kid: "new", published_at: "2026-12-01T10:00:01.000Z" });
    expect(await checkedKeySet(JSON.stringify(next))).toHaveLength(2);
  });

  it("refuses to add, or rotate in, a second key while one is waiting to sign", async () => {
    const added = addKey(await oneKeySet(), await key("new"), T0);
    expect(() => addKey(added, { kid: "third" }, T0)).toThrow('"new" is published and waiting to sign');
    expect(() => rotateKey(added, { kid: "third" }, T0)).toThrow('"new" is published and waiting to sign');
  });

  it("promotes the added key once a JWKS cache has had time to see it, not before (unless forced)", async () => {
    const added = addKey(await oneKeySet(), await key("new"), T0);
    const ready = T0 + JWKS_MAX_AGE_SECONDS * SECOND;
    expect(() => promoteKey(added, ready - 1)).toThrow("promote it after 2026-12-01T10:05:00.000Z");
    const promoted = promoteKey(added, ready);
    expect(kids(promoted)).toEqual(["new", "old"]);
    expect(promoted.signer_since).toBe("2026-12-01T10:05:00.000Z");
    expect(promoted.pending).toBeUndefined();
    expect(kids(promoteKey(added, T0, { force: true }))).toEqual(["new", "old"]);
  });

  it("refuses to promote when no key was added", async () => {
    expect(() => promoteKey(rotateKey(newKeySet({ kid: "a" }, T0), { kid: "b" }, T0), T0 + 3600 * SECOND)).toThrow("no key is waiting to sign");
  });
});

describe("retiring the keys that no longer sign", () => {
  it("drops them once the access-token lifetime plus the clock skew has passed since the signer began", async () => {
    const rotated = rotateKey(rotateKey(await oneKeySet(), await key("middle"), T0), await key("new"), T0 + 10 * SECOND);
    expect(() => retireKeys(rotated, T0 + (10 + WAIT) * SECOND - 1, { waitSeconds: WAIT })).toThrow("retire after 2026-12-01T10:05:40.000Z");
    const { set, dropped } = retireKeys(rotated, T0 + (10 + WAIT) * SECOND, { waitSeconds: WAIT });
    expect(kids(set)).toEqual(["new"]);
    expect(dropped).toEqual(["middle", "old"]);
    expect(set.signer_since).toBe(rotated.signer_since);
    expect(await checkedKeySet(JSON.stringify(set))).toHaveLength(1);
  });

  it("keeps a key that is published and waiting to sign", async () => {
    const promoted = promoteKey(addKey(await oneKeySet(), await key("b"), T0), T0 + JWKS_MAX_AGE_SECONDS * SECOND);
    const waiting = addKey(promoted, await key("c"), T0 + 400 * SECOND);
    const { set, dropped } = retireKeys(waiting, T0 + 2000 * SECOND, { waitSeconds: WAIT });
    expect(kids(set)).toEqual(["b", "c"]);
    expect(dropped).toEqual(["old"]);
    expect(set.pending).toEqual(waiting.pending);
  });

  it("refuses when there is nothing to drop, and, unless forced, when the set does not say since when its signer signs", async () => {
    const single = await oneKeySet();
    expect(() => retireKeys(single, T0 + 3600 * SECOND, { waitSeconds: WAIT })).toThrow("nothing to retire");
    const undated = { keys: [await key("new"), await key("old")] };
    expect(() => retireKeys(undated, T0, { waitSeconds: WAIT })).toThrow('does not say when "new" began to sign');
    expect(kids(retireKeys(undated, T0, { waitSeconds: WAIT, force: true }).set)).toEqual(["new"]);
  });
});

describe("the wait before promote", () => {
  it("is how long the gateway lets anyone cache its JWKS", () => {
    const route = readFileSync(join(ROOT, "src", "routes", "well-known.ts"), "utf8");
    const maxAge = /get\("\/jwks\.json"[\s\S]*?max-age=(\d+)/.exec(route)?.[1];
    expect(Number(maxAge)).toBe(JWKS_MAX_AGE_SECONDS);
  });
});

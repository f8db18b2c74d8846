import { describe, expect, it } from "vitest";
import { formatRefreshToken, parseRefreshToken } from "../src/tokens/refresh";
import { expectInvalidGrant, openSession, refresh, uniqueSub } from "./helpers";

const OBJECT_ID = "a".repeat(64);
const SESSION_ID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const MAC = "A".repeat(43);
const VALID = `rt1.${OBJECT_ID}.${SESSION_ID}.7.${MAC}`;

/** The token with its MAC replaced. */
function withMac(token: string, mac: string) {
  return token.replace(/[^.]+$/, mac);
}

/** Flips one MAC character that carries only MAC bits (the last one also holds 2 padding bits). */
function flipMacChar(token: string) {
  const parts = token.split(".");
  const mac = parts[4]!;
  const index = 10;
  const flipped = mac[index] === "A" ? "B" : "A";
  parts[4] = mac.slice(0, index) + flipped + mac.slice(index + 1);
  return parts.join(".");
}

/** The token with its MAC's last character's two padding bits set (same bytes under a lax decoder). */
function withPaddingBitsSet(token: string) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1)!) | 3];
}


describe("parseRefreshToken", () => {
  it("splits a well-formed token into object id, session id, generation and MAC", () => {
    expect(parseRefreshToken(VALID)).toEqual({ objectId: OBJECT_ID, sessionId: SESSION_ID, generation: 7, mac: MAC });
  });

  it("round-trips through formatRefreshToken", () => {
    const parts = parseRefreshToken(VALID)!;
    expect(formatRefreshToken(parts)).toBe(VALID);
    expect(parseRefreshToken(formatRefreshToken({ ...parts, generation: 0 }))).toEqual({ ...parts, generation: 0 });
  });

  it("rejects truncated tokens", () => {
    expect(parseRefreshToken("")).toBeNull();
    expect(parseRefreshToken("rt1")).toBeNull();
    expect(parseRefreshToken(`rt1.${OBJECT_ID}.${SESSION_ID}.7`)).toBeNull();
    expect(parseRefreshToken(`rt1.${OBJECT_ID}.${SESSION_ID}.7.`)).toBeNull();
    expect(parseRefreshToken(VALID.slice(0, -1))).toBeNull();
    expect(parseRefreshToken(VALID.slice(1))).toBeNull();
  });

  it("rejects tokens with extra parts or surrounding text", () => {
    expect(parseRefreshToken(`${VALID}.extra`)).toBeNull();
    expect(parseRefreshToken(`x.${VALID}`)).toBeNull();
    expect(parseRefreshToken(`rt1.${OBJECT_ID}.${SESSION_ID}.7.7.${MAC}`)).toBeNull();
    expect(parseRefreshToken(` ${VALID}`)).toBeNull();
    expect(parseRefreshToken(`${VALID}\n`)).toBeNull();
  });

  it("rejects a wrong prefix", () => {
    for (const prefix of ["rt2", "RT1", "rt", "rt10", "at1"]) {
      expect(parseRefreshToken(VALID.replace(/^rt1/, prefix))).toBeNull();
    }
  });

  it("rejects an object id that is not 64 lowercase hex digits", () => {
    expect(parseRefreshToken(VALID.replace(OBJECT_ID, "g".repeat(64)))).toBeNull();
    expect(parseRefreshToken(VALID.replace(OBJECT_ID, "A".repeat(64)))).toBeNull();
    expect(parseRefreshToken(VALID.replace(OBJECT_ID, "a".repeat(63)))).toBeNull();
    expect(parseRefreshToken(VALID.replace(OBJECT_ID, "a".repeat(65)))).toBeNull();
    expect(parseRefreshToken(VALID.replace(OBJECT_ID, "alice@example.com"))).toBeNull();
  });

  it("rejects a session id that is not a lowercase UUID", () => {
    expect(parseRefreshToken(VALID.replace(SESSION_ID, SESSION_ID.toUpperCase()))).toBeNull();
    expect(parseRefreshToken(VALID.replace(SESSION_ID, SESSION_ID.replaceAll("-", "")))).toBeNull();
    expect(parseRefreshToken(VALID.replace(SESSION_ID, "not-a-session"))).toBeNull();
  });

  it("rejects a bad generation", () => {
    for (const generation of ["", "-1", "+1", "01", "1.5", "1e3", "abc", "0x10", "9999999999", " 7"]) {
      expect(parseRefreshToken(`rt1.${OBJECT_ID}.${SESSION_ID}.${generation}.${MAC}`), generation).toBeNull();
    }
  });

  it("rejects a MAC of the wrong length or alphabet", () => {
    expect(parseRefreshToken(withMac(VALID, "A".repeat(42)))).toBeNull();
    expect(parseRefreshToken(withMac(VALID, "A".repeat(44)))).toBeNull();
    expect(parseRefreshToken(withMac(VALID, `${"A".repeat(42)}=`))).toBeNull();
    expect(parseRefreshToken(withMac(VALID, `${"A".repeat(42)}+`))).toBeNull();
    expect(parseRefreshToken(withMac(VALID, `${"A".repeat(42)}/`))).toBeNull();
  });

  it("rejects a MAC whose last character sets the padding bits (a second spelling of the same MAC)", () => {
    // 32 bytes in 43 characters: the last one holds 4 bits, so only A, E, I, ..., 8 are canonical.
    expect(parseRefreshToken(withMac(VALID, `${"A".repeat(42)}E`))).not.toBeNull();
    for (const last of ["B", "C", "D", "F", "9", "_"]) {
      expect(parseRefreshToken(withMac(VALID, `${"A".repeat(42)}${last}`)), last).toBeNull();
    }
  });
});

describe("refresh tokens at POST /auth/refresh", () => {
  it("answers 400 invalid_grant to malformed tokens", async () => {
    const pair = await openSession(uniqueSub());
    const [prefix, objectId, sessionId, generation, mac] = pair.refresh_token.split(".");
    const malformed = [
      `${prefix}.${objectId}.${sessionId}.${generation}`,
      `${pair.refresh_token}.x`,
      `rt2.${objectId}.${sessionId}.${generation}.${mac}`,
      `${prefix}.${objectId!.replace(/^./, "z")}.${sessionId}.${generation}.${mac}`,
      `${prefix}.${objectId}.${sessionId}.-1.${mac}`,
      `${prefix}.${objectId}.${sessionId}.${generation}.${mac!.slice(1)}`,
      "garbage",
    ];
    for (const token of malformed) await expectInvalidGrant(await refresh(token));
    // None of that touched the session.
    expect((await refresh(pair.refresh_token)).status).toBe(200);
  });

  it("answers 400 invalid_grant to a forged MAC", async () => {
    const pair = await openSession(uniqueSub());
    await expectInvalidGrant(await refresh(flipMacChar(pair.refresh_token)));
    await expectInvalidGrant(await refresh(withMac(pair.refresh_token, "A".repeat(43))));
    await expectInvalidGrant(await refresh(withMac(pair.refresh_token, "_".repeat(43))));
    // The issued MAC with its padding bits set decodes to the same bytes but is not the token issued.
    await expectInvalidGrant(await refresh(withPaddingBitsSet(pair.refresh_token)));
    // A forgery is not a reuse: the real token still works.
    expect((await refresh(pair.refresh_token)).status).toBe(200);
  });

  it("answers 400 invalid_grant to a genuine MAC of another session of the same user", async () => {
    const sub = uniqueSub();
    const first = await openSession(sub);
    const second = await openSession(sub);
    const secondMac = second.refresh_token.split(".")[4]!;
    await expectInvalidGrant(await refresh(withMac(first.refresh_token, secondMac)));
    // The same MAC under a generation it was not computed for is refused too.
    const [prefix, objectId, sessionId, , mac] = first.refresh_token.split(".");
    await expectInvalidGrant(await refresh(`${prefix}.${objectId}.${sessionId}.1.${mac}`));
    expect((await refresh(first.refresh_token)).status).toBe(200);
    expect((await refresh(second.refresh_token)).status).toBe(200);
  });

  it("answers 400 invalid_grant to a genuine token moved to another user's object", async () => {
    const alice = await openSession(uniqueSub("alice"));
    const bob = await openSession(uniqueSub("bob"));
    const bobObjectId = bob.refresh_token.split(".")[1]!;
    const parts = alice.refresh_token.split(".");
    parts[1] = bobObjectId;
    await expectInvalidGrant(await refresh(parts.join(".")));
  });

  it("answers 400 invalid_grant to a well-formed token naming an object that does not exist", async () => {
    const pair = await openSession(uniqueSub());
    const parts = pair.refresh_token.split(".");
    parts[1] = "0123456789abcdef".repeat(4);
    await expectInvalidGrant(await refresh(parts.join(".")));
  });

  it("answers 400 invalid_grant to a well-formed token for a session that never existed", async () => {
    const pair = await openSession(uniqueSub());
    const parts = pair.refresh_token.split(".");
    parts[2] = crypto.randomUUID();
    await expectInvalidGrant(await refresh(parts.join(".")));
  });

  it("issues tokens that parse, and name the session and generation 0", async () => {
    const pair = await openSession(uniqueSub());
    const parts = parseRefreshToken(pair.refresh_token);
    expect(parts).not.toBeNull();
    expect(parts!.sessionId).toBe(pair.session_id);
    expect(parts!.generation).toBe(0);
  });

  it("carries neither the user id nor the username, in clear, hex or base64", async () => {
    const sub = "alice@example.com";
    const first = await openSession(sub);
    const second = (await (await refresh(first.refresh_token)).json()) as { refresh_token: string };
    const hex = [...new TextEncoder().encode(sub)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
    const base64url = btoa(sub).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    for (const token of [first.refresh_token, second.refresh_token]) {
      expect(token.toLowerCase()).not.toContain("alice");
      expect(token.toLowerCase()).not.toContain("example");
      expect(token).not.toContain(hex);
      expect(token).not.toContain(base64url.slice(0, 12));
    }
  });
});

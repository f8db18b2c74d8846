import { describe, expect, it } from "vitest";
import { decideEmailCode, EMAIL_CODE_TRIES, hourlyLimitWait, HOUR_MS, newEmailCode } from "../../src/sessions/account-rules";

// Pure rules of the account lifecycle: every test passes `now`, no clock involved.
const NOW = Date.UTC(2026, 11, 1, 12);
const CODE = { hash: "h", email: "ada@example.com", expiresAt: NOW + 60_000, triesLeft: EMAIL_CODE_TRIES };

describe("decideEmailCode", () => {
  it("accepts the right code while it lives and has tries, and says why it refuses otherwise", () => {
    expect(decideEmailCode(CODE, true, NOW)).toEqual({ ok: true, email: "ada@example.com" });
    expect(decideEmailCode(null, true, NOW)).toEqual({ ok: false, reason: "no_code" });
    expect(decideEmailCode(CODE, true, CODE.expiresAt)).toEqual({ ok: false, reason: "expired" });
    expect(decideEmailCode({ ...CODE, triesLeft: 0 }, true, NOW)).toEqual({ ok: false, reason: "no_tries_left" });
    expect(decideEmailCode(CODE, false, NOW)).toEqual({ ok: false, reason: "wrong_code" });
  });
});

describe("hourlyLimitWait", () => {
  it("lets a send through below the limit, and otherwise waits until the oldest of the last hour leaves it", () => {
    expect(hourlyLimitWait([], 5, NOW)).toBeNull();
    expect(hourlyLimitWait([NOW - 1000, NOW - 2000, NOW - 3000, NOW - 4000], 5, NOW)).toBeNull();
    const five = [NOW - 10 * 60_000, NOW - 4000, NOW - 3000, NOW - 2000, NOW - 1000];
    expect(hourlyLimitWait(five, 5, NOW)).toBe(50 * 60);
    // Sends older than an hour do not count.
    expect(hourlyLimitWait([NOW - HOUR_MS, NOW - HOUR_MS - 1, NOW - 3000, NOW - 2000, NOW - 1000], 5, NOW)).toBeNull();
  });
});

describe("newEmailCode", () => {
  it("is always six digits, and every digit turns up in every place", () => {
    const codes = Array.from({ length: 2000 }, newEmailCode);
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    for (let place = 0; place < 6; place += 1) expect(new Set(codes.map((code) => code[place])).size).toBe(10);
  });
});

import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { BadValue, json, listOf, oneOf, origins, secret, seconds, type Parser } from "../src/config/parsers";

// The parsers the settings table is made of, for the shapes the variables to come need. What the
// existing variables accept, word for word, is test/config.test.ts.

/** The message `parser` refuses `raw` with. */
function refusal(parser: Parser<unknown>, raw: string): string {
  try {
    parser.parse(raw);
  } catch (error) {
    if (error instanceof BadValue) return error.message;
    throw error;
  }
  throw new Error(`${JSON.stringify(raw)} was accepted`);
}

describe("json", () => {
  const Clients = z.array(z.object({ client_id: z.string(), redirect_uris: z.array(z.url()) }));
  const clients = json(Clients, "a JSON array of clients", []);

  it("reads JSON the schema accepts, and empty as the given empty value", () => {
    expect(clients.parse(`[{"client_id":"app","redirect_uris":["https://app.example.com/cb"]}]`)).toEqual([
      { client_id: "app", redirect_uris: ["https://app.example.com/cb"] },
    ]);
    expect(clients.parse("")).toEqual([]);
  });

  it("names where a value breaks the schema, never the value itself", () => {
    expect(refusal(clients, `[{"client_id":"app","redirect_uris":["not a url"]}]`)).toBe("must be a JSON array of clients: [0].redirect_uris[0] is not valid.");
    expect(refusal(clients, `{"client_id":"app"}`)).toBe("must be a JSON array of clients: the value is not valid.");
    const secretJson = json(z.record(z.string(), z.string()), "a JSON object of client secrets", {});
    expect(refusal(secretJson, `{"google":"s3cret-value",`)).toBe("must be a JSON object of client secrets, and is not JSON.");
    expect(refusal(secretJson, `{"google":12345678}`)).toBe("must be a JSON object of client secrets: google is not valid.");
  });
});

describe("secret", () => {
  it("refuses a value shorter than its minimum without repeating it", () => {
    const parser = secret({ minLength: 32 });
    expect(parser.parse("")).toBeNull();
    expect(parser.parse("x".repeat(32))).toBe("x".repeat(32));
    const message = refusal(parser, "short-secret");
    expect(message).toBe("must be at least 32 characters long.");
    expect(message).not.toContain("short-secret");
  });
});

describe("oneOf", () => {
  it("lists every allowed value in its message", () => {
    expect(refusal(oneOf(["off", "warn", "block"]), "on")).toBe(`must be "off", "warn" or "block", got "on".`);
    expect(oneOf(["off", "warn", "block"]).accepts).toBe("`off`, `warn` or `block`");
  });
});

describe("listOf", () => {
  it("reads each trimmed entry, empty ones dropped, through its entry parser", () => {
    const events = listOf("event types", (entry) => {
      if (!["login", "logout"].includes(entry)) throw new BadValue(`entries must be event types, got "${entry}".`);
      return entry;
    });
    expect(events.parse(" login, ,logout ")).toEqual(["login", "logout"]);
    expect(refusal(events, "login, refresh")).toBe(`entries must be event types, got "refresh".`);
  });

  it("reads full origins for any variable that takes them", () => {
    expect(origins.parse("https://App.example.com:443/, http://localhost:3000")).toEqual(["https://app.example.com", "http://localhost:3000"]);
  });
});

describe("seconds", () => {
  it("shows whole days beside a default of seconds", () => {
    const parser = seconds();
    expect(parser.show?.("1209600")).toBe("`1209600` (14 days)");
    expect(parser.show?.("900")).toBe("`900`");
  });
});

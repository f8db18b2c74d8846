import * as z from "zod/mini";
import { MIN_SECRET_LENGTH, parseSigningSecrets } from "../origin/signature-base";

/**
 * How one variable's value is read. `parse` gets the value trimmed, with an unset or empty
 * variable already replaced by the setting's default, and returns the typed value or throws
 * `BadValue`. `accepts` says in the docs' words what the variable takes.
 */
export interface Parser<T> {
  parse(raw: string): T;
  /** Markdown for the docs table's "value" column. */
  readonly accepts: string;
  /** How a value of this kind reads in the docs' "default" column (the value in backticks if absent). */
  show?(raw: string): string;
}

/**
 * A value a parser refuses. The message completes a sentence that starts with the variable's name
 * (`must be "true" or "false", got "yes".`) and is what the 503 and the log say, so it must
 * never repeat the value of a secret.
 */
export class BadValue extends Error {}

/** Any text, as given (trimmed). */
export const text: Parser<string> = { accepts: "text", parse: (raw) => raw };

const DAY = 86_400;

/** Whole seconds, at least `min`: 10 digits at most, so no value overflows a timestamp in milliseconds. */
export function seconds({ min = 0 } = {}): Parser<number> {
  return {
    accepts: min > 0 ? `whole seconds, at least ${min}` : "whole seconds",
    parse(raw) {
      if (!/^\d{1,10}$/.test(raw) || Number(raw) < min) throw new BadValue(`must be a whole number of seconds >= ${min}, got "${raw}".`);
      return Number(raw);
    },
    show: (raw) => (Number(raw) >= DAY && Number(raw) % DAY === 0 ? `\`${raw}\` (${Number(raw) / DAY} days)` : `\`${raw}\``),
  };
}

/** A whole number from 1 to 999999: a limit or a cap, never zero. */
export const count: Parser<number> = {
  accepts: "whole number, 1 to 999999",
  parse(raw) {
    if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1) throw new BadValue(`must be a whole number >= 1, got "${raw}".`);
    return Number(raw);
  },
};

/** `true` or `false`, in any case. */
export const flag: Parser<boolean> = {
  accepts: "`true` or `false`",
  parse(raw) {
    const value = raw.toLowerCase();
    if (value !== "true" && value !== "false") throw new BadValue(`must be "true" or "false", got "${value}".`);
    return value === "true";
  },
};

/** One of `values`, exactly as written. */
export function oneOf<const V extends string>(values: readonly [V, ...V[]]): Parser<V> {
  return {
    accepts: alternatives(values.map((value) => `\`${value}\``)),
    parse(raw) {
      if (!(values as readonly string[]).includes(raw)) throw new BadValue(`must be ${alternatives(values.map((value) => `"${value}"`))}, got "${raw}".`);
      return raw as V;
    },
  };
}

function alternatives(quoted: string[]): string {
  return quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

/** An http(s) URL; empty means none. */
export const httpUrl: Parser<URL | null> = {
  accepts: "http(s) URL",
  parse(raw) {
    if (raw === "") return null;
    const url = URL.canParse(raw) ? new URL(raw) : null;
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) throw new BadValue("must be an http(s) URL.");
    return url;
  },
};

/**
 * An issuer identifier (RFC 8414 section 2): an http(s) URL with no query or fragment, kept as
 * written, since it is compared as a string (`iss`, the metadata's `issuer`).
 */
export const issuerUrl: Parser<string> = {
  accepts: "http(s) URL with no query or fragment",
  parse(raw) {
    const url = URL.canParse(raw) ? new URL(raw) : null;
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || raw.includes("?") || raw.includes("#")) {
      throw new BadValue("must be an http(s) URL with no query or fragment.");
    }
    return raw;
  },
};

/**
 * Secret text; empty means unset. A value shorter than `minLength` is refused without being
 * repeated, so a 503 never shows a secret.
 */
export function secret({ minLength = 1 } = {}): Parser<string | null> {
  return {
    accepts: minLength > 1 ? `text of ${minLength} characters or more` : "text",
    parse(raw) {
      if (raw === "") return null;
      if (raw.length < minLength) throw new BadValue(`must be at least ${minLength} characters long.`);
      return raw;
    },
  };
}

/**
 * The secret that signs forwarded requests: one of at least 32 characters, or two separated by a
 * comma during a rotation, of which the first (returned) signs; empty means unset. The rule is
 * the origin SDK's (`parseSigningSecrets`), so the gateway never signs with what an origin refuses.
 */
export const signingSecrets: Parser<string | null> = {
  accepts: `text of ${MIN_SECRET_LENGTH} characters or more; two, comma-separated, during a rotation`,
  parse(raw) {
    if (raw === "") return null;
    const secrets = parseSigningSecrets(raw);
    if (secrets === null) {
      throw new BadValue(
        `must be one secret of at least ${MIN_SECRET_LENGTH} characters, or two separated by a comma during a rotation (the first signs); make one with \`openssl rand -base64 32\`.`,
      );
    }
    return secrets[0];
  },
};

/**
 * A comma-separated list, each non-empty entry trimmed and read by `entry` (which throws
 * `BadValue` for a bad one); empty means none.
 */
export function listOf<T>(accepts: string, entry: (value: string) => T): Parser<T[]> {
  return {
    accepts: `comma-separated ${accepts}`,
    parse: (raw) =>
      raw
        .split(",")
        .map((value) => value.trim())
        .filter((value) => value !== "")
        .map(entry),
  };
}

/** Path prefixes, each starting with `/`, trailing slashes dropped. */
export const pathPrefixes = listOf("paths, each starting with `/`", (prefix) => {
  if (!prefix.startsWith("/")) throw new BadValue(`entries must start with "/", got "${prefix}".`);
  return prefix.replace(/\/+$/, "");
});

/** Full origins (`https://app.example.com`, `http://localhost:3000`), as browsers send them in `Origin`. */
export const origins = listOf("full origins, `scheme://host[:port]`", (entry) => {
  const origin = fullOrigin(entry);
  if (origin === null) {
    throw new BadValue(
      `entries must be full origins like https://app.example.com or http://localhost:3000 (scheme, host, optional port), got "${entry}".`,
    );
  }
  return origin;
});

// Scheme, `//`, host and optional port, and at most a trailing `/`: no path, query, fragment or
// userinfo. `new URL()` alone would take `localhost:3000` as a URL of scheme `localhost:` whose
// origin is the string "null", which is exactly what a sandboxed page sends as its Origin.
const ORIGIN_SHAPE = /^https?:\/\/[^/?#@\\\s]+\/?$/i;
// After `new URL()`: a DNS name (IDN already in punycode), an IPv4 or a bracketed IPv6 address.
const HOSTNAME = /^(?:[a-z0-9_-]+\.)*[a-z0-9_-]+$|^\[[0-9a-f:.]+\]$/;

/** The origin `entry` names, as browsers send it in `Origin`; null when it is not one. */
function fullOrigin(entry: string): string | null {
  if (!ORIGIN_SHAPE.test(entry) || !URL.canParse(entry)) return null;
  const url = new URL(entry);
  return HOSTNAME.test(url.hostname) ? url.origin : null;
}

/**
 * JSON that `schema` accepts (a zod/mini schema, so the worker carries no zod messages); empty
 * means `empty`. `shape` names what it must be, for the docs and the message: "a JSON array of
 * clients". A problem is reported by where it sits (`[0].redirect_uris is not valid`), never by
 * the value, which may be a secret.
 *
 * @example
 * const clients = json(z.array(z.object({ client_id: z.string() })), "a JSON array of clients", []);
 */
export function json<S extends z.ZodMiniType>(schema: S, shape: string, empty: z.output<S>): Parser<z.output<S>> {
  return {
    accepts: shape,
    parse(raw) {
      if (raw === "") return empty;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        throw new BadValue(`must be ${shape}, and is not JSON.`);
      }
      const result = z.safeParse(schema, value, { error: (issue) => `${where(issue.path)} is not valid` });
      if (!result.success) throw new BadValue(`must be ${shape}: ${result.error.issues[0]?.message ?? "it is not valid"}.`);
      return result.data;
    },
  };
}

function where(path: PropertyKey[] | undefined): string {
  if (!path?.length) return "the value";
  return path.map((key, index) => (typeof key === "number" ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`)).join("");
}

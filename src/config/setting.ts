import type { Parser } from "./parsers";

/**
 * One variable of the worker, declared once. `Config` (its typed value), the 503 for a bad value,
 * the configuration table of docs/api.md (`npm run docs:settings`) and the check of
 * wrangler.toml's `[vars]` are all derived from these rows.
 */
export class Setting<N extends string = string, T = unknown> {
  constructor(
    /** The variable, as in wrangler.toml `[vars]`, `--var NAME:VALUE` or `wrangler secret put`. */
    readonly name: N,
    readonly parser: Parser<T>,
    /**
     * Read when the variable is unset or empty, through the same parser; for a non-secret it is
     * also the value in wrangler.toml `[vars]`. "" means empty or unset.
     */
    readonly defaultValue: string,
    /** The docs table's "meaning" (markdown; links are relative to docs/api.md). */
    readonly description: string,
    readonly options: {
      /** Set with `wrangler secret put`, never in wrangler.toml; the docs mark it "(secret)". */
      secret?: boolean;
      /** The docs' "default" column, when the value alone does not say what unset means. */
      shownDefault?: string;
      /** The docs' "value" column, when the parser's words are too general. */
      accepts?: string;
    } = {},
  ) {}
}

/** A row of the table: a variable, what it holds, its default and what it does. */
export function setting<const N extends string, T>(
  name: N,
  parser: Parser<T>,
  defaultValue: string,
  description: string,
  options?: Setting["options"],
): Setting<N, T> {
  return new Setting(name, parser, defaultValue, description, options);
}

/** Rows, or groups of rows that `Config` keeps together (the settings a Durable Object reads). */
export type SettingsTree = { readonly [key: string]: Setting | SettingsTree };

/** The typed value of a tree of settings: each row replaced by what its parser returns. */
export type ValuesOf<Tree> = { -readonly [K in keyof Tree]: Tree[K] extends Setting<string, infer T> ? T : ValuesOf<Tree[K]> };

/** The name of every variable in `tree`. */
export type NamesOf<Tree> = { [K in keyof Tree]: Tree[K] extends Setting<infer N> ? N : NamesOf<Tree[K]> }[keyof Tree];

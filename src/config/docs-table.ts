import type { Setting } from "./setting";
import { settingRows } from "./settings";

// The configuration table of docs/api.md is this module's output, between these two lines. Never
// imported by the worker: `npm run docs:settings` writes it and test/drift/ checks it.
export const TABLE_START = "<!-- Generated from src/config/settings.ts by `npm run docs:settings`: edit the table there. -->";
export const TABLE_END = "<!-- End of the generated table. -->";

/** The markdown table of every setting, one row per variable, in the order of the settings table. */
export function settingsTable(rows: Setting[] = settingRows()): string {
  const lines = ["| name | value | default | meaning |", "| --- | --- | --- | --- |"];
  for (const row of rows) {
    const name = `\`${row.name}\`${row.options.secret ? " (secret)" : ""}`;
    lines.push(`| ${[name, row.options.accepts ?? row.parser.accepts, shownDefault(row), row.description].map(cell).join(" | ")} |`);
  }
  return lines.join("\n");
}

/** `doc` with the text between the two markers replaced by the current table; throws when a marker is missing. */
export function withSettingsTable(doc: string, table = settingsTable()): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start === -1 || end < start) throw new Error(`the configuration section has lost its markers:\n${TABLE_START}\n${TABLE_END}`);
  return `${doc.slice(0, start + TABLE_START.length)}\n\n${table}\n\n${doc.slice(end)}`;
}

function shownDefault(row: Setting): string {
  if (row.options.shownDefault !== undefined) return row.options.shownDefault;
  if (row.defaultValue === "") return "empty";
  return row.parser.show?.(row.defaultValue) ?? `\`${row.defaultValue}\``;
}

// A `|` inside a cell would end it (GitHub-flavoured markdown reads `\|` as a literal bar).
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

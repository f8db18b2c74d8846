#!/usr/bin/env node
// npm run docs:settings
//
// Rewrites the configuration table of docs/api.md from the settings table (src/config/settings.ts),
// between its two marker comments. `npm test` (test/drift/settings.test.ts) fails until it is run
// after a row changes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { ROOT } from "./lib/dev-vars.mjs";

const DOC = join(ROOT, "docs", "api.md");

// The table is TypeScript; esbuild turns it into a module Node can import, in memory.
const bundle = await build({
  entryPoints: [join(ROOT, "src", "config", "docs-table.ts")],
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
  logLevel: "error",
});
const { withSettingsTable } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`);

const before = readFileSync(DOC, "utf8");
const after = withSettingsTable(before);
if (after === before) {
  console.log("docs/api.md: the configuration table is up to date.");
} else {
  writeFileSync(DOC, after);
  console.log("docs/api.md: configuration table rewritten from src/config/settings.ts.");
}

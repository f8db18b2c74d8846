import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newKeySet } from "./key-rotation.mjs";
import { newSigningKey } from "./signing-keys.mjs";

/** The project root (scripts/lib/..). */
export const ROOT = join(import.meta.dirname, "..", "..");
export const DEV_VARS = join(ROOT, ".dev.vars");

/**
 * Makes sure `.dev.vars` (local secrets for `wrangler dev`, gitignored) has `SIGNING_KEYS` and
 * `ADMIN_API_TOKEN`. A missing file is created with fresh values; an existing file only gets the
 * variables it lacks appended, so values a developer set are never replaced.
 * Returns the names it added (empty when nothing was missing).
 */
export async function ensureDevVars(path = DEV_VARS) {
  const existing = existsSync(path) ? readFileSync(path, "utf8") : null;
  const has = (name) => existing !== null && new RegExp(`^\\s*${name}\\s*=`, "m").test(existing);
  const lines = [];
  const added = [];
  if (!has("SIGNING_KEYS")) {
    const keys = newKeySet(await newSigningKey({ alg: "ES256", kidPrefix: "dev-" }), Date.now());
    lines.push("# Local ES256 signing key (npm run dev). Rotate: npm run keys -- rotate --local.", devVarLine("SIGNING_KEYS", JSON.stringify(keys)));
    added.push("SIGNING_KEYS");
  }
  if (!has("ADMIN_API_TOKEN")) {
    lines.push("# Bearer token of the /auth/admin/* routes in local dev.", `ADMIN_API_TOKEN=${randomBytes(32).toString("hex")}`);
    added.push("ADMIN_API_TOKEN");
  }
  if (added.length === 0) return added;
  const prefix = existing === null ? "# Created by scripts/dev.mjs. Local secrets only: never commit, never deploy.\n" : existing.endsWith("\n") || existing === "" ? "" : "\n";
  writeFileSync(path, `${existing ?? ""}${prefix}${lines.join("\n")}\n`, { mode: 0o600 });
  return added;
}

/** The value of one variable in `.dev.vars` (unquoted), or null. */
export function readDevVar(name, path = DEV_VARS) {
  if (!existsSync(path)) return null;
  const match = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=\\s*(.*)$`, "m").exec(readFileSync(path, "utf8"));
  if (!match) return null;
  return match[1].trim().replace(/^(['"])(.*)\1$/, "$2");
}

/**
 * Replaces the line of `name` in `.dev.vars` with `name='value'`, keeping every other line (and
 * the file's mode). Returns false, writing nothing, when the file has no such line.
 */
export function replaceDevVar(name, value, path = DEV_VARS) {
  if (!existsSync(path)) return false;
  const text = readFileSync(path, "utf8");
  const line = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=.*$`, "m");
  if (!line.test(text)) return false;
  writeFileSync(path, text.replace(line, () => devVarLine(name, value)), { mode: 0o600 });
  return true;
}

// Single quotes: dotenv takes the value literally (a JSON key set has no single quote).
function devVarLine(name, value) {
  return `${name}='${value}'`;
}

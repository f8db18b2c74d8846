import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { ROOT } from "./dev-vars.mjs";

/**
 * The layers of src/, bottom first. A module may import its own directory and any layer below its
 * own, never one beside or above it: the key ring, D1 and the login limits throw errors without
 * knowing of HTTP, and nothing below the routes can reach a route. `client` is the browser
 * client, bundled on its own: it imports only itself and the wire types (src/wire/, the JSON
 * of the contract, which imports nothing). `origin` is the origin SDK, a package of its own with
 * no dependencies: it imports only itself, and the gateway imports the signed string from it.
 */
export const LAYERS = [
  ["wire", "client", "origin"],
  ["errors", "log-once.ts", "bounded-read.ts"],
  ["config"],
  ["config.ts"],
  ["tokens", "db"],
  ["events"],
  ["durable"],
  ["passkeys", "mfa"],
  ["accounts", "sessions", "federation"],
  ["http"],
  ["routes", "gateway.ts", "demo"],
  ["index.ts"],
];

/** What src/ may import from outside itself: the SQL of the D1 schema. */
const OUTSIDE_SRC = ["migrations/"];

// Files that are generated from others (src/demo/app-script.js: the demo's bundled script).
const GENERATED = new Set(["src/demo/app-script.js"]);

// `import ... from "x"`, `import type { a } from "x"`, `export * from "x"`, `export { a } from "x"`,
// `import "x"`, and the type-level `import("x")`; comments are removed first, so an `@example`
// showing an import is not one.
const STATIC = /^\s*(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,?\s*)?(?:\{[^}]*\}|\*\s*(?:as\s+[\w$]+)?)?\s*from\s*["']([^"']+)["']/gm;
const BARE = /^\s*import\s*["']([^"']+)["']/gm;
const TYPE_LEVEL = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The module specifiers a source file imports, in order of appearance per form. */
export function importSpecifiers(source) {
  const code = source.replace(/\/\*[^]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [STATIC, BARE, TYPE_LEVEL].flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]));
}

/**
 * The import graph of `dir` (default src/): each file, relative to the project root with `/`
 * separators, mapped to the files it imports. Relative imports only (packages are not ours);
 * `./x.js` is `./x.ts` when only that exists, as TypeScript resolves it. A relative import that
 * resolves to no file is an error, so a typo cannot hide an arrow.
 */
export function importGraph(dir = join(ROOT, "src")) {
  const graph = new Map();
  for (const file of sourceFiles(dir)) {
    const from = projectPath(file);
    if (GENERATED.has(from)) continue;
    const targets = new Set();
    for (const specifier of importSpecifiers(readFileSync(file, "utf8"))) {
      if (!specifier.startsWith(".")) continue;
      const target = resolveImport(join(dirname(file), specifier));
      if (target === null) throw new Error(`${from}: cannot resolve "${specifier}"`);
      targets.add(projectPath(target));
    }
    graph.set(from, targets);
  }
  return graph;
}

/** Every import cycle of the graph, each as the files in order with the first repeated at the end. */
export function importCycles(graph) {
  const cycles = [];
  const state = new Map(); // absent: not visited; 1: on the current path; 2: done
  const path = [];
  const visit = (file) => {
    state.set(file, 1);
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 1) cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 2);
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** Every import that goes up or sideways across `layers`, or out of src/, as `from -> to`. */
export function layerViolations(graph, layers = LAYERS) {
  const violations = [];
  for (const [from, targets] of graph) {
    const source = placeOf(from, layers);
    for (const to of targets) {
      if (!to.startsWith("src/")) {
        if (!OUTSIDE_SRC.some((prefix) => to.startsWith(prefix))) violations.push(`${from} -> ${to} (outside src/)`);
        continue;
      }
      const target = placeOf(to, layers);
      if (source.part === target.part) continue;
      const allowed = source.part === "client" ? target.part === "wire" : target.rank < source.rank;
      if (!allowed) violations.push(`${from} -> ${to} (${source.part} may not import ${target.part})`);
    }
  }
  return violations;
}

/** The part of src/ a file belongs to (its top directory or top-level file) and that part's layer. */
function placeOf(file, layers) {
  const part = file.slice("src/".length).split("/")[0];
  const rank = layers.findIndex((layer) => layer.includes(part));
  if (rank === -1) throw new Error(`${file}: src/${part} is in no layer of scripts/lib/import-graph.mjs`);
  return { part, rank };
}

function resolveImport(path) {
  const candidates = [path, `${path}.ts`, `${path}.d.ts`, join(path, "index.ts")];
  if (path.endsWith(".js")) candidates.splice(1, 0, `${path.slice(0, -3)}.ts`, `${path.slice(0, -3)}.d.ts`);
  return candidates.find((candidate) => statSync(candidate, { throwIfNoEntry: false })?.isFile()) ?? null;
}

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) yield path;
  }
}

function projectPath(file) {
  return relative(ROOT, file).split(sep).join("/");
}

import { describe, expect, it } from "vitest";
import { importCycles, importGraph, importSpecifiers, layerViolations } from "../../scripts/lib/import-graph.mjs";

const graphOf = (edges) => new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]));

describe("src/: the import graph", () => {
  const graph = importGraph();

  it("has no import cycle", () => {
    // One line per cycle, so a failure reads as the files to untangle.
    expect(importCycles(graph).map((cycle) => cycle.join(" -> ")).join("\n")).toBe("");
  });

  it("imports only downward: nothing below http/ imports it or the routes, the client only itself and the wire types", () => {
    expect(layerViolations(graph).join("\n")).toBe("");
  });

  it("sees the imports that matter: type imports, re-exports and the client's .js specifiers", () => {
    expect(graph.get("src/index.ts")).toContain("src/sessions/user-auth.ts");
    expect(graph.get("src/http/context.ts")).toContain("src/sessions/rpc.ts");
    expect(graph.get("src/client/index.ts")).toContain("src/client/auth-client.ts");
    expect(graph.get("src/db/schema.ts")).toContain("migrations/0001_sessions_and_events.sql");
  });
});

describe("the check itself", () => {
  it("reads every form of import, and none in a comment", () => {
    const source = [
      'import { a, type B } from "./a";',
      'import type { C } from "../c";',
      "import D, {",
      "  e,",
      '} from "./d.js";',
      'import * as f from "./f";',
      'export { g } from "./g";',
      'export * from "./h";',
      'import "./side-effect";',
      'type I = typeof import("./i");',
      '/** @example import { x } from "./in-a-comment"; */',
      '// import { y } from "./commented-out";',
      'const text = "not an import from \\"./j\\"";',
    ].join("\n");
    expect(importSpecifiers(source).sort()).toEqual(["../c", "./a", "./d.js", "./f", "./g", "./h", "./i", "./side-effect"].sort());
  });

  it("finds a cycle, however long", () => {
    const graph = graphOf({
      "src/env.ts": ["src/sessions/user-auth.ts"],
      "src/sessions/user-auth.ts": ["src/config.ts"],
      "src/config.ts": ["src/env.ts"],
      "src/tokens/access.ts": [],
    });
    expect(importCycles(graph)).toEqual([["src/config.ts", "src/env.ts", "src/sessions/user-auth.ts", "src/config.ts"]]);
  });

  it("finds an arrow up, one sideways, a client import of the worker, and an import out of src/", () => {
    const graph = graphOf({
      "src/tokens/key-ring.ts": ["src/http/errors.ts", "src/errors/auth-error.ts", "src/tokens/access.ts"],
      "src/accounts/login-guard.ts": ["src/sessions/rpc.ts"],
      "src/client/auth-client.ts": ["src/client/errors.ts", "src/wire/index.ts", "src/config.ts"],
      "src/index.ts": ["bench/routes.ts", "migrations/0002_users.sql", "src/routes/admin.ts"],
    });
    expect(layerViolations(graph)).toEqual([
      "src/tokens/key-ring.ts -> src/http/errors.ts (tokens may not import http)",
      "src/accounts/login-guard.ts -> src/sessions/rpc.ts (accounts may not import sessions)",
      "src/client/auth-client.ts -> src/config.ts (client may not import config.ts)",
      "src/index.ts -> bench/routes.ts (outside src/)",
    ]);
  });
});

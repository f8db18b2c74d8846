import type { RouterRoute } from "hono/types";

/**
 * The methods the app serves at `path`, from its own route table: what a 405's `Allow` header
 * lists (RFC 9110 section 15.5.6). Middleware (`ALL`) and wildcard routes do not count; a GET
 * route serves HEAD too. Empty when no route has that path.
 */
export function allowedMethods(routes: RouterRoute[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL" || route.path.includes("*") || !pathPattern(route.path).test(path)) continue;
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
  }
  return [...methods];
}

const patterns = new Map<string, RegExp>();

/** `/auth/sessions/:id` as a regular expression matching one segment per parameter. */
function pathPattern(routePath: string): RegExp {
  let pattern = patterns.get(routePath);
  if (!pattern) {
    const source = routePath
      .split("/")
      .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    pattern = new RegExp(`^${source}/?$`);
    patterns.set(routePath, pattern);
  }
  return pattern;
}

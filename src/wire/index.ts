/**
 * The JSON the gateway sends, as types: one set for the worker that writes it (each route checks
 * its answer with `satisfies`), the browser client that reads it, and the tests. It imports
 * nothing outside src/wire/, so that both builds take it as it is: the worker's and the client's
 * (tsconfig.client.json emits it beside the client's declarations). Types only, but for the list
 * of event types the admin route validates against. docs/api.md describes each.
 */
export * from "./errors.js";
export * from "./tokens.js";
export * from "./accounts.js";
export * from "./events.js";
export * from "./passkeys.js";

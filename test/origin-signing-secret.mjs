// The ORIGIN_SIGNING_SECRET of the tests: vitest.config.ts binds it in every workerd project, and
// the recording origin (test/origin-server.mjs) verifies every forwarded request with it. A module
// of its own so that the config reads it without loading the origin server.
export const TEST_ORIGIN_SIGNING_SECRET = "test-origin-signing-secret-0123456789abcdef";

// The tests' helpers, by subject; `import { ... } from "./helpers"` reaches all of them.
export * from "./encoding";
export * from "./errors";
export * from "./events";
export * from "./keys";
export * from "./logs";
export * from "./login-throttles";
export * from "./origin";
export * from "./passkeys";
export * from "./passwords";
export * from "./queue";
export * from "./requests";
export * from "./sessions";
export * from "./storage";
export * from "./unique";
export * from "./totp";

// Vitest globalSetup (runs in Node): the upstream OpenID providers of the federation tests, on
// 127.0.0.1. `idpUrl` is a real one, panva's oidc-provider (scripts/lib/local-idp.mjs), with a
// confidential and a public client and a login form any account name passes; `fakeIdpUrl` is a
// misbehaving one (test/fake-idp.mjs), one issuer per failure. Both stop with the run.
import { startLocalIdp } from "../scripts/lib/local-idp.mjs";
import { startFakeIdp } from "./fake-idp.mjs";

/** @param {import("vitest/node").TestProject} project */
export default async function startIdps(project) {
  const idp = await startLocalIdp({ log: (line) => console.error(line) });
  const fake = await startFakeIdp();
  project.provide("idpUrl", idp.issuer);
  project.provide("fakeIdpUrl", fake.url);
  return async function stopIdps() {
    await Promise.all([idp.stop(), fake.stop()]);
  };
}

#!/usr/bin/env node
// npm run idp [-- --port 9400]
//
// A local OpenID provider for trying sign-in through a provider with no account anywhere: panva's
// oidc-provider on http://127.0.0.1:<port> (scripts/lib/local-idp.mjs), where any account name
// signs in. It prints the settings that point `npm run dev` at it, then runs until Ctrl-C. The
// tests run the same provider (test/idp-servers.mjs).
import { parseArgs } from "node:util";
import { CONFIDENTIAL_CLIENT, LOCAL_IDP_CLIENT_SECRET, PUBLIC_CLIENT, startLocalIdp } from "./lib/local-idp.mjs";

const { values } = parseArgs({ options: { port: { type: "string", default: "9400" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`idp: --port must be a port number, got "${values.port}".`);
  process.exit(2);
}

let idp;
try {
  idp = await startLocalIdp({ port, log: (line) => console.error(line) });
} catch (error) {
  console.error(`idp: cannot listen on 127.0.0.1:${port} (${error.code ?? error.message}); try --port <another>.`);
  process.exit(1);
}

const publicProvider = JSON.stringify([{ id: "local", issuer: idp.issuer, client_id: PUBLIC_CLIENT }]);
const confidentialProvider = JSON.stringify([{ id: "local", issuer: idp.issuer, client_id: CONFIDENTIAL_CLIENT }]);
console.log(`idp: a local OpenID provider at ${idp.issuer}: any account name signs in (alice, bob, ...), each a user of its own.

Start the gateway with it, in another terminal:

    npm run dev -- --var 'OIDC_PROVIDERS:${publicProvider}'

then open the demo (the URL npm run dev prints, /demo) and press "Sign in with local".

As a confidential client instead (a client secret, as Google or Entra give you), put these two
lines in .dev.vars and run plain \`npm run dev\`:

    OIDC_PROVIDERS=${confidentialProvider}
    OIDC_CLIENT_SECRETS={"local":"${LOCAL_IDP_CLIENT_SECRET}"}

Ctrl-C stops it (it keeps nothing: its sessions and codes are in memory).`);

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    void idp.stop().then(() => process.exit(0));
  });
}

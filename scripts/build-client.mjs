#!/usr/bin/env node
// npm run build:client (also the `prepare` step of npm install / npm ci)
//
// Builds the browser client: dist/client/index.js and its .d.ts files (the package's "./client"
// export), and src/demo/app-script.js, the demo page's script with the client bundled in, which
// the worker serves at /demo/app.js. Prints the client's size. Both outputs are gitignored;
// `npm run dev`, `npm test` and `npm run test:e2e` rebuild the demo script themselves.
import { buildClientPackage, buildDemoScript } from "./lib/build-client.mjs";

await buildDemoScript();
const { minified, gzip } = await buildClientPackage();
console.log(`build:client: dist/client (${minified} bytes minified, ${gzip} gzipped) and src/demo/app-script.js`);

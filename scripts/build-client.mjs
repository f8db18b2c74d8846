#!/usr/bin/env node
// npm run build:client (also the `prepare` step of npm install / npm ci)
//
// Builds the package's two exports and the demo's script:
// - dist/client/index.js and its .d.ts files (the browser client, "./client");
// - dist/origin/index.js and its .d.ts files (the origin SDK, "./origin"; `--origin` builds only
//   this one, without declarations: what `npm run example:origin` needs, in a moment);
// - src/demo/app-script.js, the demo page's script with the client bundled in, which the worker
//   serves at /demo/app.js.
// Prints their sizes. Every output is gitignored; `npm run dev`, `npm test` and
// `npm run test:e2e` rebuild the demo script themselves.
import { buildClientPackage, buildDemoScript, buildOriginPackage } from "./lib/build-client.mjs";

if (process.argv.includes("--origin")) {
  await buildOriginPackage({ declarations: false });
} else {
  await buildDemoScript();
  const { minified, gzip } = await buildClientPackage();
  const origin = await buildOriginPackage();
  console.log(`build:client: dist/client (${minified} bytes minified, ${gzip} gzipped), dist/origin (${origin} bytes) and src/demo/app-script.js`);
}

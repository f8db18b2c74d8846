// npm "postinstall": creates .dev.vars (local signing key and admin token) when it is missing, so
// that a plain `npx wrangler dev` right after `npm install` can issue tokens. Never fails the
// install: at worst `npm run dev` creates the file later.
import { relative } from "node:path";
import { DEV_VARS, ensureDevVars } from "./lib/dev-vars.mjs";

try {
  const added = await ensureDevVars();
  if (added.length > 0) console.log(`postinstall: wrote ${added.join(" and ")} to ${relative(process.cwd(), DEV_VARS)} (local dev secrets, gitignored).`);
} catch (error) {
  console.warn(`postinstall: could not create .dev.vars (${error.message}); \`npm run dev\` will create it.`);
}

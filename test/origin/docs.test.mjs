// docs/origin.md quotes examples/verify_gateway.py, which test/origin-signing.test.ts runs on
// requests the gateway signed: the quote must be the file, byte for byte, so the docs cannot drift.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

describe("docs/origin.md", () => {
  it("quotes examples/verify_gateway.py exactly as the file the tests run", () => {
    const docs = read("docs/origin.md");
    const quoted = /<!-- begin examples\/verify_gateway\.py -->\n\n```python\n([\s\S]*?)```\n<!-- end examples\/verify_gateway\.py -->/.exec(docs)?.[1];
    expect(quoted, "the quoted block between the begin and end markers").toBeDefined();
    expect(quoted).toBe(read("examples/verify_gateway.py"));
  });
});

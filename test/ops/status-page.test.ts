/**
 * The status page as served: one document with the compiled page script
 * inlined (built by `npm run build`, not left out), allowed by its hash and
 * by nothing else. What it does in a browser is test/browser/status-page.test.ts.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { STATUS_PAGE, STATUS_PAGE_CSP } from "../../src/ops/status-page.js";

const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("base64");

describe("the status page document", () => {
  const scripts = [...STATUS_PAGE.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];

  test("inlines the script tsc compiled from src/ops/page/, as one module script", () => {
    assert.equal(scripts.length, 1, "one script");
    assert.doesNotMatch(STATUS_PAGE, /id="not-built"/);
    const [, attributes, inlined] = scripts[0]!;
    assert.equal(attributes, ' type="module"');
    const compiled = readFileSync(new URL("../../src/ops/page/script.js", import.meta.url), "utf8");
    assert.ok(compiled.startsWith(inlined!), "the compiled file, as it is");
    assert.doesNotMatch(inlined!, /sourceMappingURL/, "no map the page does not serve");
    assert.match(inlined!, /function showConnections\(/);
  });

  test("the CSP allows exactly that script and that style, by hash", () => {
    const [, , inlined] = scripts[0]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(STATUS_PAGE)![1]!;
    assert.match(STATUS_PAGE_CSP, new RegExp(`script-src 'sha256-${sha256(inlined!).replace(/[+/]/g, "\\$&")}';`));
    assert.match(STATUS_PAGE_CSP, new RegExp(`style-src 'sha256-${sha256(style).replace(/[+/]/g, "\\$&")}';`));
    assert.match(STATUS_PAGE_CSP, /^default-src 'none';/);
  });

  test("the table's head is left to the script, which makes it from its columns", () => {
    assert.match(STATUS_PAGE, /<thead><tr id="heads"><\/tr><\/thead>/);
  });
});

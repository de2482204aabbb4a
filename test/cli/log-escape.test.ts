import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createLogger, escapeClientBytes } from "../../src/cli/log.js";

describe("nothing a client sends reaches the operator's terminal raw", { timeout: 5000 }, () => {
  test("client bytes are printable ASCII", () => {
    const attack = Buffer.from('\u001b]0;pwned\u0007\u001b[2J\r\n2026-01-01 info  fake line \\ "q" \u00ff', "latin1");
    const escaped = escapeClientBytes(attack, 1000);
    assert.match(escaped, /^[\x20-\x7e]*$/);
    assert.equal(escaped, '\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0a2026-01-01 info  fake line \\\\ \\"q\\" \\xff');
  });

  test("long client input is cut, and says how long it was", () => {
    assert.equal(escapeClientBytes(Buffer.alloc(100, "a"), 4), "aaaa…(100 bytes)");
  });

  test("every log line is one line with no control characters, whatever the message holds", () => {
    const written: string[] = [];
    const log = createLogger({ level: "info", format: "pretty", write: (line) => written.push(line) });
    log.warn("accept failed: \u001b[31mred\u001b[0m\nsecond line\r\u009b");
    assert.equal(written.length, 1);
    const line = written[0]!;
    assert.ok(line.endsWith("\n"));
    assert.match(line.slice(0, -1), /^[^\u0000-\u001f\u007f-\u009f]*$/);
    assert.match(line, /accept failed: \\x1b\[31mred\\x1b\[0m\\x0asecond line\\x0d\\x9b\n$/);
  });

  test("text-direction characters in a message cannot reorder the operator's line", () => {
    const written: string[] = [];
    const log = createLogger({ level: "info", format: "pretty", write: (line) => written.push(line) });
    log.info("client typed \u202eevil\u2066 \u200bZoë 李");
    assert.match(written[0]!, /client typed \\u202eevil\\u2066 \\u200bZoë 李\n$/);
  });
});

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { windowSizeFromNaws } from "../../src/protocol/window-size.js";

describe("windowSizeFromNaws (RFC 1073)", () => {
  const cases: { name: string; payload: number[]; truncated?: boolean; size: { columns: number; rows: number } | null }[] = [
    { name: "80 x 24", payload: [0, 80, 0, 24], size: { columns: 80, rows: 24 } },
    { name: "sizes are 16-bit, high byte first", payload: [1, 0, 0x12, 0x34], size: { columns: 256, rows: 0x1234 } },
    { name: "a 255 (sent as IAC IAC, undone by the parser)", payload: [0, 255, 255, 255], size: { columns: 255, rows: 0xffff } },
    { name: "0 is 'not known', passed on as 0", payload: [0, 0, 0, 0], size: { columns: 0, rows: 0 } },
    { name: "three bytes: not a report", payload: [0, 80, 0], size: null },
    { name: "five bytes: not a report", payload: [0, 80, 0, 24, 0], size: null },
    { name: "empty", payload: [], size: null },
    { name: "truncated by the parser's cap", payload: [0, 80, 0, 24], truncated: true, size: null },
  ];
  for (const { name, payload, truncated = false, size } of cases) {
    test(name, () => assert.deepEqual(windowSizeFromNaws(Buffer.from(payload), truncated), size));
  }
});

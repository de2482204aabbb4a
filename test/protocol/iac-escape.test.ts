import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { escapeIAC } from "../../src/protocol/iac-escape.js";

describe("escapeIAC", () => {
  const cases: { input: number[]; from?: number; to?: number; out: number[] }[] = [
    { input: [], out: [] },
    { input: [0x61, 0x62], out: [0x61, 0x62] },
    { input: [0xff], out: [0xff, 0xff] },
    { input: [0x61, 0xff, 0x62], out: [0x61, 0xff, 0xff, 0x62] },
    { input: [0xff, 0xff, 0x61, 0xff], out: [0xff, 0xff, 0xff, 0xff, 0x61, 0xff, 0xff] },
    { input: [0xff, 0x61, 0xff, 0x62], from: 1, to: 3, out: [0x61, 0xff, 0xff] },
    { input: [0xff, 0x61, 0xff], from: 1, to: 2, out: [0x61] },
  ];
  for (const { input, from, to, out } of cases) {
    test(`[${input.join(",")}] [${from ?? 0}, ${to ?? input.length}) -> [${out.join(",")}]`, () => {
      assert.deepEqual([...escapeIAC(Buffer.from(input), from, to)], out);
    });
  }

  test("no 0xFF: the bytes themselves, not a copy", () => {
    const bytes = Buffer.from("hello");
    assert.equal(escapeIAC(bytes), bytes);
  });

  test("undoing the doubling gives the input back, for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (raw) => {
        const escaped = escapeIAC(Buffer.from(raw));
        const undone: number[] = [];
        for (let i = 0; i < escaped.length; i++) {
          undone.push(escaped[i]!);
          if (escaped[i] === 0xff) {
            assert.equal(escaped[i + 1], 0xff);
            i++;
          }
        }
        assert.deepEqual(undone, [...raw]);
      }),
    );
  });
});

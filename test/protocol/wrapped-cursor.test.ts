import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WrappedCursor } from "../../src/protocol/wrapped-cursor.js";

/** The bytes moveTo() sends, latin1. */
function move(width: number, cell: number, pending: boolean, target: number): string {
  const cursor = new WrappedCursor(width);
  cursor.cell = cell;
  cursor.pending = pending;
  const out: Buffer[] = [];
  cursor.moveTo(target, { add: (bytes) => void out.push(Buffer.from(bytes)) });
  assert.deepEqual([cursor.cell, cursor.pending], [target, false]);
  return Buffer.concat(out).toString("latin1");
}

describe("WrappedCursor: moving on the rows of a wrapped line", () => {
  const cases: { name: string; width: number; cell: number; pending?: boolean; target: number; bytes: string }[] = [
    { name: "already there: nothing", width: 10, cell: 13, target: 13, bytes: "" },
    { name: "left within a row: BS, as without a width", width: 10, cell: 13, target: 11, bytes: "\b\b" },
    { name: "right within a row: CUF", width: 10, cell: 11, target: 14, bytes: "\x1b[3C" },
    { name: "up a row: CR, CUU, CUF", width: 10, cell: 13, target: 5, bytes: "\r\x1b[1A\x1b[5C" },
    { name: "up two rows to column 0: CR, CUU", width: 10, cell: 25, target: 0, bytes: "\r\x1b[2A" },
    { name: "down to the next row's start: CR LF (scrolls if it must)", width: 10, cell: 7, target: 10, bytes: "\r\n" },
    { name: "down two rows: CR, LF LF, CUF", width: 10, cell: 7, target: 24, bytes: "\r\n\n\x1b[4C" },
    { name: "from a pending wrap to the next row's start: CR LF", width: 10, cell: 10, pending: true, target: 10, bytes: "\r\n" },
    { name: "from a pending wrap back in its row: CR and CUF, never BS", width: 10, cell: 10, pending: true, target: 8, bytes: "\r\x1b[8C" },
    { name: "from a pending wrap to its row's start: CR", width: 10, cell: 20, pending: true, target: 10, bytes: "\r" },
    { name: "from a pending wrap up a row", width: 10, cell: 20, pending: true, target: 3, bytes: "\r\x1b[1A\x1b[3C" },
  ];
  for (const { name, width, cell, pending = false, target, bytes } of cases) {
    test(name, () => assert.equal(move(width, cell, pending, target), bytes));
  }

  test("padding: a double-width character that would not fit in a row's last column starts the next row", () => {
    const cursor = new WrappedCursor(4);
    cursor.wrote(3);
    assert.equal(cursor.paddingBefore(2), 1);
    assert.equal(cursor.paddingBefore(1), 0);
    cursor.wrote(1);
    assert.equal(cursor.pending, true, "the last column written: a wrap pending");
    assert.equal(cursor.paddingBefore(2), 0);
  });

  test("a width under 2 cannot hold a double-width character: refused", () => {
    assert.throws(() => new WrappedCursor(1), RangeError);
    assert.throws(() => new WrappedCursor(0), RangeError);
  });
});

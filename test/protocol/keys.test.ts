/**
 * The key decoder fed byte by byte and in every split: a lone ESC must be
 * told from escape sequences without a clock, the caller's flush() standing
 * in for the escape timeout.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isCtrlC, isEscape, KeyDecoder, type Key } from "../../src/protocol/keys.js";

/** What a test compares: the name plus any modifier, e.g. "meta+up". */
function describeKey(key: Key): string {
  return [key.ctrl ? "ctrl+" : "", key.meta ? "meta+" : "", key.shift ? "shift+" : "", key.name].join("");
}

/** Feeds `input` in the given pieces, then flushes (the escape timeout passing). */
function decode(pieces: Buffer[]): { beforeFlush: string[]; afterFlush: string[]; pendingAtEnd: boolean } {
  const decoder = new KeyDecoder();
  const beforeFlush: string[] = [];
  for (const piece of pieces) beforeFlush.push(...decoder.push(piece).map(describeKey));
  const pendingAtEnd = decoder.pending;
  const afterFlush = decoder.flush().map(describeKey);
  return { beforeFlush, afterFlush, pendingAtEnd };
}

function bytewise(bytes: Buffer): Buffer[] {
  return [...bytes].map((byte) => Buffer.from([byte]));
}

/** Every way to cut `bytes` in two. */
function splits(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  for (let at = 0; at <= bytes.length; at++) out.push([bytes.subarray(0, at), bytes.subarray(at)]);
  return out;
}

const ESC = "\x1b";

// input, keys decoded without any timeout, keys that only the timeout (flush) yields.
const CASES: Array<{ what: string; input: string; keys: string[]; onTimeout: string[] }> = [
  { what: "a lone ESC", input: ESC, keys: [], onTimeout: ["escape"] },
  { what: "Up (ESC [ A)", input: `${ESC}[A`, keys: ["up"], onTimeout: [] },
  { what: "Down, Right, Left", input: `${ESC}[B${ESC}[C${ESC}[D`, keys: ["down", "right", "left"], onTimeout: [] },
  { what: "F1 (ESC O P)", input: `${ESC}OP`, keys: ["f1"], onTimeout: [] },
  { what: "Up in application mode (ESC O A)", input: `${ESC}OA`, keys: ["up"], onTimeout: [] },
  { what: "F5 (ESC [ 1 5 ~)", input: `${ESC}[15~`, keys: ["f5"], onTimeout: [] },
  { what: "F12 (ESC [ 2 4 ~)", input: `${ESC}[24~`, keys: ["f12"], onTimeout: [] },
  { what: "Delete (ESC [ 3 ~)", input: `${ESC}[3~`, keys: ["delete"], onTimeout: [] },
  { what: "Ctrl-Up (CSI 1;5A)", input: `${ESC}[1;5A`, keys: ["ctrl+up"], onTimeout: [] },
  { what: "Shift-F5 (CSI 15;2~)", input: `${ESC}[15;2~`, keys: ["shift+f5"], onTimeout: [] },
  { what: "Linux console F1 (ESC [ [ A)", input: `${ESC}[[A`, keys: ["f1"], onTimeout: [] },
  { what: "Alt-x (ESC x)", input: `${ESC}x`, keys: ["meta+x"], onTimeout: [] },
  { what: "Alt-Up, rxvt style (ESC ESC [ A)", input: `${ESC}${ESC}[A`, keys: ["meta+up"], onTimeout: [] },
  { what: "Shift-Tab (CSI Z)", input: `${ESC}[Z`, keys: ["shift+tab"], onTimeout: [] },
  { what: "Esc pressed twice", input: `${ESC}${ESC}`, keys: [], onTimeout: ["escape", "escape"] },
  { what: "Esc, then a letter later", input: `${ESC}${ESC}q`, keys: ["escape", "meta+q"], onTimeout: [] },
  { what: "Up then a lone ESC", input: `${ESC}[A${ESC}`, keys: ["up"], onTimeout: ["escape"] },
  { what: "Ctrl-C", input: "\x03", keys: ["ctrl+c"], onTimeout: [] },
  { what: "Ctrl-D", input: "\x04", keys: ["ctrl+d"], onTimeout: [] },
  { what: "text and Enter", input: "Hi\r", keys: ["shift+h", "i", "return"], onTimeout: [] },
  { what: "Backspace (DEL)", input: "\x7f", keys: ["backspace"], onTimeout: [] },
  { what: "a cut-off CSI is not Esc", input: `${ESC}[1;`, keys: [], onTimeout: ["unknown"] },
  { what: "ESC [ then silence is Alt-[", input: `${ESC}[`, keys: [], onTimeout: ["meta+["] },
  { what: "ESC O then silence is Alt-O", input: `${ESC}O`, keys: [], onTimeout: ["meta+shift+o"] },
  { what: "a UTF-8 character", input: "é€", keys: ["é", "€"], onTimeout: [] },
  { what: "a CSI interrupted by a control byte", input: `${ESC}[1\x03`, keys: ["unknown", "ctrl+c"], onTimeout: [] },
  { what: "X10 mouse report", input: `${ESC}[M !!`, keys: ["mouse"], onTimeout: [] },
];

describe("KeyDecoder", { timeout: 10_000 }, () => {
  for (const { what, input, keys, onTimeout } of CASES) {
    const bytes = Buffer.from(input, "utf8");
    it(`${what}: whole`, () => {
      const result = decode([bytes]);
      assert.deepEqual(result.beforeFlush, keys);
      assert.equal(result.pendingAtEnd, onTimeout.length > 0);
      assert.deepEqual(result.afterFlush, onTimeout);
    });
    it(`${what}: byte by byte`, () => {
      const result = decode(bytewise(bytes));
      assert.deepEqual(result.beforeFlush, keys);
      assert.deepEqual(result.afterFlush, onTimeout);
    });
    it(`${what}: split at every point`, () => {
      for (const pieces of splits(bytes)) {
        const result = decode(pieces);
        assert.deepEqual(result.beforeFlush, keys, `split at ${pieces[0]!.length}`);
        assert.deepEqual(result.afterFlush, onTimeout, `split at ${pieces[0]!.length}`);
      }
    });
  }

  it("holds a split ESC across reads and does not call it Esc when the sequence completes", () => {
    const decoder = new KeyDecoder();
    assert.deepEqual(decoder.push(Buffer.from(ESC)), []);
    assert.equal(decoder.pending, true, "a trailing ESC waits for the timeout");
    const keys = decoder.push(Buffer.from("[A"));
    assert.deepEqual(keys.map(describeKey), ["up"]);
    assert.equal(decoder.pending, false);
    assert.deepEqual(decoder.flush(), []);
  });

  it("gives Esc only when the caller says the timeout passed", () => {
    const decoder = new KeyDecoder();
    decoder.push(Buffer.from(ESC));
    const [key] = decoder.flush();
    assert.ok(key !== undefined && isEscape(key));
    assert.deepEqual([...key.sequence], [0x1b]);
    assert.equal(decoder.pending, false);
  });

  it("recognises Ctrl-C and nothing else as Ctrl-C", () => {
    const decoder = new KeyDecoder();
    const keys = decoder.push(Buffer.from("\x03c\x1bc"));
    assert.deepEqual(keys.map(isCtrlC), [true, false, false]);
  });

  it("never holds more than a bounded number of bytes for garbage after ESC [", () => {
    const decoder = new KeyDecoder();
    const keys = decoder.push(Buffer.from(`${ESC}[${"1;".repeat(100)}`));
    assert.ok(keys.some((key) => key.name === "unknown"));
    assert.ok(!keys.some(isEscape));
  });

  it("decode(): any chunking, and a stop after any key with the rest fed again, gives the same keys as push()", () => {
    const piece = fc.constantFrom("a", "é", "李", "\x1b", "[", "1", ";", "5", "A", "~", "O", "\x7f", "\x03", "\r", "\n", "\x00", "\xe6", "M");
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1 }),
        fc.integer({ min: 1, max: 4 }),
        (pieces, sizes, every) => {
          const bytes = Buffer.from(pieces.join(""), "latin1");
          const expected = new KeyDecoder().push(bytes).map(describeKey);
          const decoder = new KeyDecoder();
          const got: string[] = [];
          for (let at = 0, k = 0; at < bytes.length; k++) {
            const chunk = bytes.subarray(at, at + sizes[k % sizes.length]!);
            at += chunk.length;
            for (let from = 0; from < chunk.length; ) {
              const stop = decoder.decode(chunk, from, chunk.length, (key) => got.push(describeKey(key)) % every !== 0);
              assert.ok(stop > from, "a stop is progress");
              from = stop;
            }
          }
          assert.deepEqual(got, expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { LineFramer } from "../../src/protocol/line-framer.js";
import { inChunksOf, splitAt } from "../helpers/chunks.js";

type Event = string | { tooLong: true };

/** Runs `input` through a framer in the given chunks; returns lines (latin1, so every byte is visible) and overflows in order. */
function frame(chunks: Buffer[], maxLineLength = 8192, finish = true): Event[] {
  const events: Event[] = [];
  const framer = new LineFramer(
    {
      line: (source, from, to) => events.push(source.toString("latin1", from, to)) > 0,
      lineTooLong: () => events.push({ tooLong: true }) > 0,
    },
    maxLineLength,
  );
  for (const chunk of chunks) framer.push(chunk);
  if (finish) framer.finish();
  return events;
}

const TOO_LONG = { tooLong: true } as const;

// [name, input, expected events, maxLineLength]
const CASES: Array<[string, string, Event[], number?]> = [
  ["LF", "Hello\n", ["Hello"]],
  ["CR LF", "Hello\r\n", ["Hello"]],
  ["CR NUL", "Hello\r\0", ["Hello"]],
  ["lone CR then text", "Hello\rWorld\r", ["Hello", "World"]],
  ["CR CR is two line ends", "a\r\rb\n", ["a", "", "b"]],
  ["LF CR is two line ends", "a\n\rb\n", ["a", "", "b"]],
  ["CR LF LF is two line ends", "a\r\n\nb\n", ["a", "", "b"]],
  ["CR NUL NUL keeps the second NUL as data", "a\r\0\0b\n", ["a", "\0b"]],
  ["empty lines", "\n\r\n\r\0", ["", "", ""]],
  ["many lines in one chunk", "one\ntwo\r\nthree\rfour\r\0", ["one", "two", "three", "four"]],
  ["final line without a line end", "Hello\nlast", ["Hello", "last"]],
  ["nothing after the last line end", "Hello\n", ["Hello"]],
  ["bytes are bytes (invalid UTF-8, NUL, 0xFF)", "\xff\xfe\x00\x80ok\n", ["\xff\xfe\x00\x80ok"]],
  ["UTF-8 passes through", Buffer.from("héllo ☃\n").toString("latin1"), [Buffer.from("héllo ☃").toString("latin1")]],
  ["spaces are not trimmed", "  padded  \n", ["  padded  "]],
  ["a line exactly at the limit", "abcd\n", ["abcd"], 4],
  ["a line one past the limit", "abcde\nok\n", [TOO_LONG, "ok"], 4],
  ["an over-long line told once, the rest discarded", "abcdefghij\r\nok\n", [TOO_LONG, "ok"], 4],
  ["an over-long unterminated tail at the end", "ok\nabcdefgh", ["ok", TOO_LONG], 4],
  ["an over-long line ended by a lone CR", "abcdefgh\rok\r", [TOO_LONG, "ok"], 4],
];

describe("LineFramer", () => {
  for (const [name, text, expected, max] of CASES) {
    const input = Buffer.from(text, "latin1");

    test(`${name}: whole`, () => {
      assert.deepEqual(frame([input], max), expected);
    });

    test(`${name}: split at every point`, () => {
      for (let point = 0; point <= input.length; point++) {
        assert.deepEqual(frame(splitAt(input, [point]), max), expected, `split at ${point}`);
      }
    });

    test(`${name}: split at every pair of points`, () => {
      for (let a = 0; a <= input.length; a++) {
        for (let b = a; b <= input.length; b++) {
          assert.deepEqual(frame(splitAt(input, [a, b]), max), expected, `split at ${a} and ${b}`);
        }
      }
    });

    test(`${name}: every chunk size from 1 byte up`, () => {
      for (let size = 1; size <= input.length; size++) {
        assert.deepEqual(frame(inChunksOf(input, size), max), expected, `chunks of ${size}`);
      }
    });
  }

  test("a CR at the end of one chunk and LF at the start of the next is one line end", () => {
    assert.deepEqual(frame([Buffer.from("Hello\r"), Buffer.from("\nWorld\n")]), ["Hello", "World"]);
  });

  test("a line is handed over at its CR, before the next byte arrives", () => {
    assert.deepEqual(frame([Buffer.from("Hello\r")], 8192, false), ["Hello"]);
  });

  test("a multi-byte character split across chunks comes back whole", () => {
    const snowman = Buffer.from("☃\n");
    const lines: Buffer[] = [];
    const framer = new LineFramer({ line: (l, from, to) => lines.push(Buffer.from(l.subarray(from, to))) > 0, lineTooLong: () => true }, 100);
    framer.push(snowman.subarray(0, 1));
    framer.push(snowman.subarray(1, 2));
    framer.push(snowman.subarray(2));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.toString("utf8"), "☃");
  });

  test("an endless line never makes the framer hold more than the limit", () => {
    const framer = new LineFramer({ line: () => true, lineTooLong: () => true }, 1000);
    let maxHeld = 0;
    for (let i = 0; i < 10_000; i++) {
      framer.push(Buffer.alloc(97, 0x61));
      maxHeld = Math.max(maxHeld, framer.pendingByteCount);
    }
    assert.ok(maxHeld <= 1000, `held ${maxHeld} bytes`);
    assert.equal(framer.isDiscarding, true);
  });

  test("lines handed over stay intact after later input", () => {
    const lines: Buffer[] = [];
    const framer = new LineFramer({ line: (l, from, to) => lines.push(l.subarray(from, to)) > 0, lineTooLong: () => true }, 100);
    framer.push(Buffer.from("par"));
    framer.push(Buffer.from("tial\nnext"));
    framer.push(Buffer.from("-one\n"));
    assert.deepEqual(
      lines.map((l) => l.toString()),
      ["partial", "next-one"],
    );
  });

  test("erasePreviousCharacter removes a whole UTF-8 character", () => {
    const lines: string[] = [];
    const framer = new LineFramer({ line: (l, from, to) => lines.push(l.toString("utf8", from, to)) > 0, lineTooLong: () => true }, 100);
    framer.push(Buffer.from("a€😀"));
    assert.equal(framer.erasePreviousCharacter(), 4);
    assert.equal(framer.erasePreviousCharacter(), 3);
    framer.push(Buffer.from("b\n"));
    assert.equal(framer.erasePreviousCharacter(), 0);
    assert.deepEqual(lines, ["ab"]);
  });

  test("erasePreviousCharacter on a stray continuation byte removes just that byte", () => {
    const lines: string[] = [];
    const framer = new LineFramer({ line: (l, from, to) => lines.push(l.toString("latin1", from, to)) > 0, lineTooLong: () => true }, 100);
    framer.push(Buffer.from([0x61, 0x80, 0x80]));
    assert.equal(framer.erasePreviousCharacter(), 1);
    framer.push(Buffer.from("\n"));
    assert.deepEqual(lines, ["a\x80"]);
  });

  test("discardPendingLine forgets the unfinished line only", () => {
    const lines: string[] = [];
    const framer = new LineFramer({ line: (l, from, to) => lines.push(l.toString("latin1", from, to)) > 0, lineTooLong: () => true }, 100);
    framer.push(Buffer.from("keep\ndrop"));
    assert.equal(framer.discardPendingLine(), true);
    framer.push(Buffer.from("new\n"));
    assert.deepEqual(lines, ["keep", "new"]);
  });

  test("property: any chunking of the same bytes gives the same lines", () => {
    const lineEnd = fc.constantFrom("\n", "\r\n", "\r\0", "\r");
    const byte = fc.integer({ min: 0, max: 255 });
    // Text made of arbitrary bytes and line ends, with line ends over-represented.
    const input = fc
      .array(fc.oneof({ weight: 3, arbitrary: byte.map((b) => String.fromCharCode(b)) }, { weight: 1, arbitrary: lineEnd }), {
        maxLength: 200,
      })
      .map((parts) => Buffer.from(parts.join(""), "latin1"));
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 1, max: 40 }), (bytes, cuts, max) => {
        const points = cuts.map((c) => c % (bytes.length + 1));
        assert.deepEqual(frame(splitAt(bytes, points), max), frame([bytes], max));
      }),
      { numRuns: 500 },
    );
  });

  test("a line that lies whole in the chunk is handed over as a span of that chunk (no copy)", () => {
    const chunk = Buffer.from("one\r\ntwo\nthr");
    const spans: [Buffer, number, number][] = [];
    const framer = new LineFramer({ line: (source, from, to) => spans.push([source, from, to]) > 0, lineTooLong: () => true }, 100);
    framer.push(chunk);
    assert.deepEqual(spans, [
      [chunk, 0, 3],
      [chunk, 5, 8],
    ]);
    // A line that spanned chunks comes from the framer's own copy.
    framer.push(Buffer.from("ee\n"));
    assert.notEqual(spans[2]![0], chunk);
    assert.equal(spans[2]![0].toString("latin1", spans[2]![1], spans[2]![2]), "three");
  });

  test("a sink that says stop: push() returns right after that line's end, and the rest fed later gives the same lines", () => {
    const lines: string[] = [];
    let room = 1;
    const framer = new LineFramer(
      { line: (l, from, to) => (lines.push(l.toString("latin1", from, to)), --room > 0), lineTooLong: () => --room > 0 },
      100,
    );
    const chunk = Buffer.from("a\r\nb\r\0c\rd\ne");
    assert.equal(framer.push(chunk), 3);
    room = 1;
    assert.equal(framer.push(chunk, 3), 6);
    room = 1;
    assert.equal(framer.push(chunk, 6), 8, "a lone CR followed by a byte: nothing of the next line taken");
    room = 1;
    assert.equal(framer.push(chunk, 8), 10);
    assert.equal(framer.push(chunk, 10), chunk.length, "no line end: taken whole");
    framer.finish();
    assert.deepEqual(lines, ["a", "b", "c", "d", "e"]);
    // A CR at the very end: taken, and its LF in the next chunk is still part of it.
    const other = new LineFramer({ line: (l, from, to) => (lines.push(l.toString("latin1", from, to)), false), lineTooLong: () => false }, 100);
    assert.equal(other.push(Buffer.from("x\r")), 2);
    assert.equal(other.push(Buffer.from("\ny\n")), 3);
    assert.deepEqual(lines.slice(5), ["x", "y"]);
  });

  test("property: stopping after every line and feeding the rest gives the same lines as one push", () => {
    const lineEnd = fc.constantFrom("\n", "\r\n", "\r\0", "\r");
    const input = fc
      .array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom("a", "\0", "\n") }, { weight: 2, arbitrary: lineEnd }), { maxLength: 100 })
      .map((parts) => Buffer.from(parts.join(""), "latin1"));
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 10 }), fc.integer({ min: 1, max: 8 }), (bytes, cuts, max) => {
        const events: Event[] = [];
        const framer = new LineFramer(
          { line: (l, from, to) => (events.push(l.toString("latin1", from, to)), false), lineTooLong: () => (events.push(TOO_LONG), false) },
          max,
        );
        for (const chunk of splitAt(
          bytes,
          cuts.map((c) => c % (bytes.length + 1)),
        )) {
          for (let at = 0; at < chunk.length; ) {
            const stop = framer.push(chunk, at);
            assert.ok(stop > at, "progress");
            at = stop;
          }
        }
        framer.finish();
        assert.deepEqual(events, frame([bytes], max));
      }),
      { numRuns: 500 },
    );
  });

  test("property: lines never contain a line-end byte and never exceed the limit", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 64 }), (bytes, max) => {
        for (const event of frame(inChunksOf(Buffer.from(bytes), 7), max)) {
          if (typeof event !== "string") continue;
          assert.ok(event.length <= max);
          assert.ok(!event.includes("\n") && !event.includes("\r"));
        }
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * The client's reply matcher, without sockets: the server's bytes in any
 * chunking give the same matches (every split point, every pair, every
 * chunk size, random chunkings), and no input makes it hold more than its
 * line limit. The notices are the server's own bytes (protocol/notices.ts).
 */
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ReplyMatcher } from "../../src/client/reply-matcher.js";
import {
  clientMemoryNotice,
  idleNotice,
  lineTooLongNotice,
  outOfDescriptorsNotice,
  serverFullNotice,
  SHUTDOWN_NOTICE,
  tooManyFromAddressNotice,
} from "../../src/protocol/notices.js";
import { inChunksOf, splitAt } from "../helpers/chunks.js";

type Event =
  | ["reply", string, string]
  | ["refused", string, string]
  | ["ended", string, string[]]
  | ["line", string, "notice" | "reply or other"]
  | ["too long"];

interface Run {
  events: Event[];
  /** The most bytes of an unfinished line the matcher held after any push. */
  mostHeld: number;
}

/** Owes `owed` (in that order, before any byte), feeds `chunks`, then the server's FIN. */
function run(owed: string[], chunks: Buffer[], maxLineLength = 1024): Run {
  const events: Event[] = [];
  const matcher = new ReplyMatcher<{ line: string }>(
    {
      answered: (entry, answer) => events.push(["reply", entry.line, answer]),
      refused: (entry, kind) => events.push(["refused", entry.line, kind]),
      ended: (kind, _notice, entries) => events.push(["ended", kind, entries.map((entry) => entry.line)]),
      line: (text, notice) => events.push(["line", text, notice ? "notice" : "reply or other"]),
      lineTooLong: () => events.push(["too long"]),
    },
    maxLineLength,
  );
  for (const line of owed) matcher.owe({ line });
  let mostHeld = 0;
  for (const chunk of chunks) {
    matcher.push(chunk);
    mostHeld = Math.max(mostHeld, matcher.pendingByteCount);
  }
  matcher.end();
  return { events, mostHeld };
}

const text = (notice: Buffer): string => notice.toString().replace(/\r\n$/, "");
const reply = (line: string): Event => ["line", line, "reply or other"];
const notice = (line: string): Event => ["line", line, "notice"];

// [name, lines owed, what the server sends, what the matcher makes of it, maxLineLength]
const CASES: Array<[string, string[], Buffer | string, Event[], number?]> = [
  [
    "a reply per line, CR LF",
    ["Hello", "World"],
    "Hello Ali\r\nWorld Ali\r\n",
    [["reply", "Hello", "Hello Ali"], reply("Hello Ali"), ["reply", "World", "World Ali"], reply("World Ali")],
  ],
  ["a bare LF ends a reply too", ["a"], "a Ali\n", [["reply", "a", "a Ali"], reply("a Ali")]],
  [
    "so does a lone CR or CR NUL (the server's own framing)",
    ["a", "b"],
    "a Ali\rb Ali\r\0",
    [["reply", "a", "a Ali"], reply("a Ali"), ["reply", "b", "b Ali"], reply("b Ali")],
  ],
  [
    "the empty line's reply is the name alone",
    ["", "x"],
    "Ali Baba\r\nx Ali Baba\r\n",
    [["reply", "", "Ali Baba"], reply("Ali Baba"), ["reply", "x", "x Ali Baba"], reply("x Ali Baba")],
  ],
  [
    "lines that look like notices get their replies",
    ["error: not really", "closing: nor this"],
    "error: not really Ali\r\nclosing: nor this Ali\r\n",
    [
      ["reply", "error: not really", "error: not really Ali"],
      reply("error: not really Ali"),
      ["reply", "closing: nor this", "closing: nor this Ali"],
      reply("closing: nor this Ali"),
    ],
  ],
  [
    "once the name is known, a notice-like reply must be exact",
    ["a", "error: x"],
    "a Ali\r\nerror: x Ali\r\n",
    [["reply", "a", "a Ali"], reply("a Ali"), ["reply", "error: x", "error: x Ali"], reply("error: x Ali")],
  ],
  [
    "UTF-8 comes back whole at every split",
    ["héllo", "日本"],
    "héllo Zoë\r\n日本 Zoë\r\n",
    [["reply", "héllo", "héllo Zoë"], reply("héllo Zoë"), ["reply", "日本", "日本 Zoë"], reply("日本 Zoë")],
  ],
  [
    "a line edited by the server (Backspace) still answers the oldest",
    ["abX\b", "z"],
    "ab Ali\r\nz Ali\r\n",
    [["reply", "abX\b", "ab Ali"], reply("ab Ali"), ["reply", "z", "z Ali"], reply("z Ali")],
  ],
  [
    "a line over the server's limit: its notice stands in for that reply only",
    ["short", "x".repeat(40), "after"],
    Buffer.concat([Buffer.from("short Ali\r\n"), lineTooLongNotice(16), Buffer.from("after Ali\r\n")]),
    [
      ["reply", "short", "short Ali"],
      reply("short Ali"),
      ["refused", "x".repeat(40), "line-too-long"],
      notice(text(lineTooLongNotice(16))),
      ["reply", "after", "after Ali"],
      reply("after Ali"),
    ],
  ],
  [
    "the shutdown notice ends every owed send",
    ["a", "b", "c"],
    Buffer.concat([Buffer.from("a Ali\r\n"), SHUTDOWN_NOTICE]),
    [["reply", "a", "a Ali"], reply("a Ali"), ["ended", "shutdown", ["b", "c"]], notice(text(SHUTDOWN_NOTICE))],
  ],
  ["the idle notice ends them too", ["a"], idleNotice(300), [["ended", "idle", ["a"]], notice(text(idleNotice(300)))]],
  ["so does the client-memory notice", ["a"], clientMemoryNotice(4096), [["ended", "client-memory", ["a"]], notice(text(clientMemoryNotice(4096)))]],
  ["a full server turns the client away", ["me too"], serverFullNotice(1), [["ended", "server-full", ["me too"]], notice(text(serverFullNotice(1)))]],
  [
    "so does one out of descriptors",
    ["hello"],
    outOfDescriptorsNotice(),
    [["ended", "out-of-descriptors", ["hello"]], notice(text(outOfDescriptorsNotice()))],
  ],
  [
    "and the per-address limit",
    ["hello"],
    tooManyFromAddressNotice(2),
    [["ended", "too-many-from-address", ["hello"]], notice(text(tooManyFromAddressNotice(2)))],
  ],
  [
    "an unknown error stands in for the oldest reply, an unknown closing ends the rest",
    ["one", "two", "three"],
    "error: disk on fire\r\nclosing: for a reason of its own\r\n",
    [["refused", "one", "error"], notice("error: disk on fire"), ["ended", "closing", ["two", "three"]], notice("closing: for a reason of its own")],
  ],
  ["a notice with nothing owed answers nothing", [], "error: disk on fire\r\n", [notice("error: disk on fire")]],
  ["a line with nothing owed is still a line", [], "hello there\r\n", [reply("hello there")]],
  ["the final line without a line end, at the server's FIN", ["last"], "last Ali", [["reply", "last", "last Ali"], reply("last Ali")]],
  [
    "a line over the client's limit stops the matcher",
    ["a", "b"],
    "a Ali\r\n0123456789\r\nb Ali\r\n",
    [["reply", "a", "a Ali"], reply("a Ali"), ["too long"]],
    8,
  ],
  ["so does an unended one past the limit", ["a"], "a Ali\r\n0123456789", [["reply", "a", "a Ali"], reply("a Ali"), ["too long"]], 8],
  ["a line exactly at the limit is fine", ["abcd"], "abcd Ali\r\n", [["reply", "abcd", "abcd Ali"], reply("abcd Ali")], 8],
];

describe("ReplyMatcher", () => {
  for (const [name, owed, bytes, expected, max] of CASES) {
    const input = typeof bytes === "string" ? Buffer.from(bytes) : bytes;

    test(`${name}: whole`, () => {
      assert.deepEqual(run(owed, [input], max).events, expected);
    });

    test(`${name}: split at every point`, () => {
      for (let point = 0; point <= input.length; point++) {
        assert.deepEqual(run(owed, splitAt(input, [point]), max).events, expected, `split at ${point}`);
      }
    });

    test(`${name}: split at every pair of points`, () => {
      for (let a = 0; a <= input.length; a++) {
        for (let b = a; b <= input.length; b++) {
          assert.deepEqual(run(owed, splitAt(input, [a, b]), max).events, expected, `split at ${a} and ${b}`);
        }
      }
    });

    test(`${name}: every chunk size from 1 byte up`, () => {
      for (let size = 1; size <= input.length; size++) {
        assert.deepEqual(run(owed, inChunksOf(input, size), max).events, expected, `chunks of ${size}`);
      }
    });
  }

  test("the name is learned from the first reply that shows it", () => {
    const matcher = new ReplyMatcher<{ line: string }>(
      { answered: () => {}, refused: () => {}, ended: () => {}, line: () => {}, lineTooLong: () => {} },
      1024,
    );
    matcher.owe({ line: "edited\b" });
    matcher.owe({ line: "x" });
    matcher.push(Buffer.from("edite Ali\r\n"));
    assert.equal(matcher.name, undefined, "an edited line does not show the name");
    assert.equal(matcher.owedCount, 1);
    matcher.push(Buffer.from("x Ali Baba\r\n"));
    assert.equal(matcher.name, "Ali Baba");
    assert.equal(matcher.owedCount, 0);
  });

  test("takeAllOwed gives up what is owed, oldest first, past a compaction of the queue", () => {
    const answered: string[] = [];
    const matcher = new ReplyMatcher<{ line: string }>(
      { answered: (entry) => answered.push(entry.line), refused: () => {}, ended: () => {}, line: () => {}, lineTooLong: () => {} },
      1024,
    );
    for (let i = 0; i < 3000; i++) matcher.owe({ line: `n${i}` });
    matcher.push(Buffer.from(Array.from({ length: 2500 }, (_, i) => `n${i} Ali\r\n`).join("")));
    assert.deepEqual(
      answered,
      Array.from({ length: 2500 }, (_, i) => `n${i}`),
    );
    assert.equal(matcher.owedCount, 500);
    assert.deepEqual(
      matcher.takeAllOwed().map((entry) => entry.line),
      Array.from({ length: 500 }, (_, i) => `n${2500 + i}`),
    );
    assert.equal(matcher.owedCount, 0);
  });

  test("any chunking of any bytes gives the same matches, and never holds more than the limit", () => {
    const owedLines = fc.array(fc.oneof(fc.constantFrom("", "a", "error: x", "closing: y", "b c"), fc.string({ maxLength: 8 })), { maxLength: 8 });
    const noise = fc.array(
      fc.oneof(
        fc.constantFrom("a Ali\r\n", "Ali\r\n", "error: x Ali\r\n", "b c Ali\n", "\r", "\n", "\r\0", "x".repeat(40)),
        fc.constantFrom(text(lineTooLongNotice(8)), text(SHUTDOWN_NOTICE), text(serverFullNotice(1))).map((line) => `${line}\r\n`),
        fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
      ),
      { maxLength: 12 },
    );
    const cuts = fc.array(fc.nat(), { maxLength: 10 });
    fc.assert(
      fc.property(owedLines, noise, cuts, fc.integer({ min: 1, max: 32 }), (owed, parts, points, max) => {
        const input = Buffer.from(parts.join(""), "latin1");
        const whole = run(owed, [input], max);
        const split = run(
          owed,
          splitAt(
            input,
            points.map((point) => point % (input.length + 1)),
          ),
          max,
        );
        assert.deepEqual(split.events, whole.events);
        assert.ok(whole.mostHeld <= max && split.mostHeld <= max, `held ${Math.max(whole.mostHeld, split.mostHeld)} of ${max}`);
      }),
      { numRuns: 500 },
    );
  });

  test("replies to any lines, in any chunking, answer each send with its own reply", () => {
    const lines = fc.array(
      fc.string({ maxLength: 20 }).filter((line) => !/[\r\n]/.test(line)),
      { minLength: 1, maxLength: 20 },
    );
    fc.assert(
      fc.property(lines, fc.array(fc.nat(), { maxLength: 10 }), (sent, points) => {
        const input = Buffer.from(sent.map((line) => `${line === "" ? "" : `${line} `}Ali\r\n`).join(""));
        const { events } = run(
          sent,
          splitAt(
            input,
            points.map((point) => point % (input.length + 1)),
          ),
        );
        const answers = events.filter((event) => event[0] === "reply");
        assert.deepEqual(
          answers,
          sent.map((line) => ["reply", line, line === "" ? "Ali" : `${line} Ali`]),
        );
      }),
      { numRuns: 300 },
    );
  });
});

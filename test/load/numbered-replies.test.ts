/**
 * The lines bench sends and the check of the replies (src/load/numbered-replies.ts),
 * without sockets: the replies are built here by hand, and fed whole and in
 * every chunking.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { MIN_LINE_BYTES, NumberedLines, ReplyChecker } from "../../src/load/numbered-replies.js";
import { ReplyEncoder } from "../../src/protocol/reply.js";

/** ["good", seq], ["bad", seq, expected, got] or ["unexpected", bytes]. */
type Event = Array<string | number>;

/** A checker for client `client`'s lines that records what it finds (byte strings as latin1). */
function checker(client: number, lineBytes: number, name: string) {
  const events: Event[] = [];
  const lines = new NumberedLines(client, lineBytes);
  const check = new ReplyChecker(lines, new ReplyEncoder(name), {
    good: (seq) => events.push(["good", seq]),
    bad: (seq, expected, got) => events.push(["bad", seq, expected.toString("latin1"), got.toString("latin1")]),
    unexpected: (bytes) => events.push(["unexpected", bytes.toString("latin1")]),
  });
  return { lines, check, events };
}

/** The replies a correct server owes to lines `first` … `first + count - 1`, built without the encoder. */
function replies(lines: NumberedLines, first: number, count: number, name: string): Buffer {
  const sent = lines.batch(first, count).toString("latin1").split("\r\n").slice(0, -1);
  return Buffer.concat(sent.map((line) => Buffer.concat([Buffer.from(line, "latin1"), Buffer.from(` ${name}\r\n`, "utf8")])));
}

function splitAt(bytes: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set([0, ...points, bytes.length])].sort((a, b) => a - b);
  return cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
}

describe("the numbered lines", () => {
  test("a line is the client tag, the sequence number in 8 hex digits, and a padding letter that follows the number", () => {
    const lines = new NumberedLines(26, 24);
    assert.equal(lines.tag.toString("latin1"), "cq.");
    // 0x2b = 43; 43 % 26 = 17: the padding letter is "r".
    assert.equal(lines.batch(0x2b, 1).toString("latin1"), "cq.0000002brrrrrrrrrrrrr\r\n");
    assert.equal(lines.batch(0xfffffffe, 2).toString("latin1"), `cq.fffffffe${"u".repeat(13)}\r\ncq.ffffffff${"v".repeat(13)}\r\n`);
  });

  test("the shortest line still holds the tag of the 100,000th client and the whole number", () => {
    const line = new NumberedLines(99_999, MIN_LINE_BYTES).batch(7, 1).toString("latin1");
    assert.equal(line, "c255r.00000007hh\r\n");
  });

  test("consecutive lines differ, so a swapped or repeated reply is caught", () => {
    const lines = new NumberedLines(1, 24);
    const sent = lines.batch(0, 100).toString("latin1").split("\r\n").slice(0, -1);
    assert.equal(sent.length, 100);
    assert.equal(new Set(sent).size, 100);
    for (const line of sent) assert.equal(line.length, 24);
  });
});

describe("the reply checker", () => {
  test("right replies in one chunk: each is good, in order, and nothing is owed after", () => {
    const { lines, check, events } = checker(3, 24, "Ali");
    check.expectReplies(3);
    assert.equal(check.inFlight, 3);
    assert.equal(check.receive(replies(lines, 0, 3, "Ali")), 3);
    assert.deepEqual(events, [
      ["good", 0],
      ["good", 1],
      ["good", 2],
    ]);
    assert.equal(check.inFlight, 0);
    assert.equal(check.linesSent, 3);
  });

  test("the expected reply is the protocol's: a UTF-8 name is matched byte for byte", () => {
    const { lines, check, events } = checker(0, 20, "Zoë 李");
    check.expectReplies(2);
    const right = replies(lines, 0, 2, "Zoë 李");
    // Cut inside the "ë": a reply split in the middle of a character is still one right reply.
    assert.equal(check.receive(right.subarray(0, 24)), 0, "half a reply ends nothing");
    assert.equal(check.receive(right.subarray(24)), 2);
    assert.deepEqual(events, [
      ["good", 0],
      ["good", 1],
    ]);
  });

  test("a wrong name is a bad reply, quoted from where the reply started; the next reply is checked afresh", () => {
    const { lines, check, events } = checker(0, 16, "Bob");
    check.expectReplies(2);
    assert.equal(check.receive(Buffer.concat([replies(lines, 0, 1, "Ali"), replies(lines, 1, 1, "Bob")])), 2);
    assert.equal(events.length, 2);
    const [kind, seq, expected, got] = events[0] as [string, number, string, string];
    assert.deepEqual([kind, seq], ["bad", 0]);
    assert.equal(expected, "c0.00000000aaaaa Bob\r\n");
    assert.ok(got.startsWith("c0.00000000aaaaa Ali\r\n"), got);
    assert.deepEqual(events[1], ["good", 1]);
  });

  test("a missing reply and a doubled one are bad replies at the line they hit", () => {
    const missing = checker(0, 24, "Ali");
    missing.check.expectReplies(3);
    missing.check.receive(Buffer.concat([replies(missing.lines, 0, 1, "Ali"), replies(missing.lines, 2, 1, "Ali")]));
    assert.deepEqual(
      missing.events.map((e) => e.slice(0, 2)),
      [
        ["good", 0],
        ["bad", 1],
      ],
    );
    assert.equal(missing.check.inFlight, 1, "the reply to line 2 is still owed");

    const doubled = checker(0, 24, "Ali");
    doubled.check.expectReplies(2);
    doubled.check.receive(Buffer.concat([replies(doubled.lines, 0, 1, "Ali"), replies(doubled.lines, 0, 1, "Ali")]));
    assert.deepEqual(
      doubled.events.map((e) => e.slice(0, 2)),
      [
        ["good", 0],
        ["bad", 1],
      ],
    );
  });

  test("a reply without its CR is bad; the LF still ends it", () => {
    const { lines, check, events } = checker(0, 16, "Ali");
    check.expectReplies(2);
    const noCr = Buffer.from(replies(lines, 0, 1, "Ali").toString("latin1").replace("\r\n", "\n"), "latin1");
    assert.equal(check.receive(Buffer.concat([noCr, replies(lines, 1, 1, "Ali")])), 2);
    assert.deepEqual(
      events.map((e) => e.slice(0, 2)),
      [
        ["bad", 0],
        ["good", 1],
      ],
    );
  });

  test("bytes while nothing is owed are unexpected, and end nothing", () => {
    const { lines, check, events } = checker(0, 16, "Ali");
    assert.equal(check.receive(Buffer.from("hello\r\n")), 0);
    check.expectReplies(1);
    assert.equal(check.receive(Buffer.concat([replies(lines, 0, 1, "Ali"), Buffer.from("extra")])), 1);
    assert.deepEqual(events, [
      ["unexpected", "hello\r\n"],
      ["good", 0],
      ["unexpected", "extra"],
    ]);
  });

  test("abandon gives up on what is owed and says how much that was", () => {
    const { lines, check, events } = checker(0, 16, "Ali");
    check.expectReplies(3);
    check.receive(replies(lines, 0, 1, "Ali"));
    assert.equal(check.abandon(), 2);
    assert.equal(check.inFlight, 0);
    check.receive(replies(lines, 1, 1, "Ali"));
    assert.deepEqual(
      events.map((e) => e[0]),
      ["good", "unexpected"],
    );
  });

  test("property: any chunking of the same replies, right or damaged, gives the same verdicts", () => {
    const damage = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: MIN_LINE_BYTES, max: 40 }),
        damage,
        fc.array(fc.nat(), { maxLength: 30 }),
        (count, lineBytes, changes, cuts) => {
          const stream = Buffer.from(replies(new NumberedLines(5, lineBytes), 0, count, "Ali"));
          for (const [at, value] of changes) if (stream.length > 0) stream[at % stream.length] = value;
          const verdicts = (chunks: Buffer[]) => {
            const { check, events } = checker(5, lineBytes, "Ali");
            // More owed than can arrive (each change adds at most one LF), so nothing is unexpected.
            check.expectReplies(count + 5);
            const ended = chunks.reduce((sum, chunk) => sum + check.receive(chunk), 0);
            return { ended, events: events.map((e) => e.slice(0, 2)) };
          };
          const whole = verdicts([stream]);
          if (changes.length === 0)
            assert.deepEqual(
              whole.events,
              Array.from({ length: count }, (_, i) => ["good", i]),
            );
          assert.deepEqual(
            verdicts(
              splitAt(
                stream,
                cuts.map((c) => c % (stream.length + 1)),
              ),
            ),
            whole,
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

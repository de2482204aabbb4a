import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { answerPlainLines } from "../../src/protocol/plain-lines.js";
import { OutputBatch, ReplyEncoder } from "../../src/protocol/reply.js";
import { TelnetSession } from "../../src/protocol/telnet-session.js";
import { DO, IAC, OPT_ECHO, OPT_SGA, type TelnetParser } from "../../src/protocol/telnet-parser.js";

const TOO_LONG = Buffer.from("!too long\r\n");

/** The full path alone: what TelnetSession.receive() did before it had the fast path, for comparison. */
class FullPathSession<Owner> extends TelnetSession<Owner> {
  override receive(chunk: Buffer, budget = Infinity): number {
    const self = this as unknown as { out: OutputBatch; budget: number; parser: TelnetParser };
    if (self.out.length >= budget) return 0;
    self.budget = budget;
    return self.parser.push(chunk);
  }
}

interface Wired {
  session: TelnetSession;
  batch: OutputBatch;
  /** lineTooLong() calls, each answered with a notice through the session (as TcpConnection does). */
  tooLong: number;
}

function wire(kind: typeof TelnetSession, maxLineLength: number): Wired {
  const batch = new OutputBatch(new ReplyEncoder("Ali"));
  const wired = { batch, tooLong: 0 } as Wired;
  wired.session = new kind(
    {
      lineTooLong: (owner) => {
        owner.tooLong++;
        owner.session.notice(TOO_LONG);
      },
    },
    wired,
    batch,
    maxLineLength,
  );
  return wired;
}

describe("answerPlainLines: where the fast path hands over", () => {
  const cases: { name: string; input: string; stop: number; out: string; max?: number }[] = [
    {
      name: "LF, CR LF, CR NUL and a lone CR end lines",
      input: "a\nb\r\nc\r\0d\re\n",
      stop: 12,
      out: "a Ali\r\nb Ali\r\nc Ali\r\nd Ali\r\ne Ali\r\n",
    },
    { name: "an empty line gets the name alone", input: "\n\r\n", stop: 3, out: "Ali\r\nAli\r\n" },
    { name: "an unfinished plain line is left to the framer to keep (~at)", input: "a\nbc", stop: ~2, out: "a Ali\r\n" },
    { name: "a CR as the last byte is left to the framer (an LF may follow)", input: "a\nb\r", stop: 2, out: "a Ali\r\n" },
    { name: "a CR before an IAC is left to the full path (CR IAC NOP LF is one line end)", input: "a\nb\r\xff\xf1\n", stop: 2, out: "a Ali\r\n" },
    { name: "IAC stops it at the start of its line", input: "a\nb\xffc\n", stop: 2, out: "a Ali\r\n" },
    { name: "BS stops it", input: "a\nb\bc\n", stop: 2, out: "a Ali\r\n" },
    { name: "DEL stops it", input: "a\nb\x7fc\n", stop: 2, out: "a Ali\r\n" },
    { name: "Ctrl-C stops it", input: "a\nb\x03c\n", stop: 2, out: "a Ali\r\n" },
    { name: "other control bytes and UTF-8 are data", input: "\x1b[A\t\0\xc3\xa9\xfe\n", stop: 9, out: "\x1b[A\t\0\xc3\xa9\xfe Ali\r\n" },
    { name: "a line at the limit is answered", input: "abcd\nx\n", stop: 7, out: "abcd Ali\r\nx Ali\r\n", max: 4 },
    { name: "a line over the limit is left to the framer (its notice)", input: "x\nabcde\n", stop: 2, out: "x Ali\r\n", max: 4 },
    { name: "an unfinished line over the limit is the full path's (its notice)", input: "x\nabcdefgh", stop: 2, out: "x Ali\r\n", max: 4 },
  ];
  for (const { name, input, stop, out, max = 8192 } of cases) {
    test(name, { timeout: 5000 }, () => {
      const batch = new OutputBatch(new ReplyEncoder("Ali"));
      assert.equal(answerPlainLines(Buffer.from(input, "latin1"), 0, batch, max, Infinity), stop);
      assert.equal(batch.take()?.toString("latin1") ?? "", out);
    });
  }

  test("it stops after the line that fills the budget, as the full path does", { timeout: 5000 }, () => {
    const batch = new OutputBatch(new ReplyEncoder("Ali"));
    // "a Ali\r\n" is 7 bytes: a budget of 8 is filled by the second reply.
    assert.equal(answerPlainLines(Buffer.from("a\nb\nc\n"), 0, batch, 8192, 8), 4);
    assert.equal(batch.replyCount, 2);
    assert.equal(batch.take()?.toString(), "a Ali\r\nb Ali\r\n");
  });

  test("it counts the replies it writes, after those already in the batch", { timeout: 5000 }, () => {
    const batch = new OutputBatch(new ReplyEncoder("Ali"));
    batch.addReply(Buffer.from("x"));
    // Long enough to make the output grow while lines are being answered.
    const many = Buffer.from("line\n".repeat(500));
    assert.equal(answerPlainLines(many, 0, batch, 8192, Infinity), many.length);
    assert.equal(batch.replyCount, 501);
    assert.equal(batch.take()?.toString(), "x Ali\r\n" + "line Ali\r\n".repeat(500));
  });
});

describe("the fast path gives what the full path gives", () => {
  // Mostly plain lines, with every byte that makes the fast path hand over mixed in.
  const byte = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(0x61, 0x62, 0x20, 0xc3, 0xa9, 0x00, 0x1b) },
    { weight: 4, arbitrary: fc.constantFrom(0x0a, 0x0d) },
    { weight: 1, arbitrary: fc.constantFrom(0x08, 0x7f, 0x03, IAC, DO, OPT_ECHO, OPT_SGA, 0xf6, 0xf8) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  const input = fc.array(byte, { maxLength: 400 }).map((bytes) => Buffer.from(bytes));
  const sizes = fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 });

  function chunks(bytes: Buffer, pattern: number[]): Buffer[] {
    const out: Buffer[] = [];
    for (let at = 0, k = 0; at < bytes.length; k++) {
      const size = pattern[k % pattern.length]!;
      out.push(bytes.subarray(at, at + size));
      at += size;
    }
    return out;
  }

  /**
   * Feeds every chunk as TcpConnection does under a budget (the rest of a
   * chunk fed again once the client has taken its bytes); returns what is
   * observable once each chunk is in: the bytes sent so far, the replies, the
   * notices, the bytes held and whether it echoes. (Where inside a chunk a
   * budget stop falls may differ by an edit byte, which sends nothing: the
   * full path takes an edit byte that directly follows the stopping line.)
   */
  function run(kind: typeof TelnetSession, pieces: Buffer[], max: number, budget: number): string[] {
    const wired = wire(kind, max);
    const seen: string[] = [];
    let sent = "";
    for (const piece of pieces) {
      for (let rest = piece; rest.length > 0; ) {
        const consumed = wired.session.receive(rest, budget);
        sent += wired.batch.take()?.toString("latin1") ?? "";
        rest = rest.subarray(consumed);
      }
      seen.push(JSON.stringify([sent, wired.batch.replyCount, wired.tooLong, wired.session.pendingByteCount, wired.session.echoing]));
    }
    wired.session.finish();
    sent += wired.batch.take()?.toString("latin1") ?? "";
    seen.push(JSON.stringify([sent, wired.batch.replyCount]));
    return seen;
  }

  test("byte-identical output, replies, notices and held bytes, for any input, chunking, limit and budget", { timeout: 60000 }, () => {
    fc.assert(
      fc.property(input, sizes, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), (bytes, pattern, max, budget) => {
        const pieces = chunks(bytes, pattern);
        assert.deepEqual(run(TelnetSession, pieces, max, budget), run(FullPathSession, pieces, max, budget));
      }),
      { numRuns: 3000 },
    );
  });
});

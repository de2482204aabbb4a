import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { LineFramer } from "../../src/protocol/line-framer.js";
import { OutputBatch, ReplyEncoder } from "../../src/protocol/reply.js";
import { AYT_REPLY, TelnetSession } from "../../src/protocol/telnet-session.js";
import {
  AYT,
  DO,
  DONT,
  EC,
  EL,
  IAC,
  IP,
  MAX_SUBNEGOTIATION_BYTES,
  OPT_ECHO,
  OPT_LINEMODE,
  OPT_SGA,
  OPT_TIMING_MARK,
  SB,
  SE,
  TelnetParser,
  WILL,
  WONT,
} from "../../src/protocol/telnet-parser.js";

const NAWS = 31;
const TOO_LONG = Buffer.from("!too long\r\n");

interface Run {
  session: TelnetSession;
  batch: OutputBatch;
  lines: string[];
  /** Everything written to the client, one string per receive() call (latin1, so bytes stay bytes). */
  writes: string[];
  receive(...chunks: (Buffer | string)[]): string;
}

/**
 * A batch that keeps the lines it is given replies for, as they go back on
 * the wire (0xFF doubled): one at a time from addReplySpan(), or a run of
 * plain replies written straight into the output (the fast path) and
 * committed, which are read back from the bytes (each is `line Ali` or
 * `Ali` for an empty line, CR LF after it; a line holds no CR or LF).
 */
class LineRecordingBatch extends OutputBatch {
  readonly lines: string[] = [];

  override addReplySpan(source: Buffer, from: number, to: number): void {
    this.lines.push(source.toString("latin1", from, to));
    super.addReplySpan(source, from, to);
  }

  override commit(length: number, replies: number): void {
    const before = this.length;
    super.commit(length, replies);
    if (replies === 0) return;
    const written = this.room(0).toString("latin1", before, length).split("\r\n").slice(0, -1);
    assert.equal(written.length, replies);
    for (const reply of written) this.lines.push(reply === "Ali" ? "" : reply.slice(0, -" Ali".length));
  }
}

/** A session wired as TcpConnection wires it: replies and notices go into the same batch. */
function session(maxLineLength = 8192): Run {
  const batch = new LineRecordingBatch(new ReplyEncoder("Ali"));
  const lines = batch.lines;
  const s: TelnetSession = new TelnetSession(
    {
      lineTooLong: () => s.notice(TOO_LONG),
    },
    null,
    batch,
    maxLineLength,
  );
  const writes: string[] = [];
  return {
    session: s,
    batch,
    lines,
    writes,
    receive(...chunks) {
      // With no chunks: what was added outside receive() (notices).
      let out = batch.take()?.toString("latin1") ?? "";
      for (const chunk of chunks) {
        s.receive(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk);
        const bytes = batch.take();
        if (bytes !== null) out += bytes.toString("latin1");
      }
      writes.push(out);
      return out;
    },
  };
}

const iac = (...bytes: number[]): string => Buffer.from([IAC, ...bytes]).toString("latin1");
const keys = (typed: string): string[] => [...typed];
const latin1 = (text: string): string => Buffer.from(text).toString("latin1");

describe("TelnetSession: line editing (no echo)", () => {
  const cases: { name: string; input: string; lines: string[]; out?: string }[] = [
    { name: "plain line", input: "Hello\r\n", lines: ["Hello"], out: "Hello Ali\r\n" },
    { name: "BS erases", input: "Helpx\b\blo\r\n", lines: ["Hello"] },
    { name: "DEL erases", input: "Helpx\x7f\x7flo\n", lines: ["Hello"] },
    { name: "BS erases a whole 2-byte UTF-8 character", input: "caf\xc3\xa9\be\n", lines: ["cafe"] },
    { name: "DEL erases a whole 4-byte UTF-8 character", input: "a\xf0\x9f\x98\x80\x7fb\n", lines: ["ab"] },
    { name: "BS on an empty line does nothing", input: "\b\x7fa\n", lines: ["a"] },
    { name: "Ctrl-C discards the pending line", input: "abc\x03def\n", lines: ["def"] },
    { name: "IAC EC erases one character", input: `abc${iac(EC)}d\n`, lines: ["abd"] },
    { name: "IAC EL erases the pending line", input: `abc${iac(EL)}d\n`, lines: ["d"] },
    { name: "IAC IP discards the pending line", input: `abc${iac(IP)}d\n`, lines: ["d"] },
    // The sink gets the line as it goes back on the wire: the 0xFF doubled (RFC 854).
    { name: "IAC IAC is a literal 0xFF, doubled again in the reply", input: `a${iac(IAC)}b\n`, lines: ["a\xff\xffb"], out: "a\xff\xffb Ali\r\n" },
    {
      name: "a 0xFF first in a line, and lines after it untouched",
      input: `${iac(IAC)}\nx\n${iac(IAC)}${iac(IAC)}\n`,
      lines: ["\xff\xff", "x", "\xff\xff\xff\xff"],
    },
    { name: "a 0xFF in a line erased by BS", input: `a${iac(IAC)}\bb\n`, lines: ["ab"] },
    {
      name: "a BS between CR and LF separates them: two line ends",
      input: "a\r\b\n",
      lines: ["a", ""],
      out: "a Ali\r\nAli\r\n",
    },
    { name: "invalid UTF-8 comes back as it is", input: "\xc3\x28\xfe\x80\n", lines: ["\xc3\x28\xfe\x80"], out: "\xc3\x28\xfe\x80 Ali\r\n" },
    { name: "other control bytes are data", input: "a\x1b[A\tb\x00\n", lines: ["a\x1b[A\tb\x00"] },
    { name: "commands never reach the line", input: `He${iac(241)}l${iac(SB, 24, 1, 2, IAC, SE)}lo\n`, lines: ["Hello"] },
  ];
  for (const { name, input, lines, out } of cases) {
    test(name, { timeout: 5000 }, () => {
      for (const chunks of [[input], keys(input)]) {
        const run = session();
        const written = run.receive(...chunks);
        assert.deepEqual(run.lines, lines);
        if (out !== undefined) assert.equal(written, out);
        assert.equal(run.session.echoing, false);
      }
    });
  }

  test("a Ctrl-C ends the discarding of an over-long line", { timeout: 5000 }, () => {
    const run = session(4);
    assert.equal(run.receive("abcdefgh"), TOO_LONG.toString());
    run.receive("\x03ok\n");
    assert.deepEqual(run.lines, ["ok"]);
  });
});

describe("TelnetSession: commands and negotiation", () => {
  test("AYT gets a short line back", { timeout: 5000 }, () => {
    assert.equal(session().receive(iac(AYT)), AYT_REPLY.toString("latin1"));
    assert.equal(AYT_REPLY.toString(), "[yes, name-echo is here]\r\n");
  });

  test("Linux telnet Ctrl-C in line mode: IP + DO TIMING-MARK answered after the replies before it, nothing offered", { timeout: 5000 }, () => {
    const run = session();
    const out = run.receive(`one\r\nhalf${iac(IP)}${iac(DO, OPT_TIMING_MARK)}`);
    assert.equal(out, `one Ali\r\n${iac(WILL, OPT_TIMING_MARK)}`);
    // A second Ctrl-C is answered too: a stateful TM would freeze the client here.
    assert.equal(run.receive(`${iac(IP)}${iac(DO, OPT_TIMING_MARK)}`), iac(WILL, OPT_TIMING_MARK));
    assert.equal(run.receive("next\r\n"), "next Ali\r\n");
    assert.equal(run.session.echoing, false);
  });

  test("a plain client sending one byte at a time never gets negotiation", { timeout: 5000 }, () => {
    const run = session();
    const out = keys("Hello\r\nWorld\r\n")
      .map((k) => run.receive(k))
      .join("");
    assert.equal(out, "Hello Ali\r\nWorld Ali\r\n");
  });

  test("a client that only refuses (Linux telnet `mode line`) is offered nothing", { timeout: 5000 }, () => {
    const run = session();
    const out = run.receive(iac(DONT, OPT_SGA) + iac(WILL, OPT_LINEMODE) + iac(DONT, OPT_ECHO));
    assert.equal(out, iac(DONT, OPT_LINEMODE));
    assert.equal(run.session.echoing, false);
  });

  test("an endless subnegotiation is bounded and ends cleanly", { timeout: 5000 }, () => {
    const run = session();
    run.receive(iac(SB, NAWS));
    for (let i = 0; i < 100; i++) {
      run.receive(Buffer.alloc(10_000, 0x41));
      assert.ok(run.session.bufferedTelnetBytes <= MAX_SUBNEGOTIATION_BYTES);
    }
    assert.equal(run.receive(`${iac(SE)}ok\n`), "ok Ali\r\n");
  });
});

describe("TelnetSession: server echo for character-mode clients", () => {
  /** Linux telnet after `mode character` sends DO SGA and DO ECHO. */
  function characterMode(): Run {
    const run = session();
    const out = run.receive(iac(DO, OPT_SGA) + iac(DO, OPT_ECHO));
    assert.equal(out, iac(WILL, OPT_SGA) + iac(WILL, OPT_ECHO));
    assert.equal(run.session.echoing, true);
    return run;
  }

  test("typed text is echoed once, the line ended before its reply", { timeout: 5000 }, () => {
    const run = characterMode();
    const out = [...keys("Hello"), "\r\0"].map((k) => run.receive(k));
    assert.deepEqual(out, ["H", "e", "l", "l", "o", "\r\nHello Ali\r\n"]);
  });

  test("Helpx, Backspace twice, lo, Enter: the screen is edited and one reply comes", { timeout: 5000 }, () => {
    const run = characterMode();
    const out = [...keys("Helpx"), "\x7f", "\x7f", ..."lo", "\r\0"].map((k) => run.receive(k)).join("");
    assert.equal(out, "Helpx\b \b\b \blo\r\nHello Ali\r\n");
    assert.deepEqual(run.lines, ["Hello"]);
  });

  test("a pasted chunk of several lines: each echoed line before its own reply", { timeout: 5000 }, () => {
    const run = characterMode();
    assert.equal(run.receive("a\r\nb\rc\n"), "a\r\na Ali\r\nb\r\nb Ali\r\nc\r\nc Ali\r\n");
  });

  test("CR and its NUL in separate chunks make one line end", { timeout: 5000 }, () => {
    const run = characterMode();
    assert.equal(run.receive("x", "\r", "\0", "y", "\r", "\n"), "x\r\nx Ali\r\ny\r\ny Ali\r\n");
  });

  test("Backspace on an empty line echoes nothing", { timeout: 5000 }, () => {
    const run = characterMode();
    assert.equal(run.receive("\x7f", "\b"), "");
  });

  test("Ctrl-C shows ^C and starts a new line", { timeout: 5000 }, () => {
    const run = characterMode();
    assert.equal(run.receive("ab", "\x03", "c", "\r\0"), "ab^C\r\nc\r\nc Ali\r\n");
  });

  test("keys the editor does not bind (Up, Tab, control keys) never reach the line or the screen", { timeout: 5000 }, () => {
    const run = characterMode();
    assert.equal(run.receive("a", "\x1b[A", "\t", "\x07\x0f\x1c"), "a");
    // Page Up, Ctrl-F1, then b, then an ESC whose sequence comes in the next chunk (Shift-Tab).
    assert.equal(run.receive("\x1b[5~\x1b[1;5Pb\x1b"), "b");
    assert.equal(run.receive("[Z", "\r\n"), "\r\nab Ali\r\n");
  });

  test("IAC EL erases the shown line; AYT answers on a line of its own, the line comes back with the next key", { timeout: 5000 }, () => {
    const run = characterMode();
    assert.equal(run.receive("ab", iac(EL)), "ab\b\b  \b\b");
    const ayt = AYT_REPLY.toString("latin1");
    assert.equal(run.receive("xz\x1b[D", iac(AYT)), `xz\b\r\n${ayt}`);
    // A second AYT: the line is not on screen, so no empty line and no redraw.
    assert.equal(run.receive(iac(AYT)), ayt);
    // The next key shows the line again, the cursor where it was, then acts.
    assert.equal(run.receive("y"), "xz\byz\b");
    assert.equal(run.receive("\r\n"), "\r\nxyz Ali\r\n");
  });

  test("Enter after a notice shows the line again before ending it", { timeout: 5000 }, () => {
    const run = characterMode();
    run.receive("abc", iac(AYT));
    assert.equal(run.receive("\r\0"), "abc\r\nabc Ali\r\n");
  });

  test("a notice starts on a fresh line: the partial line is ended first, once", { timeout: 5000 }, () => {
    const run = characterMode();
    run.receive("partial");
    run.session.notice(Buffer.from("closing: the server is shutting down\r\n"));
    run.session.notice(Buffer.from("closing: again\r\n"));
    assert.equal(run.receive(), "\r\nclosing: the server is shutting down\r\nclosing: again\r\n");
    // Nothing typed, or a line just answered: the cursor is at the start of a line already.
    const fresh = characterMode();
    fresh.session.notice(Buffer.from("note\r\n"));
    assert.equal(fresh.receive(), "note\r\n");
    fresh.receive("a\r\n");
    fresh.session.notice(Buffer.from("note\r\n"));
    assert.equal(fresh.receive(), "note\r\n");
    // Typed and erased again: nothing is left on screen.
    fresh.receive("a\x7f");
    fresh.session.notice(Buffer.from("note\r\n"));
    assert.equal(fresh.receive(), "note\r\n");
  });

  test("without echo a notice is sent as it is (nc and scripts see exactly the notice)", { timeout: 5000 }, () => {
    const run = session();
    run.receive("partial");
    run.session.notice(Buffer.from("closing: bye\r\n"));
    assert.equal(run.receive(), "closing: bye\r\n");
  });

  test("the line-too-long notice while typing starts on a fresh line", { timeout: 5000 }, () => {
    const batch = new OutputBatch(new ReplyEncoder("Ali"));
    // Wired as TcpConnection wires it: the notice goes back through notice().
    const s: TelnetSession = new TelnetSession({ lineTooLong: () => s.notice(TOO_LONG) }, null, batch, 4);
    s.receive(Buffer.from(iac(DO, OPT_SGA) + iac(DO, OPT_ECHO), "latin1"));
    batch.take();
    for (const key of "abcd") s.receive(Buffer.from(key));
    assert.equal(batch.take()?.toString(), "abcd");
    // The key that would pass the limit is dropped; the notice on a line of its own, the line shown again under it.
    s.receive(Buffer.from("e"));
    assert.equal(batch.take()?.toString(), `\r\n${TOO_LONG}abcd`);
    // Told once per line; the line is still the user's to edit and send.
    s.receive(Buffer.from("f\x7fg\r\n"));
    assert.equal(batch.take()?.toString(), "\b \bg\r\nabcg Ali\r\n");
    // A sink that writes the notice straight into the batch gets the same screen.
    const direct = new OutputBatch(new ReplyEncoder("Ali"));
    const d = new TelnetSession({ lineTooLong: () => direct.add(TOO_LONG) }, null, direct, 4);
    d.receive(Buffer.from(iac(DO, OPT_SGA) + iac(DO, OPT_ECHO) + "abcde", "latin1"));
    assert.equal(direct.take()?.toString("latin1"), `${iac(WILL, OPT_SGA)}${iac(WILL, OPT_ECHO)}abcd\r\n${TOO_LONG}abcd`);
  });

  test("a 0xFF is echoed and noticed as IAC IAC", { timeout: 5000 }, () => {
    const run = characterMode();
    assert.equal(run.receive(iac(IAC)), "\xff\xff");
    assert.equal(run.receive(iac(AYT)), `\r\n${AYT_REPLY.toString("latin1")}`);
    assert.equal(run.receive("x"), "\xff\xffx");
    run.session.notice(Buffer.from("a\xffb\r\n", "latin1"));
    assert.equal(run.receive(), "\r\na\xff\xffb\r\n");
    assert.equal(run.receive("\r\n"), "\xff\xffx\r\n\xff\xffx Ali\r\n");
  });

  test("DONT ECHO (back to line mode) stops the echo", { timeout: 5000 }, () => {
    const run = characterMode();
    assert.equal(
      run.receive(iac(DONT, OPT_SGA) + iac(WILL, OPT_LINEMODE) + iac(DONT, OPT_ECHO)),
      iac(WONT, OPT_SGA) + iac(DONT, OPT_LINEMODE) + iac(WONT, OPT_ECHO),
    );
    assert.equal(run.session.echoing, false);
    assert.equal(run.receive("hi\r\n"), "hi Ali\r\n");
  });

  test("a client that negotiates at connect (PuTTY, Windows telnet) is offered echo once", { timeout: 5000 }, () => {
    const run = session();
    // PuTTY's opening: WILL NAWS, WILL TSPEED, WILL TTYPE, WILL NEW-ENVIRON, DO ECHO, WILL SGA, DO SGA.
    const opening = iac(WILL, NAWS) + iac(WILL, 32) + iac(WILL, 24) + iac(WILL, 39) + iac(DO, OPT_ECHO) + iac(WILL, OPT_SGA) + iac(DO, OPT_SGA);
    const out = run.receive(opening);
    assert.equal(out, iac(DO, NAWS) + iac(WILL, OPT_ECHO) + iac(WILL, OPT_SGA) + iac(DONT, 32) + iac(DONT, 24) + iac(DONT, 39) + iac(DO, OPT_SGA));
    assert.equal(run.session.echoing, true);
    // A client that only answers (Windows telnet): offer, then its DO ECHO acks it, no more words.
    const win = session();
    assert.equal(win.receive(iac(WILL, NAWS)), iac(DO, NAWS) + iac(WILL, OPT_ECHO) + iac(WILL, OPT_SGA));
    assert.equal(win.session.echoing, false, "not before the client agrees");
    assert.equal(win.receive(iac(DO, OPT_ECHO) + iac(DO, OPT_SGA)), "");
    assert.equal(win.receive("a", "\r\n"), "a\r\na Ali\r\n");
  });

  test("echo starting or stopping mid-line keeps the line typed so far", { timeout: 5000 }, () => {
    const run = session();
    assert.equal(run.receive("ab"), "");
    run.receive(iac(DO, OPT_SGA) + iac(DO, OPT_ECHO));
    assert.equal(run.session.pendingByteCount, 2);
    assert.equal(run.receive("c", "\x1b[D", "\x7f", "\r\n"), "c\b\bc \b\b\r\nac Ali\r\n");
    assert.equal(run.receive("xy"), "xy");
    assert.equal(run.receive(iac(DONT, OPT_ECHO)), iac(WONT, OPT_ECHO));
    assert.equal(run.receive("z\n"), "xyz Ali\r\n");
  });

  test("a CR LF or CR NUL cut by echo starting or stopping is still one line end", { timeout: 5000 }, () => {
    const run = session();
    assert.equal(run.receive(iac(DO, OPT_SGA)), iac(WILL, OPT_SGA) + iac(WILL, OPT_ECHO));
    assert.equal(run.receive("ab\r"), "ab Ali\r\n");
    // The framer saw the CR; its LF comes to the editor, and so does the line after it, echoed.
    assert.equal(run.receive(iac(DO, OPT_ECHO) + "\nc\r"), "c\r\nc Ali\r\n");
    assert.equal(run.session.echoing, true);
    // The editor saw the CR; its NUL comes to the framer.
    assert.equal(run.receive(iac(DONT, OPT_ECHO) + "\0d\n"), iac(WONT, OPT_ECHO) + "d Ali\r\n");
    assert.equal(run.receive("\0e\n"), "\0e Ali\r\n", "a NUL after that is data again");
    assert.deepEqual(run.lines, ["ab", "c", "d", "\0e"]);
  });

  test("while echoing, IAC EC erases before the cursor and IAC IP abandons the line", { timeout: 5000 }, () => {
    const run = characterMode();
    assert.equal(run.receive("abc", "\x1b[D", iac(EC)), "abc\b\bc \b\b");
    assert.equal(run.receive(iac(IP)), "c^C\r\n");
    assert.equal(run.receive("d\r\n"), "d\r\nd Ali\r\n");
  });

  test("a client that refuses the offer is not echoed to", { timeout: 5000 }, () => {
    const run = session();
    run.receive(iac(WILL, NAWS));
    assert.equal(run.receive(iac(DONT, OPT_ECHO) + iac(DONT, OPT_SGA)), "");
    assert.equal(run.session.echoing, false);
    assert.equal(run.receive("a\r\n"), "a Ali\r\n");
  });
});

describe("TelnetSession: properties", () => {
  const interesting = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(0x61, 0x62, 0x0d, 0x0a, 0x00, 0x08, 0x7f, 0x03, 0x1b, 0xc3, 0xa9) },
    { weight: 2, arbitrary: fc.constantFrom(IAC, DO, DONT, WILL, WONT, SB, SE, EC, EL, IP, AYT, OPT_ECHO, OPT_SGA, OPT_TIMING_MARK) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  const input = fc.array(interesting, { maxLength: 300 }).map((bytes) => Buffer.from(bytes));

  function chunk(bytes: Buffer, sizes: number[]): Buffer[] {
    const chunks: Buffer[] = [];
    for (let at = 0, k = 0; at < bytes.length; k++) {
      const size = sizes.length === 0 ? 1 : sizes[k % sizes.length]!;
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    return chunks;
  }

  test("any chunking gives the same lines and the same bytes back", { timeout: 60000 }, () => {
    fc.assert(
      fc.property(input, fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 10 }), fc.integer({ min: 4, max: 64 }), (bytes, sizes, max) => {
        const whole = session(max);
        const wholeOut = whole.receive(bytes);
        const split = session(max);
        const splitOut = split.receive(...chunk(bytes, sizes));
        assert.equal(splitOut, wholeOut);
        assert.deepEqual(split.lines, whole.lines);
      }),
      { numRuns: 1000 },
    );
  });

  test("what the session sends parses back as data and its own negotiation only: every 0xFF it sends is doubled", { timeout: 60000 }, () => {
    fc.assert(
      fc.property(input, fc.integer({ min: 4, max: 64 }), (bytes, max) => {
        const run = session(max);
        const out = Buffer.from(run.receive(bytes), "latin1");
        const strays: number[] = [];
        let data = "";
        const parser = new TelnetParser({
          data: (chunk, from, to) => ((data += chunk.toString("latin1", from, to)), to),
          command: (command) => strays.push(command) > 0,
          negotiation: () => true,
          subnegotiation: (option) => strays.push(option) > 0,
        });
        parser.push(out);
        assert.deepEqual(strays, []);
        // Nothing half-sent: bytes after the output are data, not the rest of a command.
        data = "";
        parser.push(Buffer.from("probe"));
        assert.equal(data, "probe", "nothing half-sent");
      }),
      { numRuns: 1000 },
    );
  });

  test("a client that reads nothing: output never passes the budget by more than one step, and the rest fed later gives the same bytes", {
    timeout: 60000,
  }, () => {
    fc.assert(
      fc.property(
        input,
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 10 }),
        fc.integer({ min: 4, max: 64 }),
        fc.integer({ min: 1, max: 200 }),
        (bytes, sizes, max, budget) => {
          const whole = session(max);
          const wholeOut = whole.receive(bytes) + (whole.session.finish(), whole.receive());
          // One step: a reply (the line shown again, CR LF, the line with its 0xFFs doubled, the name),
          // an echo with a redraw, a notice, a negotiation answer with the offer.
          const step = 4 * max + 64;
          const run = session(max);
          let out = "";
          let unread = 0;
          for (const piece of chunk(bytes, sizes)) {
            for (let rest = piece; rest.length > 0; ) {
              const consumed = run.session.receive(rest, budget - unread);
              const produced = run.batch.take();
              unread += produced?.length ?? 0;
              out += produced?.toString("latin1") ?? "";
              assert.ok(unread <= budget + step, `${unread} bytes unread, budget ${budget}`);
              if (consumed < rest.length) {
                assert.ok(unread >= budget, "it stops only at the budget");
                unread = 0; // the client takes its bytes; the rest goes in with a fresh budget
              }
              rest = rest.subarray(consumed);
            }
          }
          run.session.finish();
          out += run.receive();
          assert.equal(out, wholeOut);
          assert.deepEqual(run.lines, whole.lines);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("a flood of AYT while echoing a long line: each answer is one short line, no redraw", { timeout: 5000 }, () => {
    const run = session(8192);
    run.receive(iac(DO, OPT_SGA) + iac(DO, OPT_ECHO));
    run.receive(Buffer.alloc(8000, 0x78));
    const flood = Buffer.from(iac(AYT).repeat(1000), "latin1");
    const out = run.receive(flood);
    assert.equal(out.length, 2 + 1000 * AYT_REPLY.length);
    // With a budget the flood is taken only as far as the client can be owed.
    const budgeted = run.session.receive(flood, 1000);
    assert.equal(budgeted, 2 * Math.ceil(1000 / AYT_REPLY.length));
    assert.ok(run.batch.length < 1000 + AYT_REPLY.length);
  });

  test("arbitrary bytes never throw and never grow state past the limits", { timeout: 60000 }, () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 20 }), fc.integer({ min: 1, max: 100 }), (chunks, max) => {
        const run = session(max);
        for (const c of chunks) {
          run.receive(Buffer.from(c));
          assert.ok(run.session.pendingByteCount <= max);
          assert.ok(run.session.bufferedTelnetBytes <= MAX_SUBNEGOTIATION_BYTES);
        }
        run.session.finish();
        assert.equal(run.session.pendingByteCount, 0);
      }),
      { numRuns: 500 },
    );
  });

  test("a client that sends no 0xFF and no edit byte gets exactly what the bare line protocol gives", { timeout: 60000 }, () => {
    const plainByte = fc.integer({ min: 0, max: 254 }).filter((x) => x !== 0x08 && x !== 0x7f && x !== 0x03);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(plainByte, fc.constantFrom(0x0d, 0x0a, 0x00)), { maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 9 })),
        (raw, sizes) => {
          const bytes = Buffer.from(raw);
          const batch = new OutputBatch(new ReplyEncoder("Ali"));
          const framer = new LineFramer(
            { line: (l, from, to) => (batch.addReplySpan(l, from, to), true), lineTooLong: () => (batch.add(TOO_LONG), true) },
            32,
          );
          framer.push(bytes);
          const expected = batch.take()?.toString("latin1") ?? "";
          assert.equal(session(32).receive(...chunk(bytes, sizes)), expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("TelnetSession: what a character-mode user is typing", () => {
  test("the unfinished line is the editor's while it echoes (as /connections shows it)", { timeout: 5000 }, () => {
    const run = session();
    run.receive(iac(DO, OPT_SGA) + iac(DO, OPT_ECHO));
    const typed = Buffer.from("Hi theGrüße 日本");
    for (const byte of typed) run.receive(Buffer.from([byte]));
    assert.deepEqual(run.session.pendingLine(), typed);
    assert.equal(run.session.pendingByteCount, typed.length);
    // Edited in the middle: what is shown is the line as it now is.
    run.receive("\x1b[D", "\x1b[D", "\x7f", "X");
    assert.deepEqual(run.session.pendingLine(), Buffer.from("Hi theGrüßeX日本"));
    run.receive("\r\0");
    assert.equal(run.session.pendingLine().length, 0);
    assert.equal(run.session.pendingByteCount, 0);
  });

  test("without echo it is the framer's, as before", { timeout: 5000 }, () => {
    const run = session();
    run.receive("Hel");
    assert.deepEqual(run.session.pendingLine(), Buffer.from("Hel"));
  });
});

describe("TelnetSession: the server offers first (offerEcho)", () => {
  test("WILL ECHO, WILL SGA and DO NAWS before a word from the client; its answers agree and change nothing more", { timeout: 5000 }, () => {
    const run = session();
    run.session.offerEcho();
    assert.equal(run.receive(), iac(WILL, OPT_ECHO) + iac(WILL, OPT_SGA) + iac(DO, NAWS));
    assert.equal(run.session.echoing, false, "not before the client agrees");
    // What inetutils telnet answers (captured): DO ECHO, DO SGA, WILL NAWS and its size.
    assert.equal(run.receive(iac(DO, OPT_ECHO) + iac(DO, OPT_SGA) + iac(WILL, NAWS) + iac(SB, NAWS, 0, 30, 0, 10) + iac(SE)), "");
    assert.equal(run.session.echoing, true);
    assert.equal(run.session.windowColumns, 30);
    run.session.offerEcho();
    assert.equal(run.receive(), "", "offered once");
    assert.equal(run.receive(Buffer.from("日本語"), "\r\0"), latin1("日本語\r\n日本語 Ali\r\n"));
  });

  test("a client that refuses is left in line mode", { timeout: 5000 }, () => {
    const run = session();
    run.session.offerEcho();
    run.receive();
    assert.equal(run.receive(iac(DONT, OPT_ECHO) + iac(DONT, OPT_SGA) + iac(WONT, NAWS)), "");
    assert.equal(run.session.echoing, false);
    assert.equal(run.receive("a\r\n"), "a Ali\r\n");
  });

  test("after the client has spoken first, there is nothing left to offer", { timeout: 5000 }, () => {
    const run = session();
    run.receive(iac(DONT, OPT_ECHO));
    run.session.offerEcho();
    assert.equal(run.receive(), "");
  });
});

describe("TelnetSession: NAWS, the client's window width", () => {
  const sb = (...payload: number[]): string => iac(SB, NAWS, ...payload) + iac(SE);
  const cases: { name: string; input: string; columns: number }[] = [
    { name: "none sent: not known", input: "", columns: 0 },
    { name: "WILL NAWS and its report", input: iac(WILL, NAWS) + sb(0, 80, 0, 24), columns: 80 },
    { name: "a report without WILL NAWS is not taken", input: sb(0, 80, 0, 24), columns: 0 },
    { name: "16-bit, high byte first", input: iac(WILL, NAWS) + sb(1, 0, 0, 24), columns: 256 },
    { name: "a 255 comes as IAC IAC", input: iac(WILL, NAWS) + sb(0, IAC, IAC, 0, 24), columns: 255 },
    { name: "not four bytes: ignored", input: iac(WILL, NAWS) + sb(0, 80, 0), columns: 0 },
    { name: "a resize: the last report counts", input: iac(WILL, NAWS) + sb(0, 80, 0, 24) + sb(0, 100, 0, 30), columns: 100 },
    { name: "a bad report after a good one leaves the good one", input: iac(WILL, NAWS) + sb(0, 80, 0, 24) + sb(9), columns: 80 },
    { name: "WONT NAWS: not known any more", input: iac(WILL, NAWS) + sb(0, 80, 0, 24) + iac(WONT, NAWS), columns: 0 },
    { name: "0 is 'not known'", input: iac(WILL, NAWS) + sb(0, 0, 0, 0), columns: 0 },
    { name: "another option's subnegotiation is dropped", input: iac(WILL, NAWS) + iac(SB, 24, 0, 80, 0, 24) + iac(SE), columns: 0 },
    {
      name: "an over-long report (past the cap) is not taken",
      input: iac(WILL, NAWS) + sb(...new Array<number>(MAX_SUBNEGOTIATION_BYTES + 4).fill(1)),
      columns: 0,
    },
  ];
  for (const { name, input, columns } of cases) {
    test(name, { timeout: 5000 }, () => {
      for (const chunks of [[input], keys(input)]) {
        const run = session();
        run.receive(...chunks);
        assert.equal(run.session.windowColumns, columns);
      }
    });
  }

  test("the editor wraps by the width: a row filled, the cursor goes to the next row's start", { timeout: 5000 }, () => {
    const run = session();
    run.receive(iac(WILL, NAWS) + sb(0, 4, 0, 10) + iac(DO, OPT_SGA) + iac(DO, OPT_ECHO));
    assert.equal(run.receive(..."abcde"), "abcd\r\ne");
    // Left twice (BS to the start of the second row, then up to before "d"), then x: "xde" redrawn over both rows, the cursor after x.
    assert.equal(run.receive("\x1b[D", "\x1b[D"), "\b\r\x1b[1A\x1b[3C");
    assert.equal(run.receive("x"), "xde\b\b");
    assert.deepEqual(run.session.pendingLine(), Buffer.from("abcxde"));
    // Without NAWS the same keys draw one row, as before.
    const plain = session();
    plain.receive(iac(DO, OPT_SGA) + iac(DO, OPT_ECHO));
    assert.equal(plain.receive(..."abcde"), "abcde");
  });

  test("a width that comes after echo started reaches the editor", { timeout: 5000 }, () => {
    const run = session();
    run.receive(iac(DO, OPT_SGA) + iac(DO, OPT_ECHO) + iac(WILL, NAWS));
    run.receive(sb(0, 3, 0, 10));
    assert.equal(run.receive("abcd"), "abc\r\nd");
  });

  test("property: any chunking of negotiation, reports and keys gives the same output, width and lines; bounded", { timeout: 60000 }, () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const doubled = (bytes: number[]): number[] => bytes.flatMap((b) => (b === IAC ? [IAC, IAC] : [b]));
    const part = fc.oneof(
      fc.constantFrom(iac(WILL, NAWS), iac(WONT, NAWS), iac(DO, OPT_ECHO), iac(DO, OPT_SGA), iac(DONT, OPT_ECHO), iac(AYT)),
      fc.tuple(u16, u16).map(([w, h]) => iac(SB, NAWS, ...doubled([w >> 8, w & 0xff, h >> 8, h & 0xff])) + iac(SE)),
      fc.constantFrom(0, 1, 2, 3, 5, 200).map((w) => iac(SB, NAWS, 0, w, 0, 9) + iac(SE)),
      fc.constantFrom("a", "bc", "李", "😀", "\x7f", "\x1b[D", "\x1b[C", "\x01", "\x05", "\x0b", "\r\0", "\r\n").map(latin1),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), (parts, sizes) => {
        const input = parts.join("");
        const whole = session(64);
        const out = whole.receive(input);
        const split = session(64);
        const chunks: string[] = [];
        for (let at = 0, k = 0; at < input.length; k++) {
          chunks.push(input.slice(at, at + sizes[k % sizes.length]!));
          at += sizes[k % sizes.length]!;
        }
        let splitOut = "";
        for (const chunk of chunks) {
          splitOut += split.receive(chunk);
          assert.ok(split.session.bufferedTelnetBytes <= MAX_SUBNEGOTIATION_BYTES);
        }
        assert.equal(splitOut, out);
        assert.equal(split.session.windowColumns, whole.session.windowColumns);
        assert.deepEqual(split.lines, whole.lines);
        assert.deepEqual(split.session.pendingLine(), whole.session.pendingLine());
      }),
      { numRuns: 1000 },
    );
  });
});

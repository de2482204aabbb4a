import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { LineEditor } from "../../src/protocol/line-editor.js";
import { OutputBatch, ReplyEncoder } from "../../src/protocol/reply.js";
import { TelnetParser } from "../../src/protocol/telnet-parser.js";

const NOTICE = "!too long\r\n";

/** An editor wired as the session wires it: echo into a batch, the too-long notice through hide(). */
function editor(maxLineLength = 100) {
  const batch = new OutputBatch(new ReplyEncoder("Ali"));
  const lines: Buffer[] = [];
  let tooLong = 0;
  const e: LineEditor = new LineEditor(
    batch,
    {
      line: (source, from, to) => lines.push(Buffer.from(source.subarray(from, to))),
      lineTooLong: () => {
        tooLong++;
        e.hide();
        batch.add(Buffer.from(NOTICE));
      },
    },
    maxLineLength,
  );
  return {
    editor: e,
    lines,
    get tooLong() {
      return tooLong;
    },
    /** Feeds each chunk; returns everything echoed (latin1, so bytes stay bytes). */
    type(...chunks: (string | Buffer)[]): string {
      let out = "";
      for (const chunk of chunks) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        assert.equal(
          e.receive(bytes, 0, bytes.length, () => true),
          bytes.length,
        );
        out += batch.take()?.toString("latin1") ?? "";
      }
      return out;
    },
    take(): string {
      return batch.take()?.toString("latin1") ?? "";
    },
  };
}

const LEFT = "\x1b[D";
const RIGHT = "\x1b[C";
const HOME = "\x1b[H";
const END = "\x1b[F";
const DELETE = "\x1b[3~";
const BACKSPACE = "\x7f";
const bs = (n: number): string => "\b".repeat(n);
const latin1 = (text: string): string => Buffer.from(text).toString("latin1");

describe("LineEditor: keys, and exactly what goes to the screen", () => {
  const cases: { name: string; keys: string[]; echo: string; line: string }[] = [
    { name: "typing", keys: [..."Hello"], echo: "Hello", line: "Hello" },
    { name: "Backspace at the end", keys: [..."Helpx", BACKSPACE, "\b", ..."lo"], echo: "Helpx\b \b\b \blo", line: "Hello" },
    { name: "Left, then insert: the tail is redrawn and the cursor put back", keys: [..."Helo", LEFT, "l"], echo: "Helo\bl" + "o\b", line: "Hello" },
    { name: "Hel←lo is Hello, not Helo (the arrow is not in the line)", keys: [..."Hel", LEFT, RIGHT, ..."lo"], echo: "Hel\bllo", line: "Hello" },
    {
      name: "Home and End, Ctrl-A and Ctrl-E",
      keys: [..."bc", HOME, "a", END, "d", "\x01", "<", "\x05", ">"],
      echo: "bc\b\babc\b\bbcd\b\b\b\b<abcd\b\b\b\babcd>",
      line: "<abcd>",
    },
    {
      name: "Delete and Ctrl-D delete under the cursor",
      keys: [..."abcd", HOME, DELETE, "\x04"],
      echo: "abcd\b\b\b\bbcd \b\b\b\bcd \b\b\b",
      line: "cd",
    },
    { name: "Delete at the end does nothing", keys: ["a", DELETE, "\x04"], echo: "a", line: "a" },
    { name: "Backspace in the middle", keys: [..."abc", LEFT, BACKSPACE], echo: "abc\b\bc \b\b", line: "ac" },
    { name: "Ctrl-U kills to the start", keys: [..."abcd", LEFT, "\x15"], echo: "abcd\b\b\b\bd   \b\b\b\b", line: "d" },
    { name: "Ctrl-K kills to the end", keys: [..."abcd", LEFT, LEFT, "\x0b"], echo: "abcd\b\b  \b\b", line: "ab" },
    { name: "Ctrl-W kills the word before", keys: [..."one two  ", "\x17"], echo: "one two  " + bs(5) + "     " + bs(5), line: "one " },
    { name: "Ctrl-Y yanks the last kill", keys: [..."ab", "\x15", "\x19", "\x19"], echo: "ab\b\b  \b\babab", line: "abab" },
    {
      name: "Alt-B and Alt-F move by words, Alt-D kills one",
      keys: [..."ab cd", "\x1bb", "\x1bb", "\x1bf", "\x1bd"],
      echo: "ab cd\b\b\b\b\bab" + "   " + bs(3),
      line: "ab",
    },
    { name: "Alt-Backspace kills the word before", keys: [..."ab-cd", "\x1b\x7f"], echo: "ab-cd\b\b  \b\b", line: "ab-" },
    { name: "Ctrl-Left and Ctrl-Right", keys: [..."ab cd", "\x1b[1;5D", "x", "\x1b[1;5C", "y"], echo: "ab cd\b\bxcd\b\bcdy", line: "ab xcdy" },
    {
      name: "Ctrl-Alt-Left is Alt-Left (a word), Ctrl-Shift-Left is Left (a character)",
      keys: [..."ab cd", "\x1b[1;7D", "x", "\x1b[1;6D", "y"],
      echo: "ab cd\b\bxcd\b\b\byxcd\b\b\b",
      line: "ab yxcd",
    },
    { name: "erasing 李 moves two columns", keys: ["李", BACKSPACE], echo: latin1("李") + "\b\b  \b\b", line: "" },
    {
      name: "Left over 李 and 😀 moves two columns each",
      keys: ["a李😀", LEFT, LEFT, "b"],
      echo: latin1("a李😀") + "\b\b\b\b" + latin1("b李😀") + bs(4),
      line: "ab李😀",
    },
    {
      name: "a whole UTF-8 character is erased, never half of one",
      keys: ["cafe", BACKSPACE, "é", BACKSPACE, "e"],
      echo: "cafe\b \b" + latin1("é") + "\b \be",
      line: "cafe",
    },
    {
      name: "a combining accent belongs to the letter before it",
      keys: ["e\u0301", "x", LEFT, LEFT, RIGHT, BACKSPACE],
      echo: latin1("e\u0301x") + "\b\b" + latin1("e\u0301") + "\bx \b\b",
      line: "x",
    },
    { name: "a combining accent with nothing before it is dropped", keys: ["\u0301", "a"], echo: "a", line: "a" },
    {
      name: "unknown and unbound keys are dropped whole",
      keys: ["a", "\x1b[A", "\x1b[15~", "\t", "\x1b[1;5P", "\x07", "\x1b[200~", "b"],
      echo: "ab",
      line: "ab",
    },
    {
      name: "an escape sequence cut across chunks is still dropped whole",
      keys: ["a", "\x1b", "[", "1", ";", "5", "A", "b"],
      echo: "ab",
      line: "ab",
    },
    { name: "C1 control characters are not text", keys: ["a\u009bb"], echo: "ab", line: "ab" },
  ];
  for (const { name, keys, echo, line } of cases) {
    test(name, () => {
      const run = editor();
      assert.equal(run.type(...keys), echo);
      assert.equal(run.editor.line().toString(), line);
      assert.equal(run.type("\r"), "\r\n");
      assert.deepEqual(
        run.lines.map((l) => l.toString()),
        [line],
      );
    });
  }

  test("bytes that are not UTF-8 are characters of one column, sent back as they came (0xFF doubled)", () => {
    const run = editor();
    assert.equal(run.type(Buffer.from([0x61, 0xfe, 0xff, 0x80])), "a\xfe\xff\xff\x80");
    assert.equal(run.type(LEFT, LEFT, BACKSPACE), "\b\b\b\xff\xff\x80 \b\b\b");
    assert.deepEqual([...run.editor.line()], [0x61, 0xff, 0x80]);
  });

  test("Enter is CR, CR LF, CR NUL or LF: each one line", () => {
    const run = editor();
    assert.equal(run.type("a\r\nb\r\0c\rd\ne", "\r", "\n"), "a\r\nb\r\nc\r\nd\r\ne\r\n");
    assert.deepEqual(
      run.lines.map((l) => l.toString()),
      ["a", "b", "c", "d", "e"],
    );
    // An empty Enter is an empty line; Esc then Enter is Enter.
    assert.equal(run.type("\r\n", "\x1b", "\r"), "\r\n\r\n");
    assert.deepEqual(run.lines.map((l) => l.toString()).slice(5), ["", ""]);
    // Alt-Enter (Esc CR) ends in a CR too: its LF belongs to it.
    assert.equal(run.type("f\x1b\r", "\n", "g\n"), "f\r\ng\r\n");
    assert.deepEqual(run.lines.map((l) => l.toString()).slice(7), ["f", "g"]);
  });

  test("only an LF or NUL byte right after a CR completes it: a keypad Enter (ESC O M) there is an Enter of its own", () => {
    const run = editor();
    assert.equal(run.type("a\r", "\x1bOM"), "a\r\n\r\n");
    assert.deepEqual(
      run.lines.map((l) => l.toString()),
      ["a", ""],
    );
  });

  test("Ctrl-C abandons the line: ^C at its end, a fresh line", () => {
    const run = editor();
    assert.equal(run.type("abc", LEFT, LEFT, "\x03"), "abc\b\bbc^C\r\n");
    assert.equal(run.editor.byteCount, 0);
    assert.equal(run.type("d\r"), "d\r\n");
    assert.deepEqual(
      run.lines.map((l) => l.toString()),
      ["d"],
    );
  });

  test("hide() ends the line on screen once; the next key shows it again, cursor in place", () => {
    const run = editor();
    run.type("abc", LEFT);
    run.editor.hide();
    run.editor.hide();
    assert.equal(run.take(), "\r\n");
    assert.equal(run.type("x"), "abc\b" + "xc\b");
    // An empty line needs no fresh line.
    const empty = editor();
    empty.editor.hide();
    assert.equal(empty.take(), "");
  });

  test("at the limit: the key is dropped, the sink told once per line, the line shown again", () => {
    const run = editor(3);
    assert.equal(run.type("ab李"), "ab\r\n" + NOTICE + "ab");
    assert.equal(run.type("c"), "c");
    assert.equal(run.type("d", "e"), "");
    assert.equal(run.tooLong, 1);
    assert.equal(run.type("\r"), "\r\n");
    assert.equal(run.type(..."wxyz"), "wxy\r\n" + NOTICE + "wxy");
    assert.equal(run.tooLong, 2);
  });

  test("a budget: receive() stops after the key at which it is told to, and the rest is fed again", () => {
    const run = editor();
    const keys = Buffer.from("ab\x1b[Dc");
    let calls = 0;
    const stop = run.editor.receive(keys, 0, keys.length, () => ++calls < 3);
    assert.equal(stop, 5, "after a, b and the whole Left");
    assert.equal(
      run.editor.receive(keys, stop, keys.length, () => true),
      keys.length,
    );
    assert.equal(run.take(), "ab\bcb\b");
  });
});

// ── the property: the screen always shows what the line holds ────────

/** A key as bytes, and what it does to the reference model. */
type Op =
  | { kind: "text"; text: string }
  | { kind: "raw"; byte: number }
  | {
      kind:
        | "left"
        | "right"
        | "home"
        | "end"
        | "backspace"
        | "delete"
        | "kill-start"
        | "kill-end"
        | "kill-word-space"
        | "kill-word-back"
        | "kill-word-forward"
        | "yank"
        | "word-back"
        | "word-forward"
        | "nothing";
    };

interface KeyCase {
  bytes: Buffer;
  op: Op;
}

const key = (bytes: string, op: Op): KeyCase => ({ bytes: Buffer.from(bytes, "latin1"), op });
const text = (t: string): KeyCase => ({ bytes: Buffer.from(t), op: { kind: "text", text: t } });

const keyCase: fc.Arbitrary<KeyCase> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...["a", "b", "Z", " ", "-", "é", "李", "😀", "\u0301", "1"].map(text)) },
  { weight: 1, arbitrary: fc.constantFrom(0x80, 0xfe, 0xff).map((byte) => ({ bytes: Buffer.from([byte]), op: { kind: "raw", byte } }) as KeyCase) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      key("\x1b[D", { kind: "left" }),
      key("\x1bOD", { kind: "left" }),
      key("\x02", { kind: "left" }),
      key("\x1b[C", { kind: "right" }),
      key("\x06", { kind: "right" }),
      key("\x1b[H", { kind: "home" }),
      key("\x1b[1~", { kind: "home" }),
      key("\x01", { kind: "home" }),
      key("\x1b[F", { kind: "end" }),
      key("\x1b[4~", { kind: "end" }),
      key("\x05", { kind: "end" }),
      key("\x7f", { kind: "backspace" }),
      key("\x08", { kind: "backspace" }),
      key("\x1b[3~", { kind: "delete" }),
      key("\x04", { kind: "delete" }),
      key("\x15", { kind: "kill-start" }),
      key("\x0b", { kind: "kill-end" }),
      key("\x17", { kind: "kill-word-space" }),
      key("\x1b\x7f", { kind: "kill-word-back" }),
      key("\x1bd", { kind: "kill-word-forward" }),
      key("\x19", { kind: "yank" }),
      key("\x1bb", { kind: "word-back" }),
      key("\x1b[1;5D", { kind: "word-back" }),
      key("\x1bf", { kind: "word-forward" }),
      key("\x1b[1;5C", { kind: "word-forward" }),
      key("\x1b[A", { kind: "nothing" }),
      key("\x1b[15~", { kind: "nothing" }),
      key("\t", { kind: "nothing" }),
      key("\x07", { kind: "nothing" }),
      key("\x1b[1;5P", { kind: "nothing" }),
      key("\x1b[200~", { kind: "nothing" }),
    ),
  },
);

/** One character of the reference model: its bytes, what a terminal shows for it, its columns. */
interface Char {
  bytes: number[];
  shown: string;
  width: number;
}

const isWord = (c: Char): boolean => /^[0-9A-Za-z]$/.test(String.fromCharCode(c.bytes[0]!)) || c.bytes[0]! >= 0x80;
const isSpace = (c: Char): boolean => c.bytes[0] === 0x20;

/** readline's line, the simple way: an array of characters and a cursor index. */
class Model {
  chars: Char[] = [];
  cursor = 0;
  killed: Char[] = [];

  constructor(readonly max: number) {}

  get byteLength(): number {
    return this.chars.reduce((n, c) => n + c.bytes.length, 0);
  }

  apply(op: Op): void {
    const { chars } = this;
    switch (op.kind) {
      case "text": {
        const bytes = [...Buffer.from(op.text)];
        if (op.text === "\u0301") {
          if (this.cursor === 0 || this.byteLength + bytes.length > this.max) return;
          const before = chars[this.cursor - 1]!;
          chars[this.cursor - 1] = { bytes: [...before.bytes, ...bytes], shown: before.shown + op.text, width: before.width };
          return;
        }
        const width = op.text === "李" || op.text === "😀" ? 2 : 1;
        this.insert([{ bytes, shown: op.text, width }]);
        return;
      }
      case "raw":
        this.insert([{ bytes: [op.byte], shown: "\ufffd", width: 1 }]);
        return;
      case "left":
        this.cursor = Math.max(0, this.cursor - 1);
        return;
      case "right":
        this.cursor = Math.min(chars.length, this.cursor + 1);
        return;
      case "home":
        this.cursor = 0;
        return;
      case "end":
        this.cursor = chars.length;
        return;
      case "backspace":
        if (this.cursor > 0) this.remove(this.cursor - 1, this.cursor, false);
        return;
      case "delete":
        if (this.cursor < chars.length) this.remove(this.cursor, this.cursor + 1, false);
        return;
      case "kill-start":
        this.remove(0, this.cursor, true);
        return;
      case "kill-end":
        this.remove(this.cursor, chars.length, true);
        return;
      case "kill-word-space":
        this.remove(
          this.wordStart((c) => !isSpace(c)),
          this.cursor,
          true,
        );
        return;
      case "kill-word-back":
        this.remove(this.wordStart(isWord), this.cursor, true);
        return;
      case "kill-word-forward":
        this.remove(this.cursor, this.wordEnd(), true);
        return;
      case "yank":
        this.insert(this.killed);
        return;
      case "word-back":
        this.cursor = this.wordStart(isWord);
        return;
      case "word-forward":
        this.cursor = this.wordEnd();
        return;
      case "nothing":
        return;
    }
  }

  private insert(inserted: Char[]): void {
    const bytes = inserted.reduce((n, c) => n + c.bytes.length, 0);
    if (inserted.length === 0 || this.byteLength + bytes > this.max) return;
    this.chars.splice(this.cursor, 0, ...inserted);
    this.cursor += inserted.length;
  }

  private remove(from: number, to: number, kill: boolean): void {
    if (to <= from) return;
    const removed = this.chars.splice(from, to - from);
    if (kill) this.killed = removed;
    this.cursor = from;
  }

  private wordStart(isWordChar: (c: Char) => boolean): number {
    let at = this.cursor;
    while (at > 0 && !isWordChar(this.chars[at - 1]!)) at--;
    while (at > 0 && isWordChar(this.chars[at - 1]!)) at--;
    return at;
  }

  private wordEnd(): number {
    let at = this.cursor;
    while (at < this.chars.length && !isWord(this.chars[at]!)) at++;
    while (at < this.chars.length && isWord(this.chars[at]!)) at++;
    return at;
  }
}

const WIDE_TAIL = "\u0000wide";

/**
 * A terminal, as far as the editor's output goes: one row of cells and a
 * cursor. Printing writes a character at the cursor (a wide one takes two
 * cells; writing over half of one blanks the other half, as xterm does), a
 * zero-width mark joins the character before the cursor, BS moves left, CR
 * goes to column 0 and LF starts a new, empty row. Bytes that are not UTF-8
 * show as U+FFFD.
 */
class Terminal {
  row: string[] = [];
  column = 0;

  write(bytes: Buffer): void {
    let i = 0;
    while (i < bytes.length) {
      const byte = bytes[i]!;
      if (byte === 0x08) {
        this.column = Math.max(0, this.column - 1);
        i++;
      } else if (byte === 0x0d) {
        this.column = 0;
        i++;
      } else if (byte === 0x0a) {
        this.row = [];
        this.column = 0;
        i++;
      } else if (byte < 0x20) {
        assert.fail(`the editor sent the control byte ${byte}`);
      } else {
        const size = byte < 0x80 ? 1 : byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
        let valid = size > 0 && i + size <= bytes.length;
        for (let k = 1; valid && k < size; k++) valid = (bytes[i + k]! & 0xc0) === 0x80;
        const char = valid ? bytes.toString("utf8", i, i + size) : "\ufffd";
        i += valid ? size : 1;
        this.print(char);
      }
    }
  }

  private print(char: string): void {
    if (char === "\u0301") {
      let at = this.column - 1;
      if (at >= 0 && this.row[at] === WIDE_TAIL) at--;
      if (at >= 0) this.row[at] += char;
      return;
    }
    const width = char === "李" || char === "😀" ? 2 : 1;
    for (let k = 0; k < width; k++) this.blankWideAt(this.column + k);
    this.row[this.column] = char;
    if (width === 2) this.row[this.column + 1] = WIDE_TAIL;
    this.column += width;
  }

  /** Writing into either half of a wide character blanks both halves. */
  private blankWideAt(at: number): void {
    if (this.row[at] === WIDE_TAIL) {
      this.row[at - 1] = " ";
      this.row[at] = " ";
    } else if (this.row[at + 1] === WIDE_TAIL) {
      this.row[at + 1] = " ";
    }
  }

  /** The row as cells, trailing blanks dropped. */
  cells(): string[] {
    const cells = Array.from({ length: this.row.length }, (_, i) => this.row[i] ?? " ");
    while (cells.length > 0 && cells.at(-1) === " ") cells.pop();
    return cells;
  }
}

function cellsOf(chars: Char[]): string[] {
  const cells = chars.flatMap((c) => (c.width === 2 ? [c.shown, WIDE_TAIL] : [c.shown]));
  while (cells.length > 0 && cells.at(-1) === " ") cells.pop();
  return cells;
}

describe("LineEditor: against a reference model, on a model terminal", () => {
  test("for any keys, the screen shows what the line holds, the cursor where it is, and Enter submits the model's line", { timeout: 60000 }, () => {
    fc.assert(
      fc.property(
        fc.array(keyCase, { maxLength: 60 }),
        fc.integer({ min: 4, max: 40 }),
        fc.array(fc.nat({ max: 59 }), { maxLength: 3 }),
        (keys, max, hideAt) => {
          const run = editor(max);
          const model = new Model(max);
          const terminal = new Terminal();
          const undoIAC = (bytes: Buffer): Buffer => {
            const data: number[] = [];
            const parser = new TelnetParser({
              data: (chunk, from, to) => (data.push(...chunk.subarray(from, to)), to),
              command: () => assert.fail("only data is echoed"),
              negotiation: () => assert.fail("only data is echoed"),
              subnegotiation: () => assert.fail("only data is echoed"),
            });
            parser.push(bytes);
            return Buffer.from(data);
          };
          keys.forEach(({ bytes, op }, index) => {
            if (hideAt.includes(index)) {
              // A notice comes between two keys.
              run.editor.hide();
              terminal.write(undoIAC(Buffer.from(run.take(), "latin1")));
              terminal.write(Buffer.from("[notice]\r\n"));
            }
            terminal.write(undoIAC(Buffer.from(run.type(bytes), "latin1")));
            model.apply(op);
            assert.deepEqual(terminal.cells(), cellsOf(model.chars), `after key ${index} (${JSON.stringify(bytes.toString("latin1"))})`);
            assert.equal(
              terminal.column,
              model.chars.slice(0, model.cursor).reduce((n, c) => n + c.width, 0),
              `cursor after key ${index}`,
            );
            assert.deepEqual(
              [...run.editor.line()],
              model.chars.flatMap((c) => c.bytes),
            );
          });
          run.type("\r\n");
          assert.deepEqual(
            [...run.lines[0]!],
            model.chars.flatMap((c) => c.bytes),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("any chunking of the same keys gives the same echo and the same line", { timeout: 60000 }, () => {
    fc.assert(
      fc.property(fc.array(keyCase, { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }), (keys, sizes) => {
        const bytes = Buffer.concat([...keys.map((k) => k.bytes), Buffer.from("\r\n")]);
        const whole = editor(30);
        const wholeEcho = whole.type(bytes);
        const split = editor(30);
        const chunks: Buffer[] = [];
        for (let at = 0, k = 0; at < bytes.length; k++) {
          chunks.push(bytes.subarray(at, at + sizes[k % sizes.length]!));
          at += sizes[k % sizes.length]!;
        }
        assert.equal(split.type(...chunks), wholeEcho);
        assert.deepEqual(split.lines, whole.lines);
      }),
      { numRuns: 1000 },
    );
  });
});

// ── the same property on a terminal of known width, where the line wraps ──

/**
 * A terminal `width` columns wide, as xterm, tmux and PuTTY behave for what
 * the editor sends once it knows the width: rows of cells and a cursor.
 * A character written in the last column leaves the cursor there with a
 * wrap pending (the next character goes to the next row); a double-width
 * character that does not fit in a row's last column goes to the next row
 * and leaves that cell as it was. CR goes to column 0, LF a row down (a new
 * row at the bottom), `ESC [ n A` n rows up, `ESC [ n C` n columns right.
 * BS from a pending wrap or from column 0 is where those terminals disagree
 * (xterm, tmux and PuTTY each do something else), so the editor must never
 * send it there: the model fails.
 */
class WrappingTerminal {
  rows: string[][] = [[]];
  row = 0;
  column = 0;
  pending = false;

  constructor(readonly width: number) {}

  write(bytes: Buffer): void {
    let i = 0;
    while (i < bytes.length) {
      const byte = bytes[i]!;
      if (byte === 0x08) {
        assert.ok(!this.pending, "BS from a pending wrap");
        assert.ok(this.column > 0, "BS at column 0");
        this.column--;
        i++;
      } else if (byte === 0x0d) {
        this.column = 0;
        this.pending = false;
        i++;
      } else if (byte === 0x0a) {
        this.down();
        i++;
      } else if (byte === 0x1b) {
        const match = /^\x1b\[(\d+)([AC])/.exec(bytes.toString("latin1", i, i + 12));
        assert.ok(match !== null, `an escape sequence the editor should not send: ${JSON.stringify(bytes.toString("latin1", i, i + 8))}`);
        const n = Number(match[1]);
        assert.ok(n > 0, "a cursor move of 0");
        if (match[2] === "A") this.row = Math.max(0, this.row - n);
        else this.column = Math.min(this.width - 1, this.column + n);
        this.pending = false;
        i += match[0].length;
      } else if (byte < 0x20) {
        assert.fail(`the editor sent the control byte ${byte}`);
      } else {
        const size = byte < 0x80 ? 1 : byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
        let valid = size > 0 && i + size <= bytes.length;
        for (let k = 1; valid && k < size; k++) valid = (bytes[i + k]! & 0xc0) === 0x80;
        const char = valid ? bytes.toString("utf8", i, i + size) : "\ufffd";
        i += valid ? size : 1;
        this.print(char);
      }
    }
  }

  private down(): void {
    this.row++;
    this.rows[this.row] ??= [];
    this.pending = false;
  }

  private get cells(): string[] {
    return (this.rows[this.row] ??= []);
  }

  private print(char: string): void {
    if (char === "\u0301") {
      const cells = this.cells;
      let at = this.pending ? this.width - 1 : this.column - 1;
      if (at >= 0 && cells[at] === WIDE_TAIL) at--;
      if (at >= 0) cells[at] += char;
      return;
    }
    const width = char === "李" || char === "😀" ? 2 : 1;
    if (this.pending || this.column + width > this.width) {
      this.down();
      this.column = 0;
    }
    const cells = this.cells;
    for (let k = 0; k < width; k++) {
      const at = this.column + k;
      if (cells[at] === WIDE_TAIL) cells[at - 1] = " ";
      else if (cells[at + 1] === WIDE_TAIL) cells[at + 1] = " ";
    }
    cells[this.column] = char;
    if (width === 2) cells[this.column + 1] = WIDE_TAIL;
    this.column += width;
    if (this.column === this.width) {
      this.column = this.width - 1;
      this.pending = true;
    }
  }

  /** Rows `from` on, as cells, trailing blanks dropped, and empty rows at the end dropped. */
  screen(from: number): string[][] {
    const rows = this.rows.slice(from).map((row) => {
      const cells = Array.from({ length: row.length }, (_, i) => row[i] ?? " ");
      while (cells.length > 0 && cells.at(-1) === " ") cells.pop();
      return cells;
    });
    while (rows.length > 0 && rows.at(-1)!.length === 0) rows.pop();
    return rows;
  }
}

/** The model's line laid out on rows `width` wide, as a terminal wraps it; and where its cursor shows. */
function layout(chars: Char[], cursor: number, width: number): { rows: string[][]; row: number; column: number; end: number } {
  const rows: string[][] = [[]];
  let cell = 0;
  let cursorCell = -1;
  chars.forEach((c, index) => {
    if ((cell % width) + c.width > width) cell += width - (cell % width);
    if (index === cursor) cursorCell = cell;
    const row = (rows[Math.floor(cell / width)] ??= []);
    row[cell % width] = c.shown;
    if (c.width === 2) row[(cell % width) + 1] = WIDE_TAIL;
    cell += c.width;
  });
  if (cursorCell === -1) cursorCell = cell;
  const trimmed = rows.map((row) => {
    const cells = Array.from({ length: row.length }, (_, i) => row[i] ?? " ");
    while (cells.length > 0 && cells.at(-1) === " ") cells.pop();
    return cells;
  });
  while (trimmed.length > 0 && trimmed.at(-1)!.length === 0) trimmed.pop();
  return { rows: trimmed, row: Math.floor(cursorCell / width), column: cursorCell % width, end: cell };
}

describe("LineEditor: a terminal of known width (NAWS), on a model terminal that wraps", () => {
  test("for any keys and width, every row shows its part of the line and the cursor is where it belongs", { timeout: 60000 }, () => {
    fc.assert(
      fc.property(
        fc.array(keyCase, { maxLength: 60 }),
        fc.integer({ min: 2, max: 9 }),
        fc.integer({ min: 4, max: 40 }),
        fc.array(fc.nat({ max: 59 }), { maxLength: 3 }),
        (keys, width, max, hideAt) => {
          const run = editor(max);
          run.editor.setWidth(width);
          const model = new Model(max);
          const terminal = new WrappingTerminal(width);
          let lineRow = 0;
          const undoIAC = (bytes: Buffer): Buffer => Buffer.from(bytes.toString("latin1").replaceAll("\xff\xff", "\xff"), "latin1");
          keys.forEach(({ bytes, op }, index) => {
            if (hideAt.includes(index)) {
              run.editor.hide();
              terminal.write(undoIAC(Buffer.from(run.take(), "latin1")));
              // The notice starts on a fresh row; the line comes back under it.
              assert.equal(terminal.column, 0, `a notice after key ${index} starts a row`);
              terminal.write(Buffer.from("[n]\r\n"));
              lineRow = terminal.row;
            }
            const echo = run.type(bytes);
            // The too-long notice: on a row of its own, the line shown again under it.
            const notice = echo.indexOf(NOTICE);
            if (notice !== -1) {
              terminal.write(undoIAC(Buffer.from(echo.slice(0, notice), "latin1")));
              assert.equal(terminal.column, 0, `the too-long notice after key ${index} starts a row`);
              terminal.write(Buffer.from(NOTICE));
              lineRow = terminal.row;
            }
            terminal.write(undoIAC(Buffer.from(notice === -1 ? echo : echo.slice(notice + NOTICE.length), "latin1")));
            model.apply(op);
            const expected = layout(model.chars, model.cursor, width);
            const what = `after key ${index} (${JSON.stringify(bytes.toString("latin1"))}), width ${width}`;
            assert.deepEqual(terminal.screen(lineRow), expected.rows, what);
            assert.deepEqual([terminal.row - lineRow, terminal.column, terminal.pending], [expected.row, expected.column, false], `cursor ${what}`);
            assert.deepEqual(
              [...run.editor.line()],
              model.chars.flatMap((c) => c.bytes),
            );
          });
          // Enter: the reply goes on the row after the line's last, which is left as it was.
          terminal.write(undoIAC(Buffer.from(run.type("\r"), "latin1")));
          const { rows, end } = layout(model.chars, model.cursor, width);
          assert.deepEqual(terminal.screen(lineRow).slice(0, rows.length), rows);
          assert.deepEqual(
            [terminal.row - lineRow, terminal.column],
            [Math.max(1, Math.ceil(end / width)), 0],
            "after Enter: the start of the row under the line",
          );
          assert.deepEqual(
            [...run.lines[0]!],
            model.chars.flatMap((c) => c.bytes),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("any chunking of the same keys gives the same echo and the same line", { timeout: 60000 }, () => {
    fc.assert(
      fc.property(
        fc.array(keyCase, { maxLength: 40 }),
        fc.integer({ min: 2, max: 9 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 8 }),
        (keys, width, sizes) => {
          const bytes = Buffer.concat([...keys.map((k) => k.bytes), Buffer.from("\r\n")]);
          const whole = editor(30);
          whole.editor.setWidth(width);
          const wholeEcho = whole.type(bytes);
          const split = editor(30);
          split.editor.setWidth(width);
          const chunks: Buffer[] = [];
          for (let at = 0, k = 0; at < bytes.length; k++) {
            chunks.push(bytes.subarray(at, at + sizes[k % sizes.length]!));
            at += sizes[k % sizes.length]!;
          }
          assert.equal(split.type(...chunks), wholeEcho);
          assert.deepEqual(split.lines, whole.lines);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

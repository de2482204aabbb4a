/**
 * The line editor the server is while it echoes (a character-mode telnet
 * client: each key arrives as typed, and the user sees only what the server
 * sends back). It behaves like readline in its default (emacs) bindings
 * (LineEditor.keymap binds these keys to readline's commands):
 *
 *     Left / Ctrl-B, Right / Ctrl-F       one character back / forward
 *     Alt-B, Alt-F, Ctrl-Left, Ctrl-Right one word back / forward
 *     Home / Ctrl-A, End / Ctrl-E         start / end of the line
 *     Backspace (DEL, BS), Delete / Ctrl-D  the character before / under the cursor
 *     Ctrl-U, Ctrl-K                      kill to the start / to the end of the line
 *     Ctrl-W, Alt-Backspace, Alt-D        kill the word before (whitespace / alphanumeric) / after
 *     Ctrl-Y                              yank (insert) the last kill
 *     Enter (CR, CR LF, CR NUL, LF)       the line is done
 *     Ctrl-C                              abandon the line (shown as ^C)
 *
 * Text is inserted at the cursor, UTF-8 aware: a character is a code point
 * with the zero-width marks that follow it (combining accents, joiners), and
 * takes the columns a terminal gives it (two for CJK and most emoji, from
 * Unicode's East Asian Width, via get-east-asian-width). A byte that is not
 * UTF-8 (a Latin-1 or code-page terminal) is a character of one column, and
 * goes back as it came. Other keys (Tab, Up, F-keys, any escape sequence
 * it does not know, control characters) are dropped whole: the key decoder
 * reads a sequence to its end before the editor sees it, so no part of one
 * reaches the line.
 *
 * The screen is redrawn with plain bytes every terminal understands: the
 * characters themselves, spaces to blank what was deleted and BS to move
 * left, as readline does on a terminal it knows nothing about. That is all
 * it can do while it does not know the terminal's width: a line longer than
 * a row is then redrawn wrongly where it wraps. Once the client has said its
 * width (NAWS, setWidth()), the editor lays the line out on rows as the
 * terminal does and moves between them with CR, LF and the ANSI cursor
 * keys (wrapped-cursor.ts), so inserting and erasing anywhere in a wrapped
 * line leaves the screen showing the line.
 *
 * Pure and incremental: keys in, echo bytes out (into the batch, every 0xFF
 * doubled), complete lines to the sink. The line holds at most maxLineLength
 * bytes: a key that would pass it is dropped and the sink told once per line.
 */
import { eastAsianWidth } from "get-east-asian-width";
import { type Key, KeyDecoder } from "./keys.js";
import { completesCR, CR } from "./line-end.js";
import { escapeIAC } from "./iac-escape.js";
import { WrappedCursor } from "./wrapped-cursor.js";

/** Where the editor's echo goes (a OutputBatch). */
export interface EditorOutput {
  add(bytes: Buffer): void;
}

export interface LineEditorSink {
  /** Enter: the line as typed, `source[from, to)` (not telnet-escaped); read it before returning. */
  line(source: Buffer, from: number, to: number): void;
  /** A key would make the line longer than maxLineLength (once per line). */
  lineTooLong(): void;
}

const BS = 0x08;
const SPACE = 0x20;
const ESC = 0x1b;
const CRLF = Buffer.from("\r\n");
/** What an interrupted line looks like on screen, as a tty shows it. */
const INTERRUPTED = Buffer.from("^C\r\n");
/** The smallest line buffer allocated; it grows by doubling up to maxLineLength. */
const MIN_CAPACITY = 64;
/** `info` for a byte that continues the character before it. */
const CONTINUES = 0;

export class LineEditor {
  readonly maxLineLength: number;
  private readonly out: EditorOutput;
  private readonly sink: LineEditorSink;
  private readonly decoder = new KeyDecoder();
  /** The line's bytes, [0, length). Allocated on the first character. */
  private bytes: Buffer | null = null;
  /**
   * One entry per byte of the line: CONTINUES, or 1 + the columns of the
   * character that starts at that byte. Characters are fixed when they are
   * typed, so bytes that happen to sit next to each other never merge.
   */
  private info: Uint8Array | null = null;
  private length = 0;
  /** The cursor, as a byte offset at a character boundary. */
  private cursor = 0;
  /** The last text killed (Ctrl-U, Ctrl-K, Ctrl-W…), for Ctrl-Y. */
  private killed: { bytes: Buffer; info: Uint8Array } | null = null;
  /** The last key ended in a CR: an LF or NUL right after it belongs to that Enter (line-end.ts). */
  private afterCR = false;
  /** The line and the cursor are on the user's screen as held (false after a notice pushed them off). */
  private shown = true;
  /** The sink has heard lineTooLong() for this line. */
  private toldTooLong = false;
  /** Bound once: the key handler given to the decoder. */
  private readonly onKey: (key: Key) => boolean;
  private hasRoom: () => boolean = () => true;
  /** The terminal's cursor on the rows of a wrapped line, while its width is known; null: the line is drawn as one row. */
  private wrapped: WrappedCursor | null = null;

  constructor(out: EditorOutput, sink: LineEditorSink, maxLineLength: number) {
    if (!Number.isInteger(maxLineLength) || maxLineLength < 1) {
      throw new RangeError(`maxLineLength must be a whole number of bytes >= 1, not ${maxLineLength}`);
    }
    this.out = out;
    this.sink = sink;
    this.maxLineLength = maxLineLength;
    this.onKey = (key) => {
      this.key(key);
      return this.hasRoom();
    };
  }

  /**
   * The terminal is `columns` wide (NAWS); 0 (or 1, too narrow for a
   * double-width character): not known. Sends nothing: the terminal's cursor
   * is taken to be where the editor's is (after a resize, a terminal may or
   * may not have rewrapped the line; the next redraw starts from there).
   */
  setWidth(columns: number): void {
    const width = columns >= 2 ? columns : 0;
    if ((this.wrapped?.width ?? 0) === width) return;
    this.wrapped = width === 0 ? null : new WrappedCursor(width);
    if (this.wrapped !== null && this.shown) this.wrapped.cell = this.cursorCell(this.cursor);
  }

  /** Bytes of the line being typed (at most maxLineLength). */
  get byteCount(): number {
    return this.length;
  }

  /** The line as typed so far (a copy). */
  line(): Buffer {
    return this.bytes === null ? Buffer.alloc(0) : Buffer.from(this.bytes.subarray(0, this.length));
  }

  /**
   * Keys typed, `chunk[from, to)`. After each key `hasRoom()` is asked
   * whether to go on; returns where it stopped (`to`, or after the key at
   * which the answer was no).
   */
  receive(chunk: Buffer, from: number, to: number, hasRoom: () => boolean): number {
    this.hasRoom = hasRoom;
    return this.decoder.decode(chunk, from, to, this.onKey);
  }

  /**
   * Starts from a line typed before the editor took over (cursor at its
   * end, already on screen); `afterCR`: what came before ended with a CR
   * that ended a line, so a next LF or NUL is the rest of that line end.
   */
  load(line: Buffer, afterCR = false): void {
    this.clear();
    this.insert(line, 0, line.length, false);
    if (this.wrapped !== null) this.wrapped.wrote(this.cellAt(this.length));
    this.afterCR = afterCR;
  }

  /** The last key ended in a CR that ended a line (what the framer takes over when echo stops). */
  get isAfterCR(): boolean {
    return this.afterCR;
  }

  /** Telnet EC: the character before the cursor. */
  erase(): void {
    this.show();
    this.afterCR = false;
    if (this.cursor > 0) this.deleteRange(this.previousBoundary(this.cursor), this.cursor);
  }

  /** Telnet EL: the whole line, and any half-typed key. */
  eraseLine(): void {
    this.decoder.reset();
    this.afterCR = false;
    if (!this.shown) {
      // Not on screen: nothing to erase there.
      this.clear();
      return;
    }
    if (this.length > 0) this.deleteRange(0, this.length);
  }

  /** Ctrl-C, telnet IP: the line is abandoned, shown as `^C` at its end. */
  interrupt(): void {
    this.decoder.reset();
    if (this.shown) this.toEnd();
    this.out.add(INTERRUPTED);
    this.clear();
  }

  /**
   * Something else is about to be written (a notice): end the line on
   * screen first, as readline does for an asynchronous message. It is shown
   * again by show(), which every key does first.
   */
  hide(): void {
    if (!this.shown) return;
    if (this.length > 0) {
      this.endLine();
      this.shown = false;
    }
  }

  /** Shows the line again (after hide()), the cursor where it was. */
  show(): void {
    if (this.shown) return;
    this.shown = true;
    if (this.wrapped !== null) {
      this.wrapped.home();
      this.draw(0, this.length);
      this.settle();
      return;
    }
    this.emit(0, this.length);
    this.back(this.columns(this.cursor, this.length));
  }

  /** The input ended: a line typed so far is still a line. */
  finish(): void {
    this.decoder.reset();
    if (this.length > 0) this.submit();
    this.clear();
  }

  /** Forgets the line (and held key bytes) without a word on screen. */
  clear(): void {
    this.length = 0;
    this.cursor = 0;
    this.bytes = null;
    this.info = null;
    this.shown = true;
    this.toldTooLong = false;
    this.afterCR = false;
    this.wrapped?.home();
  }

  // ── keys ─────────────────────────────────────────────────────────

  private key(key: Key): void {
    const { name, sequence } = key;
    if (this.afterCR) {
      this.afterCR = false;
      // CR LF and CR NUL are one Enter: the LF or NUL byte alone is the rest of it.
      if (sequence.length === 1 && completesCR(sequence[0])) return;
    }
    this.show();
    if (name === "return" || name === "enter") {
      // Alt-Enter (Esc, then Enter) is Enter too.
      this.submit();
      this.afterCR = sequence[sequence.length - 1] === CR;
      return;
    }
    if (key.text !== undefined && !key.ctrl && !key.meta) {
      this.typeCharacter(key.sequence, key.text.codePointAt(0)!);
      return;
    }
    if (name === "unknown" && !key.meta && key.sequence[0] !== ESC && key.sequence[0]! >= 0x80) {
      // Bytes that are not UTF-8: one character of one column each key.
      this.insertCharacter(key.sequence, 1);
      return;
    }
    // Tab, Up, Down, F-keys, mouse reports, unknown sequences and every
    // other control key are unbound, as in readline without an inputrc: nothing happens.
    LineEditor.keymap.get(keymapName(key))?.(this);
  }

  // ── readline's commands (its names), each bound to its keys in keymap ──

  private static backwardChar(editor: LineEditor): void {
    if (editor.cursor > 0) editor.moveTo(editor.previousBoundary(editor.cursor));
  }

  private static forwardChar(editor: LineEditor): void {
    if (editor.cursor < editor.length) editor.moveTo(editor.nextBoundary(editor.cursor));
  }

  private static beginningOfLine(editor: LineEditor): void {
    editor.moveTo(0);
  }

  private static endOfLine(editor: LineEditor): void {
    editor.moveTo(editor.length);
  }

  private static backwardWord(editor: LineEditor): void {
    editor.moveTo(editor.wordStartBefore(editor.cursor, isWordByte));
  }

  private static forwardWord(editor: LineEditor): void {
    editor.moveTo(editor.wordEndAfter(editor.cursor));
  }

  private static backwardDeleteChar(editor: LineEditor): void {
    if (editor.cursor > 0) editor.deleteRange(editor.previousBoundary(editor.cursor), editor.cursor);
  }

  private static deleteChar(editor: LineEditor): void {
    if (editor.cursor < editor.length) editor.deleteRange(editor.cursor, editor.nextBoundary(editor.cursor));
  }

  private static unixLineDiscard(editor: LineEditor): void {
    editor.kill(0, editor.cursor);
  }

  private static killLine(editor: LineEditor): void {
    editor.kill(editor.cursor, editor.length);
  }

  private static unixWordRubout(editor: LineEditor): void {
    editor.kill(editor.wordStartBefore(editor.cursor, isNotSpace), editor.cursor);
  }

  private static killWord(editor: LineEditor): void {
    editor.kill(editor.cursor, editor.wordEndAfter(editor.cursor));
  }

  private static backwardKillWord(editor: LineEditor): void {
    editor.kill(editor.wordStartBefore(editor.cursor, isWordByte), editor.cursor);
  }

  private static yank(editor: LineEditor): void {
    if (editor.killed !== null) editor.yank(editor.killed);
  }

  private static interrupt(editor: LineEditor): void {
    editor.interrupt();
  }

  /**
   * Key → command, readline's emacs bindings (the file header): keys are
   * named by keymapName(), "C-" for Ctrl and "M-" for Alt (meta) before the
   * key's name. Several keys share a command, as in readline.
   */
  private static readonly keymap: ReadonlyMap<string, (editor: LineEditor) => void> = new Map([
    ["left", LineEditor.backwardChar],
    ["C-b", LineEditor.backwardChar],
    ["right", LineEditor.forwardChar],
    ["C-f", LineEditor.forwardChar],
    ["home", LineEditor.beginningOfLine],
    ["C-a", LineEditor.beginningOfLine],
    ["end", LineEditor.endOfLine],
    ["C-e", LineEditor.endOfLine],
    ["M-b", LineEditor.backwardWord],
    ["M-left", LineEditor.backwardWord],
    ["C-left", LineEditor.backwardWord],
    ["M-f", LineEditor.forwardWord],
    ["M-right", LineEditor.forwardWord],
    ["C-right", LineEditor.forwardWord],
    ["backspace", LineEditor.backwardDeleteChar],
    ["delete", LineEditor.deleteChar],
    ["C-d", LineEditor.deleteChar],
    ["C-u", LineEditor.unixLineDiscard],
    ["C-k", LineEditor.killLine],
    ["C-w", LineEditor.unixWordRubout],
    ["M-d", LineEditor.killWord],
    ["M-backspace", LineEditor.backwardKillWord],
    ["C-y", LineEditor.yank],
    ["C-c", LineEditor.interrupt],
  ]);

  // ── editing, with the screen kept in step ───────────────────────

  private typeCharacter(sequence: Buffer, codePoint: number): void {
    if (isControl(codePoint)) return;
    if (isZeroWidth(codePoint)) {
      // A mark belongs to the character before it; with none, there is nothing to put it on.
      if (this.cursor > 0) this.insert(sequence, 0, sequence.length, true);
      return;
    }
    this.insertCharacter(sequence, eastAsianWidth(codePoint, { ambiguousAsWide: false }));
  }

  private insertCharacter(sequence: Buffer, columns: number): void {
    if (!this.fits(sequence.length)) return;
    const at = this.cursor;
    const oldEnd = this.endCell();
    this.insertBytes(sequence, 0, sequence.length, at);
    this.info![at] = columns + 1;
    this.cursor = at + sequence.length;
    this.redrawFrom(at, oldEnd);
  }

  /** Inserts bytes at the cursor (all one character's continuation when `continues`, else as loaded text, one column per byte unless UTF-8). */
  private insert(source: Buffer, from: number, to: number, continues: boolean): void {
    if (to <= from || !this.fits(to - from)) return;
    const at = this.cursor;
    const oldEnd = this.endCell();
    this.insertBytes(source, from, to, at);
    if (!continues) markCharacters(this.bytes!, this.info!, at, at + (to - from));
    this.cursor = at + (to - from);
    if (continues) this.redrawFrom(at, oldEnd);
  }

  private yank(text: { bytes: Buffer; info: Uint8Array }): void {
    if (!this.fits(text.bytes.length)) return;
    const at = this.cursor;
    const oldEnd = this.endCell();
    this.insertBytes(text.bytes, 0, text.bytes.length, at);
    this.info!.set(text.info, at);
    this.cursor = at + text.bytes.length;
    this.redrawFrom(at, oldEnd);
  }

  /** Whether `bytes` more fit; if not, the sink is told (once per line) and the line shown again under its notice. */
  private fits(bytes: number): boolean {
    if (this.length + bytes <= this.maxLineLength) return true;
    if (!this.toldTooLong) {
      this.toldTooLong = true;
      this.sink.lineTooLong();
      this.show();
    }
    return false;
  }

  /**
   * After inserting at `at` (the cursor is past the insertion): draw from
   * `at` to the end, then come back. `oldEnd` is where the line ended before
   * (endCell()), for what wrapping may leave behind.
   */
  private redrawFrom(at: number, oldEnd: number): void {
    if (this.wrapped !== null) {
      this.redrawWrapped(at, oldEnd);
      return;
    }
    this.emit(at, this.length);
    this.back(this.columns(this.cursor, this.length));
  }

  private kill(from: number, to: number): void {
    if (to <= from) return;
    this.killed = { bytes: Buffer.from(this.bytes!.subarray(from, to)), info: this.info!.slice(from, to) };
    this.deleteRange(from, to);
  }

  /** Deletes [from, to) (the cursor is at one of its ends) and redraws: the tail moves left, the freed columns are blanked. */
  private deleteRange(from: number, to: number): void {
    this.moveTo(from);
    const gone = this.columns(from, to);
    const oldEnd = this.endCell();
    const bytes = this.bytes!;
    const info = this.info!;
    bytes.copyWithin(from, to, this.length);
    info.copyWithin(from, to, this.length);
    this.length -= to - from;
    if (this.wrapped !== null) {
      this.redrawWrapped(from, oldEnd);
      return;
    }
    this.emit(from, this.length);
    this.out.add(Buffer.alloc(gone, SPACE));
    this.back(this.columns(from, this.length) + gone);
  }

  private moveTo(target: number): void {
    if (this.wrapped !== null) {
      this.cursor = target;
      this.settle();
      return;
    }
    if (target < this.cursor) this.back(this.columns(target, this.cursor));
    else if (target > this.cursor) this.emit(this.cursor, target);
    this.cursor = target;
  }

  private submit(): void {
    this.endLine();
    const bytes = this.bytes;
    const length = this.length;
    this.clear();
    if (bytes === null) this.sink.line(EMPTY, 0, 0);
    else this.sink.line(bytes, 0, length);
  }

  // ── the line's bytes ─────────────────────────────────────────────

  private insertBytes(source: Buffer, from: number, to: number, at: number): void {
    const count = to - from;
    const needed = this.length + count;
    if (this.bytes === null || this.bytes.length < needed) {
      let capacity = Math.max(MIN_CAPACITY, this.bytes?.length ?? 0);
      while (capacity < needed) capacity *= 2;
      capacity = Math.min(capacity, Math.max(needed, this.maxLineLength));
      const bytes = Buffer.allocUnsafe(capacity);
      const info = new Uint8Array(capacity);
      if (this.bytes !== null) {
        this.bytes.copy(bytes, 0, 0, this.length);
        info.set(this.info!.subarray(0, this.length));
      }
      this.bytes = bytes;
      this.info = info;
    }
    const bytes = this.bytes;
    const info = this.info!;
    bytes.copyWithin(at + count, at, this.length);
    info.copyWithin(at + count, at, this.length);
    source.copy(bytes, at, from, to);
    info.fill(CONTINUES, at, at + count);
    this.length = needed;
  }

  private previousBoundary(at: number): number {
    const info = this.info!;
    do at--;
    while (at > 0 && info[at] === CONTINUES);
    return at;
  }

  private nextBoundary(at: number): number {
    const info = this.info!;
    do at++;
    while (at < this.length && info[at] === CONTINUES);
    return at;
  }

  /** Columns taken by the characters that start in [from, to). */
  private columns(from: number, to: number): number {
    const info = this.info;
    let columns = 0;
    if (info === null) return 0;
    for (let i = from; i < to; i++) if (info[i] !== CONTINUES) columns += info[i]! - 1;
    return columns;
  }

  /** The start of the word before `at`: back over non-word characters, then over word characters. */
  private wordStartBefore(at: number, isWord: (byte: number) => boolean): number {
    const bytes = this.bytes;
    if (bytes === null) return 0;
    while (at > 0 && !isWord(bytes[this.previousBoundary(at)]!)) at = this.previousBoundary(at);
    while (at > 0 && isWord(bytes[this.previousBoundary(at)]!)) at = this.previousBoundary(at);
    return at;
  }

  /** The end of the word after `at` (readline's forward-word: over non-word characters, then word characters). */
  private wordEndAfter(at: number): number {
    const bytes = this.bytes;
    if (bytes === null) return 0;
    while (at < this.length && !isWordByte(bytes[at]!)) at = this.nextBoundary(at);
    while (at < this.length && isWordByte(bytes[at]!)) at = this.nextBoundary(at);
    return at;
  }

  // ── output ───────────────────────────────────────────────────────

  /** The line's bytes [from, to) as they go on the wire. */
  private emit(from: number, to: number): void {
    if (to > from) this.out.add(escapeIAC(this.bytes!, from, to));
  }

  private back(columns: number): void {
    if (columns > 0) this.out.add(Buffer.alloc(columns, BS));
  }

  /** The cursor to the end of the line, on screen too. */
  private toEnd(): void {
    if (this.wrapped !== null) this.wrapped.moveTo(this.cellAt(this.length), this.out);
    else this.emit(this.cursor, this.length);
  }

  /**
   * The line is done on screen (Enter, or a notice comes): the cursor to a
   * fresh row below it. Without a width: CR LF where the cursor is, as
   * before. With one, from the line's last row; a line that fills its last
   * row exactly has the cursor on the fresh row already.
   */
  private endLine(): void {
    const wrapped = this.wrapped;
    if (wrapped === null) {
      this.out.add(CRLF);
      return;
    }
    const end = this.cellAt(this.length);
    wrapped.moveTo(end, this.out);
    if (end === 0 || end % wrapped.width !== 0) this.out.add(CRLF);
  }

  // ── the rows of a wrapped line (only while the width is known) ───

  /** Where the line ends (cells from its start), for redrawWrapped(); 0 without a width. */
  private endCell(): number {
    return this.wrapped === null ? 0 : this.cellAt(this.length);
  }

  /**
   * Cells from the line's start to where the character at byte `index`
   * may start: the end of the one before it. A double-width character that
   * does not fit in what is left of a row starts on the next one.
   */
  private cellAt(index: number): number {
    const info = this.info;
    if (info === null) return 0;
    const width = this.wrapped!.width;
    let cell = 0;
    for (let i = 0; i < index; i++) {
      const value = info[i]!;
      if (value === CONTINUES) continue;
      const columns = value - 1;
      if ((cell % width) + columns > width) cell += width - (cell % width);
      cell += columns;
    }
    return cell;
  }

  /** Where the cursor shows when it is before the character at byte `index`: on that character, past the blank a wrapped wide one leaves. */
  private cursorCell(index: number): number {
    const width = this.wrapped!.width;
    let cell = this.cellAt(index);
    if (index < this.length) {
      const columns = this.info![index]! - 1;
      if ((cell % width) + columns > width) cell += width - (cell % width);
    }
    return cell;
  }

  /** Draws from byte `from` to the end, blanks what is left of a longer line before (up to `oldEnd`), and puts the cursor back. */
  private redrawWrapped(from: number, oldEnd: number): void {
    const wrapped = this.wrapped!;
    // A mark added to a character is drawn with it: where the cursor is, on
    // a row below that character, the terminal would have nothing to put it on.
    while (from > 0 && from < this.length && this.info![from] === CONTINUES) from--;
    const start = this.cellAt(from);
    if (wrapped.cell !== start) wrapped.moveTo(start, this.out);
    this.draw(from, this.length);
    const left = oldEnd - wrapped.cell;
    if (left > 0) {
      this.out.add(Buffer.alloc(left, SPACE));
      wrapped.wrote(left);
    }
    this.settle();
  }

  /** Writes the characters [from, to) from where the terminal's cursor is, a blank before each double-width one that would not fit. */
  private draw(from: number, to: number): void {
    const wrapped = this.wrapped!;
    const info = this.info!;
    let run = from;
    for (let i = from; i < to; i++) {
      const value = info[i]!;
      if (value === CONTINUES) continue;
      const padding = wrapped.paddingBefore(value - 1);
      if (padding > 0) {
        this.emit(run, i);
        run = i;
        this.out.add(Buffer.alloc(padding, SPACE));
        wrapped.wrote(padding);
      }
      wrapped.wrote(value - 1);
    }
    this.emit(run, to);
  }

  /** The terminal's cursor to where the editor's is. */
  private settle(): void {
    this.wrapped!.moveTo(this.cursorCell(this.cursor), this.out);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * A key's name in the keymap. Alt (meta) wins over Ctrl, so Ctrl-Alt-Left is
 * Alt-Left; Ctrl with Shift is the plain key (Ctrl-Shift-Left moves one
 * character), as the editor has always read them.
 */
function keymapName(key: Key): string {
  if (key.meta) return `M-${key.name}`;
  if (key.ctrl && !key.shift) return `C-${key.name}`;
  return key.name;
}

/** C0 and C1 control characters and DEL: never part of a line typed at a terminal. */
function isControl(codePoint: number): boolean {
  return codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0);
}

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u;

/** Combining marks, joiners and other format characters: a terminal puts them on the character before (U+00AD, the soft hyphen, is shown). */
function isZeroWidth(codePoint: number): boolean {
  if (codePoint < 0x300) return false;
  return (codePoint >= 0x1160 && codePoint <= 0x11ff) || ZERO_WIDTH.test(String.fromCodePoint(codePoint));
}

/** readline's word characters (for Alt-B/F/D/Backspace): letters and digits; any byte of a non-ASCII character counts as one. */
function isWordByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte >= 0x80;
}

/** unix-word-rubout's words (Ctrl-W): anything but spaces and tabs. */
function isNotSpace(byte: number): boolean {
  return byte !== SPACE && byte !== 0x09;
}

/**
 * Marks the characters of text loaded into the line (typed before the editor
 * took over): UTF-8 characters by their width, any other byte one column.
 */
function markCharacters(bytes: Buffer, info: Uint8Array, from: number, to: number): void {
  let i = from;
  while (i < to) {
    const lead = bytes[i]!;
    const size = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 1;
    let valid = i + size <= to;
    for (let k = 1; valid && k < size; k++) valid = (bytes[i + k]! & 0xc0) === 0x80;
    const length = valid ? size : 1;
    const codePoint = valid && size > 1 ? bytes.toString("utf8", i, i + size).codePointAt(0)! : lead;
    if (valid && size > 1 && isZeroWidth(codePoint) && i > from) {
      info.fill(CONTINUES, i, i + length);
    } else {
      info[i] = (valid && size > 1 ? eastAsianWidth(codePoint, { ambiguousAsWide: false }) : 1) + 1;
      info.fill(CONTINUES, i + 1, i + length);
    }
    i += length;
  }
}

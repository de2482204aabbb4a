/**
 * @module protocol/keys
 *
 * Bytes from a terminal in raw mode → keys. Pure and incremental, like the
 * protocol parsers: no streams, no timers. Feed bytes with push() as they are
 * read; complete keys come back in order.
 *
 * The one hard case is ESC (0x1b). A lone Esc press sends just ESC, but ESC
 * also starts the sequences of arrow keys (ESC [ A), function keys (ESC O P,
 * ESC [ 1 5 ~) and Alt-x (ESC x). Bytes alone cannot tell "Esc, then later
 * `[A` typed by hand" from "Up". Terminals send a whole sequence in one write,
 * so the rule used by GNU readline (keyseq-timeout), Node's readline
 * (escapeCodeTimeout) and vim (ttimeoutlen) applies: if ESC is the last byte
 * seen, wait a short time; if nothing follows, it was the Esc key.
 *
 * The decoder holds such ambiguous bytes and reports it through `pending`;
 * the caller owns the clock and calls flush() when ESCAPE_TIMEOUT_MS pass
 * with no new bytes (see terminal/watch-keys.ts). That keeps this file
 * testable byte by byte with no fake timers. The server's line editor has no
 * clock at all (protocol code): a held ESC waits for the next byte, so Esc
 * and then a key is that key with Alt, as readline reads it.
 *
 * Two ways in: push() returns the keys of a chunk; decode() hands them to a
 * callback that can stop it after any key (the server's output is full),
 * and says where in the chunk it stopped.
 *
 * The grammar accepted (after Node's emitKeys and ECMA-48):
 *
 *     ESC                      escape (once the timeout passes)
 *     ESC [ P* I* F            CSI: params 0x30-0x3f, intermediates 0x20-0x2f, final 0x40-0x7e
 *     ESC [ [ A..E             Linux console F1..F5
 *     ESC [ M b x y            X10 mouse report (three bytes after M)
 *     ESC O [0-9;]* F          SS3: F1..F4 (P..S), arrows in application mode
 *     ESC ESC [ ... / ESC ESC O ...   the same key with Alt (rxvt)
 *     ESC <key>                that key with Alt (meta)
 *     0x00-0x1f, 0x7f          control keys (Ctrl-C is { name: "c", ctrl: true })
 *     UTF-8                    one printable character, held until complete
 */

const ESC = 0x1b;
const EMPTY = Buffer.alloc(0);
const LEFT_BRACKET = 0x5b; // [
const LETTER_O = 0x4f; // O
const LETTER_M = 0x4d; // M

/**
 * How long a trailing ESC waits for the rest of a sequence, in ms. A terminal
 * writes a whole sequence at once, so on a local terminal or a healthy ssh
 * link its bytes arrive together; 50 ms is far longer than that and far
 * shorter than a person notices. (GNU readline and Node wait 500 ms, tuned
 * for the slow serial lines of their day; vim users commonly set 50-100.)
 */
export const ESCAPE_TIMEOUT_MS = 50;

/** A CSI longer than this is garbage, not a key: it is reported as "unknown" rather than held. */
const MAX_SEQUENCE_LENGTH = 32;

export interface Key {
  /**
   * "escape", "up", "down", "right", "left", "home", "end", "insert",
   * "delete", "pageup", "pagedown", "f1".."f12", "return" (CR), "enter"
   * (LF), "tab", "backspace", "space", a lower-case letter or other
   * character (with `ctrl` for control keys), or "unknown".
   */
  readonly name: string;
  readonly ctrl: boolean;
  /** Alt (sent as an ESC prefix or a CSI modifier). */
  readonly meta: boolean;
  readonly shift: boolean;
  /** The character typed, for keys that type one. */
  readonly text?: string;
  /** The bytes the key arrived as. */
  readonly sequence: Buffer;
}

/** Whether the key is a lone Esc press (not an escape sequence). */
export function isEscape(key: Key): boolean {
  return key.name === "escape";
}

/** Whether the key is Ctrl-C (0x03), which raw mode delivers as a byte instead of SIGINT. */
export function isCtrlC(key: Key): boolean {
  return key.ctrl && key.name === "c" && !key.meta;
}

/** Result of trying to read one key at the start of the held bytes. */
type Step = { key: Key; length: number } | null;

export class KeyDecoder {
  /** Bytes that do not make a whole key yet. Never more than MAX_SEQUENCE_LENGTH. */
  private held: Buffer = EMPTY;

  /**
   * True when bytes are held that only time can resolve (a trailing ESC, a
   * partial sequence or character): the caller should call flush() after
   * ESCAPE_TIMEOUT_MS unless more bytes arrive first.
   */
  get pending(): boolean {
    return this.held.length > 0;
  }

  /** Decodes bytes; returns the keys they complete, in order. */
  push(bytes: Uint8Array): Key[] {
    const keys: Key[] = [];
    const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.decode(chunk, 0, chunk.length, (key) => keys.push(key) > 0);
    return keys;
  }

  /**
   * Decodes `chunk[from, to)`, handing each complete key to `onKey` in
   * order; `onKey` returns false to stop after that key. Returns where in
   * the chunk it stopped: `to` when it took everything (the bytes of an
   * unfinished key are held for the next call), else the end of the last
   * key taken; bytes after it are neither taken nor held, so the caller
   * feeds them again. It stops only once a byte of this chunk is taken (the
   * few keys that held bytes alone may make come first), so a stop is always
   * progress through the chunk.
   */
  decode(chunk: Buffer, from: number, to: number, onKey: (key: Key) => boolean): number {
    const heldLength = this.held.length;
    const input = heldLength === 0 ? chunk.subarray(from, to) : Buffer.concat([this.held, chunk.subarray(from, to)]);
    let at = 0;
    while (at < input.length) {
      const step = readKey(at === 0 ? input : input.subarray(at));
      if (step === null) break;
      at += step.length;
      if (!onKey(step.key) && at > heldLength) {
        this.held = EMPTY;
        return from + (at - heldLength);
      }
    }
    // Copy: never keep the caller's chunk alive through a view.
    this.held = at === input.length ? EMPTY : Buffer.from(input.subarray(at));
    return to;
  }

  /** Forgets held bytes (the line they were typed into was abandoned). */
  reset(): void {
    this.held = EMPTY;
  }

  /**
   * Time is up: whatever is held is taken at face value. A lone ESC is the
   * Esc key; ESC followed by one byte that could have started a sequence is
   * that key with Alt; anything else held (a cut-off sequence or character)
   * is "unknown", never Esc.
   */
  flush(): Key[] {
    const held = this.held;
    this.held = EMPTY;
    if (held.length === 0) return [];
    const keys: Key[] = [];
    let rest = held;
    // A run of ESCs with nothing after them: Esc pressed more than once.
    while (rest.length > 0 && rest[0] === ESC && (rest.length === 1 || rest[1] === ESC)) {
      keys.push(makeKey("escape", rest.subarray(0, 1)));
      rest = rest.subarray(1);
    }
    if (rest.length === 2 && rest[0] === ESC) {
      // ESC [ or ESC O and then silence: Alt-[ or Alt-O.
      const plain = readPlainKey(rest.subarray(1));
      if (plain !== null) keys.push({ ...plain.key, meta: true, sequence: Buffer.from(rest) });
      rest = rest.subarray(2);
    }
    if (rest.length > 0) keys.push(makeKey("unknown", rest));
    return keys;
  }
}

function makeKey(name: string, sequence: Buffer, flags: { ctrl?: boolean; meta?: boolean; shift?: boolean; text?: string } = {}): Key {
  const key: Key = {
    name,
    ctrl: flags.ctrl ?? false,
    meta: flags.meta ?? false,
    shift: flags.shift ?? false,
    sequence: Buffer.from(sequence),
  };
  return flags.text === undefined ? key : { ...key, text: flags.text };
}

/** One key at the start of `input`, or null when more bytes are needed to know. */
function readKey(input: Buffer): Step {
  if (input[0] !== ESC) return readPlainKey(input);
  if (input.length === 1) return null; // ESC alone: only the timeout can tell.
  const second = input[1]!;
  if (second === ESC) {
    if (input.length === 2) return null;
    const third = input[2]!;
    if (third === LEFT_BRACKET || third === LETTER_O) {
      // ESC ESC [ A: Up with Alt, as rxvt sends it.
      const inner = readEscapeSequence(input.subarray(1));
      if (inner === null) return null;
      return { key: { ...inner.key, meta: true, sequence: Buffer.from(input.subarray(0, inner.length + 1)) }, length: inner.length + 1 };
    }
    // Two Esc presses in one read: the first is a key of its own.
    return { key: makeKey("escape", input.subarray(0, 1)), length: 1 };
  }
  return readEscapeSequence(input);
}

/** ESC followed by at least one byte. */
function readEscapeSequence(input: Buffer): Step {
  const second = input[1]!;
  if (second === LEFT_BRACKET) return readCsi(input);
  if (second === LETTER_O) return readSs3(input);
  // Alt-x: ESC followed by an ordinary key.
  const plain = readPlainKey(input.subarray(1));
  if (plain === null) return null;
  return { key: { ...plain.key, meta: true, sequence: Buffer.from(input.subarray(0, plain.length + 1)) }, length: plain.length + 1 };
}

/** ESC [ ... */
function readCsi(input: Buffer): Step {
  if (input.length < 3) return null;
  if (input[2] === LEFT_BRACKET) {
    // Linux console: ESC [ [ A .. ESC [ [ E are F1..F5.
    if (input.length < 4) return null;
    const final = input[3]!;
    const name = final >= 0x41 && final <= 0x45 ? `f${final - 0x40}` : "unknown";
    return { key: makeKey(name, input.subarray(0, 4)), length: 4 };
  }
  let at = 2;
  while (at < input.length && input[at]! >= 0x30 && input[at]! <= 0x3f) at++;
  while (at < input.length && input[at]! >= 0x20 && input[at]! <= 0x2f) at++;
  if (at >= input.length) {
    if (at >= MAX_SEQUENCE_LENGTH) return { key: makeKey("unknown", input.subarray(0, at)), length: at };
    return null;
  }
  const final = input[at]!;
  if (final < 0x40 || final > 0x7e) {
    // Not a CSI after all (a control byte cut it short): report what we
    // have as unknown and decode the interrupting byte on its own.
    return { key: makeKey("unknown", input.subarray(0, at)), length: at };
  }
  const params = input.toString("latin1", 2, at);
  if (final === LETTER_M && params === "") {
    // X10 mouse report: three more bytes (button, x, y) belong to it.
    if (input.length < at + 4) return null;
    return { key: makeKey("mouse", input.subarray(0, at + 4)), length: at + 4 };
  }
  const length = at + 1;
  return { key: csiKey(params, String.fromCharCode(final), input.subarray(0, length)), length };
}

/** ESC O ... (SS3): F1-F4 and arrows in application cursor mode. */
function readSs3(input: Buffer): Step {
  let at = 2;
  while (at < input.length && ((input[at]! >= 0x30 && input[at]! <= 0x39) || input[at] === 0x3b)) at++;
  if (at >= input.length) {
    if (at >= MAX_SEQUENCE_LENGTH) return { key: makeKey("unknown", input.subarray(0, at)), length: at };
    return null;
  }
  const final = input[at]!;
  const length = at + 1;
  if (final < 0x40 || final > 0x7e) return { key: makeKey("unknown", input.subarray(0, at)), length: at };
  return { key: csiKey(input.toString("latin1", 2, at), String.fromCharCode(final), input.subarray(0, length)), length };
}

const FINAL_NAMES: Record<string, string> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  E: "clear",
  F: "end",
  H: "home",
  P: "f1",
  Q: "f2",
  R: "f3",
  S: "f4",
  M: "enter", // keypad Enter in application mode (ESC O M)
};

const TILDE_NAMES: Record<string, string> = {
  "1": "home",
  "2": "insert",
  "3": "delete",
  "4": "end",
  "5": "pageup",
  "6": "pagedown",
  "7": "home",
  "8": "end",
  "11": "f1",
  "12": "f2",
  "13": "f3",
  "14": "f4",
  "15": "f5",
  "17": "f6",
  "18": "f7",
  "19": "f8",
  "20": "f9",
  "21": "f10",
  "23": "f11",
  "24": "f12",
  "200": "paste-start",
  "201": "paste-end",
};

/** A CSI/SS3 with its parameters: `1;5A` is Ctrl-Up, `15;2~` is Shift-F5 (xterm modifiers). */
function csiKey(params: string, final: string, sequence: Buffer): Key {
  const fields = params.split(";");
  let name: string | undefined;
  let modifier = 1;
  if (final === "~") {
    name = TILDE_NAMES[fields[0] ?? ""];
    modifier = Number(fields[1] ?? "1") || 1;
  } else if (final === "Z" && params === "") {
    return makeKey("tab", sequence, { shift: true });
  } else {
    name = FINAL_NAMES[final];
    modifier = Number(fields[1] ?? "1") || 1;
  }
  const bits = modifier - 1;
  return makeKey(name ?? "unknown", sequence, {
    shift: (bits & 1) !== 0,
    meta: (bits & 2) !== 0 || (bits & 8) !== 0,
    ctrl: (bits & 4) !== 0,
  });
}

/** A key that does not start with ESC: a control byte or one (UTF-8) character. */
function readPlainKey(input: Buffer): Step {
  const byte = input[0]!;
  const one = input.subarray(0, 1);
  if (byte === 0x0d) return { key: makeKey("return", one), length: 1 };
  if (byte === 0x0a) return { key: makeKey("enter", one), length: 1 };
  if (byte === 0x09) return { key: makeKey("tab", one), length: 1 };
  if (byte === 0x7f || byte === 0x08) return { key: makeKey("backspace", one), length: 1 };
  if (byte === 0x00) return { key: makeKey("space", one, { ctrl: true }), length: 1 };
  if (byte === ESC) return { key: makeKey("escape", one), length: 1 };
  if (byte < 0x20) {
    // Ctrl-A .. Ctrl-Z are 0x01 .. 0x1a; 0x1c .. 0x1f are Ctrl-\ ] ^ _.
    return { key: makeKey(String.fromCharCode(byte + 0x60), one, { ctrl: true }), length: 1 };
  }
  if (byte === 0x20) return { key: makeKey("space", one, { text: " " }), length: 1 };
  if (byte < 0x80) {
    const char = String.fromCharCode(byte);
    const lower = char.toLowerCase();
    return { key: makeKey(lower, one, { shift: lower !== char, text: char }), length: 1 };
  }
  const size = byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
  if (size === 0) return { key: makeKey("unknown", one), length: 1 };
  for (let i = 1; i < size; i++) {
    if (i >= input.length) return null; // the rest of the character is on its way
    if ((input[i]! & 0xc0) !== 0x80) return { key: makeKey("unknown", input.subarray(0, i)), length: i };
  }
  const text = input.toString("utf8", 0, size);
  return { key: makeKey(text, input.subarray(0, size), { text }), length: size };
}

/**
 * One client's input side, as a terminal user expects it: telnet commands
 * parsed out, option negotiation answered, the pending line edited
 * (Backspace, DEL, Ctrl-C, IAC EC/EL/IP), and, for a character-mode client,
 * what is typed echoed back. Everything it has to say — echo, negotiation
 * answers, the AYT answer, and the replies (through the LineSink) — goes into
 * one ReplyBatch in the order it must reach the client, so the connection
 * writes it all with one write.
 *
 * Output is bounded by construction: receive() is given a budget (what the
 * client may still be owed) and stops consuming input once the batch holds
 * that much, after finishing the step that crossed it (one reply, one echo,
 * one notice or negotiation answer: a bounded step). The rest of the chunk
 * is the caller's to feed again once the client has taken its bytes, and
 * gives exactly the output it would have given in one go.
 *
 * Pure: no sockets, no timers. The flow of one chunk:
 *
 *     chunk ─▶ TelnetParser ─data─▶ edits / echo ─▶ LineFramer ─line─▶ (echo CR LF) ─▶ sink.line()
 *                   └─commands, negotiation─▶ TelnetOptions / edits ─▶ batch
 *
 * When to echo. The server never negotiates with a client that has not
 * spoken telnet first (PRODUCT §2), so nc and scripts see only replies. A
 * client that offers or asks for any option (WILL or DO; PuTTY and Windows
 * telnet do at connect, Linux telnet on `mode character`) is offered WILL
 * ECHO and WILL SUPPRESS-GO-AHEAD once. Echo is on only while the client has
 * agreed to WILL ECHO; a line-mode client that echoes itself says DONT ECHO
 * (Linux telnet on `mode line`) and the server goes quiet again. A client
 * whose first word is a refusal (WONT/DONT) has said what it wants and is
 * not offered anything; and DO TIMING-MARK alone (Linux telnet's Ctrl-C in
 * line mode) is not taken as an invitation, because offering echo then would
 * flip that client into character mode behind its user's back.
 */
import { LineFramer, type LineSink } from "./line-framer.js";
import type { ReplyBatch } from "./reply.js";
import { escapeIAC } from "./telnet-data.js";
import { type NegotiationOutput, TelnetOptions, US } from "./telnet-options.js";
import {
  AYT,
  DO,
  EC,
  EL,
  IAC,
  IP,
  OPT_ECHO,
  OPT_SGA,
  OPT_TIMING_MARK,
  type TelnetEventSink,
  TelnetParser,
  WILL,
} from "./telnet-parser.js";

const NUL = 0x00;
const ETX = 0x03; // Ctrl-C typed in a character-mode client arrives as this byte
const BS = 0x08;
const LF = 0x0a;
const CR = 0x0d;
const DEL = 0x7f;

/** Moves the cursor back over one column and blanks it (what a tty does on erase). */
const ERASE = Buffer.from([BS, 0x20, BS]);
/** The network line end: ends an echoed line before its reply. */
const CRLF = Buffer.from([CR, LF]);
/** What an interrupted line looks like on screen, as a tty shows it. */
const INTERRUPTED = Buffer.from([0x5e, 0x43, CR, LF]); // "^C\r\n"
/** The answer to IAC AYT (RFC 854 "Are You There"): short, one line. */
export const AYT_REPLY = Buffer.from("[yes, name-echo is here]\r\n", "latin1");

/**
 * Caret notation for a control byte, as a tty with `echoctl` shows it
 * (ESC as ^[), so an arrow key typed in character mode cannot move the
 * user's cursor. Index: the control byte (0x00–0x1f).
 */
const CARET: readonly Buffer[] = Array.from({ length: 0x20 }, (_, byte) => Buffer.from([0x5e, byte + 0x40]));

/** Who answers the lines (the connection): it adds each reply or notice to the session's batch itself, so it lands in order. */
export interface SessionSink {
  /**
   * A complete line as it goes back on the wire (a 0xFF data byte doubled),
   * as `source[from, to)`; read it before returning (the bytes are not yours).
   */
  line(source: Buffer, from: number, to: number): void;
  /** The line being typed passed maxLineLength: answer with a notice, through notice(). */
  lineTooLong(): void;
}

export class TelnetSession implements TelnetEventSink, LineSink, NegotiationOutput {
  private readonly sink: SessionSink;
  private readonly out: ReplyBatch;
  /** receive() stops consuming input once the batch holds this many bytes. */
  private budget = Infinity;
  private readonly parser: TelnetParser;
  private readonly options: TelnetOptions;
  private readonly framer: LineFramer;
  /** Whether the one offer of server echo has been made or ruled out. */
  private offerDecided = false;
  /**
   * A literal 0xFF (`IAC IAC`) went into the line being framed, so the next
   * line handed over may hold one and goes out escaped. Only the first byte
   * of a data run can be one (the parser ends a run at every IAC), so this
   * costs one comparison per run, not a scan.
   */
  private lineMayHoldIAC = false;
  /** Our echo left the user's cursor after a partial line (not at the start of a line). */
  private lineOnScreen = false;
  /** A notice pushed the pending line off the user's screen: show it again before the next echo. */
  private redrawOwed = false;

  /**
   * @param sink hears every complete line and every over-long one; it adds
   *   the reply (or notice) to `out` itself, so it lands in order.
   * @param out where every byte for the client goes, in order.
   */
  constructor(sink: SessionSink, out: ReplyBatch, maxLineLength: number) {
    this.sink = sink;
    this.out = out;
    this.parser = new TelnetParser(this);
    this.options = new TelnetOptions(this);
    this.framer = new LineFramer(this, maxLineLength);
  }

  /** Whether the server echoes what the client types (the client agreed to WILL ECHO). */
  get echoing(): boolean {
    return this.options.isEnabled(US, OPT_ECHO);
  }

  /** Bytes held for the unfinished line (at most maxLineLength). */
  get pendingByteCount(): number {
    return this.framer.pendingByteCount;
  }

  /** Bytes held for an unfinished subnegotiation (at most MAX_SUBNEGOTIATION_BYTES). */
  get bufferedTelnetBytes(): number {
    return this.parser.bufferedByteCount;
  }

  /**
   * Bytes from the client. Returns how many of them were consumed: all, or
   * fewer once the batch holds `budget` bytes (see the file header); feed
   * `chunk.subarray(consumed)` again when the client has caught up.
   */
  receive(chunk: Buffer, budget = Infinity): number {
    if (this.out.length >= budget) return 0;
    // Read only inside receive(): each call sets its own.
    this.budget = budget;
    return this.parser.push(chunk);
  }

  /** The batch holds the budget: stop after the current step. */
  private get full(): boolean {
    return this.out.length >= this.budget;
  }

  /**
   * Something the server says on its own (a notice): it starts on a fresh
   * line. While echoing with a partial line on the user's screen, that line
   * is ended first, as readline does for an asynchronous message, and shown
   * again before the next echo (so a notice just before the connection
   * closes leaves the screen as it is). Every 0xFF in it is doubled.
   */
  notice(bytes: Buffer): void {
    if (this.lineOnScreen) {
      this.out.add(CRLF);
      this.lineOnScreen = false;
      this.redrawOwed = this.framer.pendingByteCount > 0;
    }
    this.out.add(escapeIAC(bytes));
  }

  /** The client half-closed: a half-sent IAC sequence is dropped, an unfinished line still answered. */
  finish(): void {
    this.parser.reset();
    this.framer.finish();
  }

  // ── TelnetEventSink ──────────────────────────────────────────────

  data(chunk: Buffer, from: number, to: number): number {
    if (chunk[from] === IAC) this.lineMayHoldIAC = true;
    // A view only for a run that is not the whole chunk (the slow path of a
    // chunk with IAC in it), so that the scans below stop at the run's end.
    const bytes = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
    if (this.echoing) return from + this.receiveEchoed(bytes);
    // Three native scans: a chunk with no edit byte goes to the framer whole.
    let nextBS = bytes.indexOf(BS);
    let nextDEL = bytes.indexOf(DEL);
    let nextETX = bytes.indexOf(ETX);
    if (nextBS === -1 && nextDEL === -1 && nextETX === -1) return from + this.framer.push(bytes);
    // Each scan is advanced only once passed, as in the framer, so a chunk
    // full of edit bytes costs one pass per kind, not one per edit.
    let start = 0;
    for (;;) {
      let at = -1;
      if (nextBS !== -1) at = nextBS;
      if (nextDEL !== -1 && (at === -1 || nextDEL < at)) at = nextDEL;
      if (nextETX !== -1 && (at === -1 || nextETX < at)) at = nextETX;
      if (at === -1) break;
      if (at > start) {
        const stop = this.framer.push(bytes.subarray(start, at));
        if (stop < at - start) return from + start + stop;
      }
      const byte = bytes[at];
      start = at + 1;
      if (byte === ETX) {
        this.interrupt();
        nextETX = bytes.indexOf(ETX, start);
      } else {
        this.erase();
        if (byte === BS) nextBS = bytes.indexOf(BS, start);
        else nextDEL = bytes.indexOf(DEL, start);
      }
    }
    // Edits without echo send nothing: no budget check needed between them.
    return from + (start < bytes.length ? start + this.framer.push(bytes.subarray(start)) : start);
  }

  command(command: number): boolean {
    switch (command) {
      case EC:
        this.erase();
        break;
      case EL:
        if (this.redrawOwed) {
          // The line is not on screen: there is nothing to erase there.
          this.redrawOwed = false;
          while (this.framer.erasePreviousCharacter() > 0);
        } else {
          while (this.framer.pendingByteCount > 0) this.erase();
        }
        break;
      case IP:
        this.interrupt();
        break;
      case AYT:
        this.areYouThere();
        break;
      default:
        // NOP, DM, BRK, AO, GA and bytes that are no command: nothing to do.
        break;
    }
    return !this.full;
  }

  negotiation(command: number, option: number): boolean {
    this.options.receive(command, option);
    if (this.offerDecided || option === OPT_TIMING_MARK) return !this.full;
    this.offerDecided = true;
    if (command === WILL || command === DO) {
      // The client speaks telnet and is willing to negotiate: offer to echo,
      // the pair (ECHO + SUPPRESS-GO-AHEAD) that means character mode to
      // every telnet client. A no-op for whatever it already asked for.
      this.options.enable(US, OPT_ECHO);
      this.options.enable(US, OPT_SGA);
    }
    return !this.full;
  }

  subnegotiation(): boolean {
    // Every option that has subnegotiation is refused: nothing to read here.
    return true;
  }

  // ── NegotiationOutput ────────────────────────────────────────────

  sendNegotiation(command: number, option: number): void {
    this.out.add(Buffer.from([IAC, command, option]));
  }

  // ── LineSink (from the framer) ───────────────────────────────────

  line(source: Buffer, from: number, to: number): boolean {
    this.endEchoedLine();
    if (this.lineMayHoldIAC) {
      this.lineMayHoldIAC = false;
      const escaped = escapeIAC(source, from, to);
      this.sink.line(escaped, 0, escaped.length);
    } else {
      this.sink.line(source, from, to);
    }
    return !this.full;
  }

  /** The sink answers with a notice, through notice(): that ends a partial line on screen. */
  lineTooLong(): boolean {
    this.lineMayHoldIAC = false;
    this.sink.lineTooLong();
    return !this.full;
  }

  // ── editing and echo ─────────────────────────────────────────────

  /**
   * Data while we echo: printable bytes (UTF-8 included) are echoed and
   * framed; line-end bytes are framed only (line() echoes CR LF once per
   * line, however it ended); other control bytes are shown in caret
   * notation. Walked byte by byte, one step per byte: this is a typing
   * human (one key per chunk) or a paste, never bulk traffic. Returns how
   * many bytes were consumed.
   */
  private receiveEchoed(bytes: Buffer): number {
    const end = bytes.length;
    for (let i = 0; i < end; i++) {
      this.redrawIfOwed();
      const byte = bytes[i]!;
      if (byte >= 0x20 && byte !== DEL) {
        this.echoAndPush(bytes.subarray(i, i + 1));
      } else if (byte === BS || byte === DEL) {
        this.erase();
      } else if (byte === ETX) {
        this.interrupt();
      } else if (byte === CR || byte === LF || byte === NUL) {
        this.framer.push(bytes.subarray(i, i + 1));
      } else {
        this.out.add(CARET[byte]!);
        this.lineOnScreen = true;
        this.framer.push(bytes.subarray(i, i + 1));
      }
      if (this.full) return i + 1;
    }
    return end;
  }

  private echoAndPush(bytes: Buffer): void {
    this.out.add(escapeIAC(bytes));
    this.lineOnScreen = true;
    this.framer.push(bytes);
  }

  /**
   * The user pressed Enter: move their cursor to a new line, so the reply
   * is not written over what they typed (shown again first if a notice hid it).
   */
  private endEchoedLine(): void {
    if (!this.echoing) return;
    this.redrawIfOwed();
    this.out.add(CRLF);
    this.lineOnScreen = false;
  }

  private redrawIfOwed(): void {
    if (!this.redrawOwed) return;
    this.redrawOwed = false;
    if (!this.echoing || this.framer.pendingByteCount === 0) return;
    this.echoRendered(this.framer.pendingLine());
    this.lineOnScreen = true;
  }

  /** Backspace, DEL, IAC EC: one whole character off the pending line (and off the screen). */
  private erase(): void {
    if (this.echoing) this.redrawIfOwed();
    const last = this.framer.lastPendingByte;
    if (this.framer.erasePreviousCharacter() === 0 || !this.echoing) return;
    this.out.add(ERASE);
    // A control byte was shown as two columns ("^[").
    if (last < 0x20) this.out.add(ERASE);
    if (this.framer.pendingByteCount === 0) this.lineOnScreen = false;
  }

  /** Ctrl-C, IAC IP: the pending line is abandoned. */
  private interrupt(): void {
    this.framer.discardPendingLine();
    this.lineMayHoldIAC = false;
    this.redrawOwed = false;
    if (this.echoing) {
      this.out.add(INTERRUPTED);
      this.lineOnScreen = false;
    }
  }

  /**
   * A notice like any other: on a line of its own. The pending line comes
   * back with the next key, not after every AYT: a flood of them costs one
   * short line each, never a redraw of a long pending line each.
   */
  private areYouThere(): void {
    this.notice(AYT_REPLY);
  }

  /** Echoes bytes already in the pending line, control bytes in caret notation. */
  private echoRendered(bytes: Buffer): void {
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte >= 0x20) continue;
      if (i > start) this.out.add(escapeIAC(bytes, start, i));
      this.out.add(CARET[byte]!);
      start = i + 1;
    }
    if (start < bytes.length) this.out.add(escapeIAC(bytes, start));
  }
}

/**
 * One client's input side, as a terminal user expects it: telnet commands
 * parsed out, option negotiation answered, the pending line edited
 * (Backspace, DEL, Ctrl-C, IAC EC/EL/IP), and, for a character-mode client,
 * what is typed echoed back. Everything it has to say — echo, negotiation
 * answers, the AYT answer, and the replies (through the LineSink) — goes into
 * one ReplyBatch in the order it must reach the client, so the connection
 * writes it all with one write.
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
import type { LineSink } from "./line-framer.js";
import { LineFramer } from "./line-framer.js";
import type { ReplyBatch } from "./reply.js";
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

export class TelnetSession implements TelnetEventSink, LineSink, NegotiationOutput {
  private readonly sink: LineSink;
  /** The sink takes lines as spans: pass them on without making a view. */
  private readonly spans: boolean;
  private readonly out: ReplyBatch;
  private readonly parser: TelnetParser;
  private readonly options: TelnetOptions;
  private readonly framer: LineFramer;
  /** Whether the one offer of server echo has been made or ruled out. */
  private offerDecided = false;

  /**
   * @param sink hears every complete line and every over-long one; it adds
   *   the reply (or notice) to `out` itself, so it lands in order.
   * @param out where every byte for the client goes, in order.
   */
  constructor(sink: LineSink, out: ReplyBatch, maxLineLength: number) {
    this.sink = sink;
    this.spans = typeof sink.lineSpan === "function";
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

  /** Bytes from the client; returns how many were taken (all of them: `budget`, the output allowed, is not enforced yet). */
  receive(chunk: Buffer, _budget = Number.MAX_SAFE_INTEGER): number {
    this.parser.push(chunk);
    return chunk.length;
  }

  /** The client half-closed: a half-sent IAC sequence is dropped, an unfinished line still answered. */
  finish(): void {
    this.parser.reset();
    this.framer.finish();
  }

  // ── TelnetEventSink ──────────────────────────────────────────────

  data(bytes: Buffer): void {
    if (this.echoing) {
      this.receiveEchoed(bytes);
      return;
    }
    // Three native scans: a chunk with no edit byte goes to the framer whole.
    let nextBS = bytes.indexOf(BS);
    let nextDEL = bytes.indexOf(DEL);
    let nextETX = bytes.indexOf(ETX);
    if (nextBS === -1 && nextDEL === -1 && nextETX === -1) {
      this.framer.push(bytes);
      return;
    }
    // Each scan is advanced only once passed, as in the framer, so a chunk
    // full of edit bytes costs one pass per kind, not one per edit.
    let start = 0;
    for (;;) {
      let at = -1;
      if (nextBS !== -1) at = nextBS;
      if (nextDEL !== -1 && (at === -1 || nextDEL < at)) at = nextDEL;
      if (nextETX !== -1 && (at === -1 || nextETX < at)) at = nextETX;
      if (at === -1) break;
      if (at > start) this.framer.push(bytes.subarray(start, at));
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
    if (start < bytes.length) this.framer.push(bytes.subarray(start));
  }

  command(command: number): void {
    switch (command) {
      case EC:
        this.erase();
        break;
      case EL:
        while (this.framer.pendingByteCount > 0) this.erase();
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
  }

  negotiation(command: number, option: number): void {
    this.options.receive(command, option);
    if (this.offerDecided || option === OPT_TIMING_MARK) return;
    this.offerDecided = true;
    if (command === WILL || command === DO) {
      // The client speaks telnet and is willing to negotiate: offer to echo,
      // the pair (ECHO + SUPPRESS-GO-AHEAD) that means character mode to
      // every telnet client. A no-op for whatever it already asked for.
      this.options.enable(US, OPT_ECHO);
      this.options.enable(US, OPT_SGA);
    }
  }

  subnegotiation(): void {
    // Every option that has subnegotiation is refused: nothing to read here.
  }

  // ── NegotiationOutput ────────────────────────────────────────────

  sendNegotiation(command: number, option: number): void {
    this.out.add(Buffer.from([IAC, command, option]));
  }

  // ── LineSink (from the framer) ───────────────────────────────────

  line(line: Buffer): void {
    // The user pressed Enter: move their cursor to a new line, so the reply
    // is not written over what they typed.
    if (this.echoing) this.out.add(CRLF);
    this.sink.line(line);
  }

  /** The same as line(), for a line that lies whole in the chunk (the hot path). */
  lineSpan(chunk: Buffer, from: number, to: number): void {
    if (this.echoing) this.out.add(CRLF);
    if (this.spans) this.sink.lineSpan!(chunk, from, to);
    else this.sink.line(chunk.subarray(from, to));
  }

  lineTooLong(): void {
    if (this.echoing) this.out.add(CRLF);
    this.sink.lineTooLong();
  }

  // ── editing and echo ─────────────────────────────────────────────

  /**
   * Data while we echo: printable runs (UTF-8 included) are echoed and
   * framed; line-end bytes are framed only (line() echoes CR LF once per
   * line, however it ended); other control bytes are shown in caret
   * notation. Walked byte by byte: this is a typing human (one key per
   * chunk) or a paste, never bulk traffic.
   */
  private receiveEchoed(bytes: Buffer): void {
    const end = bytes.length;
    let start = 0;
    for (let i = 0; i < end; i++) {
      const byte = bytes[i]!;
      if (byte >= 0x20 && byte !== DEL) continue;
      if (i > start) this.echoAndPush(bytes.subarray(start, i));
      start = i + 1;
      if (byte === BS || byte === DEL) {
        this.erase();
      } else if (byte === ETX) {
        this.interrupt();
      } else if (byte === CR || byte === LF || byte === NUL) {
        this.framer.push(bytes.subarray(i, i + 1));
      } else {
        this.out.add(CARET[byte]!);
        this.framer.push(bytes.subarray(i, i + 1));
      }
    }
    if (start < end) this.echoAndPush(bytes.subarray(start));
  }

  private echoAndPush(bytes: Buffer): void {
    this.out.add(bytes);
    this.framer.push(bytes);
  }

  /** Backspace, DEL, IAC EC: one whole character off the pending line (and off the screen). */
  private erase(): void {
    const last = this.framer.lastPendingByte;
    if (this.framer.erasePreviousCharacter() === 0 || !this.echoing) return;
    this.out.add(ERASE);
    // A control byte was shown as two columns ("^[").
    if (last < 0x20) this.out.add(ERASE);
  }

  /** Ctrl-C, IAC IP: the pending line is abandoned. */
  private interrupt(): void {
    this.framer.discardPendingLine();
    if (this.echoing) this.out.add(INTERRUPTED);
  }

  private areYouThere(): void {
    const showing = this.echoing && this.framer.pendingByteCount > 0;
    // With echo on the user's half-typed line is on screen: answer on a line
    // of its own, then show the pending line again so they can go on typing.
    if (showing) this.out.add(CRLF);
    this.out.add(AYT_REPLY);
    if (showing) this.echoRendered(this.framer.pendingLine());
  }

  /** Echoes bytes already in the pending line, control bytes in caret notation. */
  private echoRendered(bytes: Buffer): void {
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte >= 0x20) continue;
      if (i > start) this.out.add(bytes.subarray(start, i));
      this.out.add(CARET[byte]!);
      start = i + 1;
    }
    if (start < bytes.length) this.out.add(bytes.subarray(start));
  }
}

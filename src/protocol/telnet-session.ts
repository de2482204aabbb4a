/**
 * One client's input side, as a terminal user expects it: telnet commands
 * parsed out, option negotiation answered, the pending line edited, and, for
 * a character-mode client, a line editor that echoes what is typed.
 * Everything it has to say — echo, negotiation answers, the AYT answer,
 * notices, and the replies — goes into one
 * OutputBatch in the order it must reach the client, so the connection writes
 * it all with one write.
 *
 * Output is bounded by construction: receive() is given a budget (what the
 * client may still be owed) and stops consuming input once the batch holds
 * that much, after finishing the step that crossed it (one reply, one key's
 * echo and redraw, one notice or negotiation answer: a bounded step). The
 * rest of the chunk is the caller's to feed again once the client has taken
 * its bytes, and gives exactly the output it would have given in one go.
 *
 * Pure: no sockets, no timers. The flow of one chunk:
 *
 *     chunk ─▶ TelnetParser ─data─▶ edit bytes ─▶ LineFramer ─line─▶ batch   (no echo)
 *                   │          └───▶ LineEditor (keys, echo) ─line─▶ batch   (echo)
 *                   └─commands, negotiation─▶ TelnetOptions / edits ─▶ batch
 *
 * Without echo (line-mode telnet, nc, scripts) bytes pass as they came but
 * for the edit bytes: BS and DEL erase a character, Ctrl-C abandons the line,
 * and IAC EC / EL / IP do the same as commands. With echo the server is the
 * user's line editor (line-editor.ts), readline-like.
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
 *
 * Unless the server is told to offer first (`offerEcho`, `serve
 * --offer-echo`): then every client is offered echo, suppress-go-ahead and
 * NAWS the moment it connects, so Linux telnet starts in character mode,
 * where the server's editor takes UTF-8 that its own line mode mangles.
 *
 * The window's width (NAWS, window-size.ts) is taken from a client that
 * offers it, or agrees when offered: the editor then wraps its line by it.
 */
import { LineEditor, type LineEditorSink } from "./line-editor.js";
import { LineFramer, type LineSink } from "./line-framer.js";
import { answerPlainLines } from "./plain-lines.js";
import type { OutputBatch } from "./reply.js";
import { escapeIAC } from "./iac-escape.js";
import { HIM, type NegotiationOutput, TelnetOptions, US } from "./telnet-options.js";
import { AYT, DO, EC, EL, IAC, IP, OPT_ECHO, OPT_NAWS, OPT_SGA, OPT_TIMING_MARK, type TelnetEventSink, TelnetParser, WILL } from "./telnet-parser.js";
import { windowSizeFromNaws } from "./window-size.js";

const ETX = 0x03; // Ctrl-C typed in a character-mode client arrives as this byte
const LF = 0x0a;
const BS = 0x08;
const DEL = 0x7f;

/** The answer to IAC AYT (RFC 854 "Are You There"): short, one line. */
export const AYT_REPLY = Buffer.from("[yes, name-echo is here]\r\n", "latin1");

/**
 * Who is told of what is not a reply, with the session's owner handed back
 * (the session's own `owner`), so one sink object serves every session: no
 * closure per connection. The replies themselves go into the batch as the
 * lines are read (the batch counts them), with no call out per line.
 */
export interface SessionSink<Owner> {
  /** The line being typed passed maxLineLength: answer with a notice, through notice(). */
  lineTooLong(owner: Owner): void;
}

export class TelnetSession<Owner = unknown> implements TelnetEventSink, LineSink, NegotiationOutput {
  private readonly sink: SessionSink<Owner>;
  private readonly owner: Owner;
  private readonly out: OutputBatch;
  private readonly maxLineLength: number;
  /** receive() stops consuming input once the batch holds this many bytes. */
  private budget = Infinity;
  private readonly parser: TelnetParser;
  private readonly options: TelnetOptions;
  private readonly framer: LineFramer;
  /** The line editor, made when echo first starts (most clients never need one). */
  private editor: LineEditor | null = null;
  /** The editor holds the line being typed (echo is on); else the framer does. */
  private editing = false;
  /** Bound once, with the editor: the editor asks it after each key. */
  private hasRoom: () => boolean = alwaysRoom;
  /** Whether the one offer of server echo has been made or ruled out. */
  private offerDecided = false;
  /**
   * A literal 0xFF (`IAC IAC`) went into the line being framed, so the next
   * line handed over may hold one and goes out escaped. Only the first byte
   * of a data run can be one (the parser ends a run at every IAC), so this
   * costs one comparison per run, not a scan.
   */
  private lineMayHoldIAC = false;
  /** The client's window width from NAWS; 0 while it has not said (the editor then does not wrap). */
  private columns = 0;

  /**
   * @param sink hears every over-long line, with `owner`; it adds the notice
   *   through notice() (or to `out` itself), so it lands in order.
   * @param owner what the sink is handed back (the connection).
   * @param out where every byte for the client goes, in order.
   */
  constructor(sink: SessionSink<Owner>, owner: Owner, out: OutputBatch, maxLineLength: number) {
    this.sink = sink;
    this.owner = owner;
    this.out = out;
    this.maxLineLength = maxLineLength;
    this.parser = new TelnetParser(this);
    this.options = new TelnetOptions(this);
    this.framer = new LineFramer(this, maxLineLength);
  }

  /**
   * The server speaks first (`offerEcho`, see the file header): echo,
   * suppress-go-ahead and NAWS are offered now, into the batch, before the
   * client said a word. Once per session, and never after an offer made or
   * ruled out by what the client said.
   */
  offerEcho(): void {
    if (this.offerDecided) return;
    this.offerDecided = true;
    this.options.enable(US, OPT_ECHO);
    this.options.enable(US, OPT_SGA);
    this.options.enable(HIM, OPT_NAWS);
  }

  /** Whether the server echoes what the client types (the client agreed to WILL ECHO). */
  get echoing(): boolean {
    return this.options.isEnabled(US, OPT_ECHO);
  }

  /** Bytes held for the unfinished line (at most maxLineLength). */
  get pendingByteCount(): number {
    return this.editing ? this.editor!.byteCount : this.framer.pendingByteCount;
  }

  /** The unfinished line as typed so far (a copy): what the status page shows a character-mode user typing. */
  pendingLine(): Buffer {
    return this.editing ? this.editor!.line() : this.framer.pendingLine();
  }

  /** The client's window width from NAWS, in columns; 0 while it has not said. */
  get windowColumns(): number {
    return this.columns;
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
    if (this.editing || this.lineMayHoldIAC || !this.parser.isBetweenCommands) return this.parser.push(chunk);
    const framer = this.framer;
    let from = 0;
    let stop: number;
    const held = framer.heldLine();
    if (held !== null) {
      // A line cut by the byte stream: the fast path finishes it from the framer's copy.
      stop = answerPlainLines(chunk, 0, this.out, this.maxLineLength, budget, held, framer.pendingByteCount);
      // Past the start (either way the stop is said): the held line was answered.
      if (stop > 0 || stop < -1) framer.discardPendingLine();
    } else {
      if (!framer.isAtLineStart) {
        // A CR waiting for its LF, or an over-long line being discarded: up
        // to the first LF through the full path, the plain lines after it need not.
        const lf = chunk.indexOf(LF);
        if (lf === -1) return this.parser.push(chunk);
        from = this.parser.push(chunk.subarray(0, lf + 1));
        if (from <= lf || this.full) return from;
        // What that took may have switched echo on: the editor's then, not the fast path's.
        if (this.editing || this.lineMayHoldIAC || !this.parser.isBetweenCommands || !framer.isAtLineStart) return this.parser.push(chunk, from);
      }
      // Nothing held that the next byte could change the meaning of: the
      // plain lines need none of the machinery below.
      stop = answerPlainLines(chunk, from, this.out, this.maxLineLength, budget);
    }
    if (stop < 0) {
      // The rest is the start of a plain line: the framer keeps it, as the full path would have it do.
      return framer.push(chunk, ~stop);
    }
    if (stop === chunk.length || this.full) return stop;
    return this.parser.push(chunk, stop);
  }

  /** Replies added so far: the lines answered. */
  get lineCount(): number {
    return this.out.replyCount;
  }

  /**
   * Something the server says on its own (a notice): it starts on a fresh
   * line. While echoing with a partial line on the user's screen, that line
   * is ended first, as readline does for an asynchronous message, and shown
   * again with the next key (so a notice just before the connection closes
   * leaves the screen as it is). Every 0xFF in it is doubled.
   */
  notice(bytes: Buffer): void {
    if (this.editing) this.editor!.hide();
    this.out.add(escapeIAC(bytes));
  }

  /**
   * The client half-closed: a half-sent IAC sequence is dropped, an
   * unfinished line still answered (one bounded step: no budget needed).
   */
  finish(): void {
    this.parser.reset();
    if (this.editing) this.editor!.finish();
    else this.framer.finish();
  }

  /** The batch holds the budget: stop after the current step. */
  private get full(): boolean {
    return this.out.length >= this.budget;
  }

  // ── TelnetEventSink ──────────────────────────────────────────────

  data(chunk: Buffer, from: number, to: number): number {
    if (this.editing) return this.editor!.receive(chunk, from, to, this.hasRoom);
    if (chunk[from] === IAC) this.lineMayHoldIAC = true;
    // A view only for a run that is not the whole chunk (the slow path of a
    // chunk with IAC in it), so that the scans below stop at the run's end.
    const bytes = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
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
        this.framer.erasePreviousCharacter();
        if (byte === BS) nextBS = bytes.indexOf(BS, start);
        else nextDEL = bytes.indexOf(DEL, start);
      }
    }
    // Edits without echo send nothing: no budget check needed between them.
    return from + (start < bytes.length ? start + this.framer.push(bytes.subarray(start)) : start);
  }

  command(command: number): boolean {
    const editor = this.editing ? this.editor! : null;
    switch (command) {
      case EC:
        if (editor !== null) editor.erase();
        else this.framer.erasePreviousCharacter();
        break;
      case EL:
        if (editor !== null) editor.eraseLine();
        else while (this.framer.erasePreviousCharacter() > 0);
        break;
      case IP:
        if (editor !== null) editor.interrupt();
        else this.interrupt();
        break;
      case AYT:
        // A notice like any other: on a line of its own. The pending line
        // comes back with the next key, not after every AYT: a flood of them
        // costs one short line each, never a redraw of a long line each.
        this.notice(AYT_REPLY);
        break;
      default:
        // NOP, DM, BRK, AO, GA and bytes that are no command: nothing to do.
        break;
    }
    return !this.full;
  }

  negotiation(command: number, option: number): boolean {
    this.options.receive(command, option);
    if (!this.offerDecided && option !== OPT_TIMING_MARK) {
      this.offerDecided = true;
      if (command === WILL || command === DO) {
        // The client speaks telnet and is willing to negotiate: offer to echo,
        // the pair (ECHO + SUPPRESS-GO-AHEAD) that means character mode to
        // every telnet client. A no-op for whatever it already asked for.
        this.options.enable(US, OPT_ECHO);
        this.options.enable(US, OPT_SGA);
      }
    }
    if (option === OPT_NAWS && this.columns !== 0 && !this.options.isEnabled(HIM, OPT_NAWS)) {
      // WONT NAWS after a size: the width is not known any more.
      this.setColumns(0);
    }
    if (this.echoing !== this.editing) this.switchEditing();
    return !this.full;
  }

  subnegotiation(option: number, payload: Buffer, truncated: boolean): boolean {
    // NAWS is the only option with subnegotiation we agree to; any other is
    // from a client that ignored our refusal, and is dropped.
    if (option === OPT_NAWS && this.options.isEnabled(HIM, OPT_NAWS)) {
      const size = windowSizeFromNaws(payload, truncated);
      if (size !== null) this.setColumns(size.columns);
    }
    return true;
  }

  /** The client's window is this wide (0: not known); the editor redraws by it from now on. Sends nothing. */
  private setColumns(columns: number): void {
    this.columns = columns;
    this.editor?.setWidth(columns);
  }

  // ── NegotiationOutput ────────────────────────────────────────────

  sendNegotiation(command: number, option: number): void {
    this.out.add(Buffer.from([IAC, command, option]));
  }

  // ── LineSink (from the framer) ───────────────────────────────────

  line(source: Buffer, from: number, to: number): boolean {
    if (this.lineMayHoldIAC) {
      this.lineMayHoldIAC = false;
      const escaped = escapeIAC(source, from, to);
      this.out.addReplySpan(escaped, 0, escaped.length);
    } else {
      this.out.addReplySpan(source, from, to);
    }
    return !this.full;
  }

  lineTooLong(): boolean {
    this.lineMayHoldIAC = false;
    this.sink.lineTooLong(this.owner);
    return !this.full;
  }

  // ── the line's keeper ────────────────────────────────────────────

  /** Ctrl-C, IAC IP without echo: the pending line is abandoned. */
  private interrupt(): void {
    this.framer.discardPendingLine();
    this.lineMayHoldIAC = false;
  }

  /** The line editor and its callbacks, made when echo first starts: closures most connections never need. */
  private makeEditor(): LineEditor {
    this.hasRoom = () => !this.full;
    const editorSink: LineEditorSink = {
      line: (source, from, to) => {
        const escaped = escapeIAC(source, from, to);
        this.out.addReplySpan(escaped, 0, escaped.length);
      },
      lineTooLong: () => {
        // The notice must not stick to the line on screen, however the sink writes it.
        this.editor!.hide();
        this.sink.lineTooLong(this.owner);
      },
    };
    return new LineEditor(this.out, editorSink, this.maxLineLength);
  }

  /**
   * Echo started or stopped: the line typed so far moves between the framer
   * and the editor, and with it a CR that just ended a line (line-end.ts),
   * so a CR LF cut by the switch is still one line end.
   */
  private switchEditing(): void {
    this.editing = !this.editing;
    if (this.editing) {
      const editor = (this.editor ??= this.makeEditor());
      editor.setWidth(this.columns);
      editor.load(this.framer.pendingLine(), this.framer.isAfterCR);
      this.framer.reset();
      this.lineMayHoldIAC = false;
    } else {
      const editor = this.editor!;
      const line = editor.line();
      const afterCR = editor.isAfterCR;
      editor.clear();
      this.framer.push(line);
      // Only with nothing typed since the CR: any key clears it.
      if (afterCR) this.framer.continueAfterCR();
      this.lineMayHoldIAC = line.includes(IAC);
    }
  }
}

function alwaysRoom(): boolean {
  return true;
}

/**
 * One direction of a connection's bytes as readable trace lines, for
 * `serve --trace`: what telnet really sends.
 *
 *     < IAC DO ECHO
 *     > IAC WILL ECHO
 *     < "Hello\r\n"
 *     > "Hello Ali\r\n"
 *
 * Telnet commands are named (RFC 854 commands, the options' RFC names);
 * data is shown quoted and escaped by the project's one escaper
 * (escapeTraceBytes), so no byte a client sends can reach the operator's
 * terminal raw: printable ASCII stays, \r \n \t \0 \\ \" are written so,
 * everything else as \xHH (0xFF data bytes, sent as IAC IAC on the wire,
 * included).
 *
 * Pure and incremental: no sockets, no timers. Parsing is the server's own
 * TelnetParser, so an IAC sequence split across chunks is named once it is
 * complete, exactly as the server understood it. Data is one line per
 * received line (split after each LF) and per chunk (the chunk boundaries
 * are part of what is on the wire: a character-mode client's keystrokes
 * show one by one). Every trace line is bounded: data past maxDataBytes in
 * one line is counted, not shown, and subnegotiation payloads show at most
 * MAX_SHOWN_PAYLOAD bytes.
 */
import { escapeTraceBytes } from "../escape.js";
import { type TelnetEventSink, TelnetParser } from "./telnet-parser.js";

/** Data bytes shown per trace line by default; the rest of that line is counted. */
export const DEFAULT_MAX_DATA_BYTES = 120;
/** Subnegotiation payload bytes shown; the rest is counted. */
export const MAX_SHOWN_PAYLOAD = 32;

const LF = 0x0a;

const COMMAND_NAMES: Readonly<Record<number, string>> = {
  240: "SE",
  241: "NOP",
  242: "DM",
  243: "BRK",
  244: "IP",
  245: "AO",
  246: "AYT",
  247: "EC",
  248: "EL",
  249: "GA",
  250: "SB",
  251: "WILL",
  252: "WONT",
  253: "DO",
  254: "DONT",
  255: "IAC",
};

/** Option names as the RFCs and the IANA registry spell them. */
const OPTION_NAMES: Readonly<Record<number, string>> = {
  0: "BINARY",
  1: "ECHO",
  2: "RECONNECTION",
  3: "SUPPRESS-GO-AHEAD",
  4: "APPROX-MESSAGE-SIZE",
  5: "STATUS",
  6: "TIMING-MARK",
  7: "RCTE",
  8: "OUTPUT-LINE-WIDTH",
  9: "OUTPUT-PAGE-SIZE",
  10: "NAOCRD",
  11: "NAOHTS",
  12: "NAOHTD",
  13: "NAOFFD",
  14: "NAOVTS",
  15: "NAOVTD",
  16: "NAOLFD",
  17: "EXTEND-ASCII",
  18: "LOGOUT",
  19: "BM",
  20: "DET",
  21: "SUPDUP",
  22: "SUPDUP-OUTPUT",
  23: "SEND-LOCATION",
  24: "TERMINAL-TYPE",
  25: "END-OF-RECORD",
  26: "TUID",
  27: "OUTMRK",
  28: "TTYLOC",
  29: "3270-REGIME",
  30: "X.3-PAD",
  31: "NAWS",
  32: "TERMINAL-SPEED",
  33: "TOGGLE-FLOW-CONTROL",
  34: "LINEMODE",
  35: "X-DISPLAY-LOCATION",
  36: "ENVIRON",
  37: "AUTHENTICATION",
  38: "ENCRYPT",
  39: "NEW-ENVIRON",
  40: "TN3270E",
  42: "CHARSET",
  44: "COM-PORT-OPTION",
  46: "START-TLS",
  47: "KERMIT",
  255: "EXOPL",
};

export function commandName(code: number): string {
  return COMMAND_NAMES[code] ?? String(code);
}

export function optionName(code: number): string {
  return OPTION_NAMES[code] ?? String(code);
}

export type TraceDirection = "<" | ">";

export interface WireTraceOptions {
  /** Data bytes shown per trace line (default DEFAULT_MAX_DATA_BYTES). */
  maxDataBytes?: number;
}

/**
 * The trace of one direction: push() each chunk as it was read or written,
 * get back its trace lines (without a line end). `<` is what the client
 * sent, `>` what the server sent.
 */
export class WireTrace implements TelnetEventSink {
  private readonly direction: TraceDirection;
  private readonly maxDataBytes: number;
  private readonly parser = new TelnetParser(this);
  /** Lines made by the chunk being pushed. */
  private out: string[] = [];
  /** The data line being built: shown text, bytes shown, bytes only counted. */
  private dataText = "";
  private dataShown = 0;
  private dataHidden = 0;

  constructor(direction: TraceDirection, options: WireTraceOptions = {}) {
    this.direction = direction;
    this.maxDataBytes = Math.max(1, options.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES);
  }

  push(chunk: Buffer): string[] {
    this.parser.push(chunk);
    // A chunk boundary ends a data line: it is what was on the wire.
    this.endDataLine();
    const lines = this.out;
    this.out = [];
    return lines;
  }

  // ── TelnetEventSink ──────────────────────────────────────────────

  // The trace never stops the parser: every event takes all it is given.

  data(chunk: Buffer, start: number, end: number): number {
    let from = start;
    while (from < end) {
      const lf = chunk.indexOf(LF, from);
      const to = lf === -1 || lf >= end ? end : lf + 1;
      this.addData(chunk, from, to);
      if (to - 1 === lf) this.endDataLine();
      from = to;
    }
    return end;
  }

  command(command: number): boolean {
    this.emit(`IAC ${commandName(command)}`);
    return true;
  }

  negotiation(command: number, option: number): boolean {
    this.emit(`IAC ${commandName(command)} ${optionName(option)}`);
    return true;
  }

  subnegotiation(option: number, payload: Buffer, truncated: boolean): boolean {
    const shown = Math.min(payload.length, MAX_SHOWN_PAYLOAD);
    let bytes = "";
    for (let i = 0; i < shown; i++) bytes += ` ${payload[i]}`;
    const more = payload.length - shown;
    const rest = more > 0 || truncated ? ` …(${truncated ? "more than " : ""}${payload.length} bytes)` : "";
    this.emit(`IAC SB ${optionName(option)}${bytes}${rest} IAC SE`);
    return true;
  }

  private addData(bytes: Buffer, from: number, to: number): void {
    const room = this.maxDataBytes - this.dataShown;
    const show = Math.min(room, to - from);
    if (show > 0) {
      this.dataText += escapeTraceBytes(bytes, from, from + show);
      this.dataShown += show;
    }
    this.dataHidden += to - from - Math.max(0, show);
  }

  private endDataLine(): void {
    if (this.dataShown === 0 && this.dataHidden === 0) return;
    const more = this.dataHidden > 0 ? ` …(+${this.dataHidden} bytes)` : "";
    this.out.push(`${this.direction} "${this.dataText}"${more}`);
    this.dataText = "";
    this.dataShown = 0;
    this.dataHidden = 0;
  }

  private emit(text: string): void {
    this.endDataLine();
    this.out.push(`${this.direction} ${text}`);
  }
}

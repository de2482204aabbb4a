/**
 * Bytes in, telnet events out (RFC 854/855): data runs, commands, option
 * negotiation and subnegotiation, in the order they were sent.
 *
 * Pure and incremental: no sockets, no timers, no strings. The state is a
 * byte-level machine (data, IAC, negotiate, SB option, SB, SB-IAC) that
 * survives chunk boundaries, so an IAC at the end of one chunk and its
 * command at the start of the next are still one command.
 *
 * Data runs are handed over as spans of the chunk, never copied. A chunk
 * with no 0xFF in it (every chunk from nc, a script or a line-mode telnet
 * that never negotiates) costs one native indexOf and goes out untouched.
 * A run is ended at every IAC, so a literal 0xFF (`IAC IAC`) can only be the
 * first byte of a run.
 *
 * The sink can stop the parser after any event (its output is full): push()
 * then returns where it stopped, always between two events, and the caller
 * feeds the rest again later with push(chunk, from).
 *
 * Subnegotiation payloads are kept up to MAX_SUBNEGOTIATION_BYTES; the rest
 * is dropped and the event says so, so an endless `IAC SB` costs a bounded
 * amount of memory (and nothing else: its bytes are not data).
 */

// Telnet command bytes (RFC 854), each following an IAC.
export const IAC = 0xff;
export const DONT = 0xfe;
export const DO = 0xfd;
export const WONT = 0xfc;
export const WILL = 0xfb;
export const SB = 0xfa;
export const GA = 0xf9;
export const EL = 0xf8;
export const EC = 0xf7;
export const AYT = 0xf6;
export const AO = 0xf5;
export const IP = 0xf4;
export const BRK = 0xf3;
export const DM = 0xf2;
export const NOP = 0xf1;
export const SE = 0xf0;

// Option codes this server has an opinion on (all others are refused).
export const OPT_ECHO = 1; // RFC 857
export const OPT_SGA = 3; // RFC 858, suppress go-ahead
export const OPT_TIMING_MARK = 6; // RFC 860
export const OPT_NAWS = 31; // RFC 1073, the client's window size: the editor wraps its line by it
export const OPT_LINEMODE = 34; // RFC 1184, refused: we edit lines ourselves

/**
 * Subnegotiation payload bytes kept per `IAC SB … IAC SE`. The only option
 * with subnegotiation we accept is NAWS (4 bytes, 8 with every byte a doubled
 * 0xFF); the cap only bounds what a broken or hostile client can make us hold.
 */
export const MAX_SUBNEGOTIATION_BYTES = 256;

/** Each event but data returns whether the parser may go on (false: push() stops right after it). */
export interface TelnetEventSink {
  /**
   * A run of data bytes, `chunk[from, to)`, valid only during the call.
   * Returns where the sink stopped: `to` when it took the whole run, else a
   * point after at least one byte of it (push() stops there).
   */
  data(chunk: Buffer, from: number, to: number): number;
  /** `IAC <command>` for a one-byte command (NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, or an unknown byte). */
  command(command: number): boolean;
  /** `IAC WILL|WONT|DO|DONT <option>`. */
  negotiation(command: number, option: number): boolean;
  /**
   * `IAC SB <option> … IAC SE`, with `IAC IAC` in the payload undone. The
   * payload is a view valid only during the call; truncated says bytes past
   * MAX_SUBNEGOTIATION_BYTES were dropped.
   */
  subnegotiation(option: number, payload: Buffer, truncated: boolean): boolean;
}

// Parser states. Numeric so the hot switch compares small integers.
const S_DATA = 0;
/** Saw IAC: the next byte is a command. */
const S_IAC = 1;
/** Saw IAC WILL/WONT/DO/DONT: the next byte is the option. */
const S_NEGOTIATE = 2;
/** Saw IAC SB: the next byte is the option. */
const S_SB_OPTION = 3;
/** Inside a subnegotiation payload. */
const S_SB = 4;
/** Saw IAC inside a subnegotiation: SE ends it, IAC is a literal 0xFF. */
const S_SB_IAC = 5;

const EMPTY = Buffer.alloc(0);

export class TelnetParser {
  private readonly sink: TelnetEventSink;
  private state = S_DATA;
  /** The WILL/WONT/DO/DONT waiting for its option byte. */
  private negotiating = 0;
  private sbOption = 0;
  /** Allocated on the first payload byte and dropped at SE: most connections never need it. */
  private sbBuffer: Buffer | null = null;
  private sbLength = 0;
  private sbTruncated = false;

  constructor(sink: TelnetEventSink) {
    this.sink = sink;
  }

  /** No command half read: the next byte starts data or a new IAC sequence. */
  get isBetweenCommands(): boolean {
    return this.state === S_DATA;
  }

  /** Subnegotiation payload bytes held right now (at most MAX_SUBNEGOTIATION_BYTES). */
  get bufferedByteCount(): number {
    return this.sbLength;
  }

  /**
   * Parses `chunk` from `from` on. Returns where it stopped: the chunk's
   * length, or the point after the event at which the sink said stop.
   */
  push(chunk: Buffer, from = 0): number {
    const end = chunk.length;
    if (from >= end) return end;
    // The fast path: no IAC anywhere, so the whole chunk is data as it is.
    if (this.state === S_DATA && chunk.indexOf(IAC, from) === -1) return this.sink.data(chunk, from, end);
    let i = from;
    /** Where the data run being scanned began (before i after an `IAC IAC`). */
    let runFrom = from;
    while (i < end) {
      switch (this.state) {
        case S_DATA: {
          const at = chunk.indexOf(IAC, i);
          const runEnd = at === -1 ? end : at;
          if (runEnd > runFrom) {
            const stop = this.sink.data(chunk, runFrom, runEnd);
            if (stop < runEnd) return stop;
          }
          if (at === -1) return end;
          this.state = S_IAC;
          i = at + 1;
          break;
        }
        case S_IAC: {
          const byte = chunk[i++]!;
          if (byte === IAC) {
            // A literal 0xFF: it starts the next data run, so it costs no copy.
            this.state = S_DATA;
            runFrom = i - 1;
          } else if (byte >= WILL && byte <= DONT) {
            this.negotiating = byte;
            this.state = S_NEGOTIATE;
          } else if (byte === SB) {
            this.state = S_SB_OPTION;
          } else {
            this.state = S_DATA;
            runFrom = i;
            if (!this.sink.command(byte)) return i;
          }
          break;
        }
        case S_NEGOTIATE: {
          const option = chunk[i++]!;
          this.state = S_DATA;
          runFrom = i;
          if (!this.sink.negotiation(this.negotiating, option)) return i;
          break;
        }
        case S_SB_OPTION: {
          this.sbOption = chunk[i++]!;
          this.sbLength = 0;
          this.sbTruncated = false;
          this.state = S_SB;
          break;
        }
        case S_SB: {
          const at = chunk.indexOf(IAC, i);
          const stop = at === -1 ? end : at;
          this.appendSubnegotiation(chunk, i, stop);
          if (at === -1) return end;
          this.state = S_SB_IAC;
          i = at + 1;
          break;
        }
        case S_SB_IAC: {
          const byte = chunk[i];
          if (byte === IAC) {
            this.appendSubnegotiation(chunk, i, i + 1);
            this.state = S_SB;
            i++;
          } else {
            // IAC SE ends it. Any other command is a client that forgot its
            // IAC SE: end the subnegotiation there and read `IAC <byte>` as
            // the command it is, rather than swallowing the rest of the session.
            if (byte === SE) {
              this.state = S_DATA;
              i++;
              runFrom = i;
            } else {
              this.state = S_IAC;
            }
            // A stop waits for the command that follows a missing SE: that
            // byte is not taken yet, and a stop must be progress.
            if (!this.endSubnegotiation() && byte === SE) return i;
          }
          break;
        }
      }
    }
    // The chunk ended inside the data state without a scan: only a literal
    // 0xFF (`IAC IAC`) as the last byte leaves a run to hand over here.
    if (this.state === S_DATA && runFrom < end) return this.sink.data(chunk, runFrom, end);
    return end;
  }

  /** Drops a half-received IAC sequence (the input ended). */
  reset(): void {
    this.state = S_DATA;
    this.sbBuffer = null;
    this.sbLength = 0;
    this.sbTruncated = false;
  }

  private appendSubnegotiation(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    const room = MAX_SUBNEGOTIATION_BYTES - this.sbLength;
    const take = Math.min(room, to - from);
    if (take < to - from) this.sbTruncated = true;
    if (take <= 0) return;
    this.sbBuffer ??= Buffer.allocUnsafe(MAX_SUBNEGOTIATION_BYTES);
    chunk.copy(this.sbBuffer, this.sbLength, from, from + take);
    this.sbLength += take;
  }

  private endSubnegotiation(): boolean {
    const payload = this.sbBuffer === null ? EMPTY : this.sbBuffer.subarray(0, this.sbLength);
    const truncated = this.sbTruncated;
    this.sbBuffer = null;
    this.sbLength = 0;
    this.sbTruncated = false;
    return this.sink.subnegotiation(this.sbOption, payload, truncated);
  }
}

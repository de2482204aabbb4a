/**
 * Bytes in, lines out: the line framing of the name-echo protocol.
 *
 * Pure and incremental: no sockets, no timers, no strings. Feed it chunks as
 * they arrive with push(); every complete line goes to the sink, in order.
 *
 * A line ends at LF, CR LF, CR NUL or a lone CR. A line is handed over as soon
 * as its CR is seen (no waiting for the next byte); whether a following LF or
 * NUL belongs to that CR is remembered as state ("afterCR"), so a CR at the
 * end of one chunk and an LF at the start of the next make one line end, not
 * two. That is parser state, never a clock (Node's readline uses a timer).
 *
 * Lines longer than maxLineLength are refused: the sink hears lineTooLong()
 * once, as soon as the limit is passed (even before the line ends), and the
 * rest of that line is discarded up to its line end. The following lines
 * carry on. The framer therefore never holds more than maxLineLength bytes.
 */

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;

/** The smallest buffer allocated for a partial line; it grows by doubling. */
const MIN_PENDING_CAPACITY = 64;

export interface LineSink {
  /**
   * A complete line, without its line end. The buffer may be a view into the
   * chunk given to push(); the framer never writes to it afterwards.
   */
  line(line: Buffer): void;
  /** The current line passed maxLineLength; the rest of it is being discarded. */
  lineTooLong(): void;
}

export class LineFramer {
  readonly maxLineLength: number;
  private readonly sink: LineSink;
  /** The start of a line that has not ended yet (copied: a chunk is never kept alive). */
  private pending: Buffer | null = null;
  private pendingLength = 0;
  /** The last byte seen was a CR that ended a line: a following LF or NUL belongs to it. */
  private afterCR = false;
  /** Dropping the rest of an over-long line until its line end. */
  private discarding = false;

  constructor(sink: LineSink, maxLineLength: number) {
    if (!Number.isInteger(maxLineLength) || maxLineLength < 1) {
      throw new RangeError(`maxLineLength must be a whole number of bytes >= 1, not ${maxLineLength}`);
    }
    this.sink = sink;
    this.maxLineLength = maxLineLength;
  }

  /** Bytes of the unfinished line held right now (at most maxLineLength). */
  get pendingByteCount(): number {
    return this.pendingLength;
  }

  /** The unfinished line as typed so far (a copy), e.g. to redraw it. */
  pendingLine(): Buffer {
    return this.pending === null ? Buffer.alloc(0) : Buffer.from(this.pending.subarray(0, this.pendingLength));
  }

  /** True while the rest of an over-long line is being discarded. */
  get isDiscarding(): boolean {
    return this.discarding;
  }

  push(chunk: Buffer): void {
    const end = chunk.length;
    if (end === 0) return;
    let start = 0;
    if (this.afterCR) {
      this.afterCR = false;
      const first = chunk[0];
      if (first === LF || first === NUL) start = 1;
    }
    // Two native scans, each advanced only when passed: a chunk of LF-only
    // lines costs one failed CR search, not a loop over every byte in JS.
    let nextLF = chunk.indexOf(LF, start);
    let nextCR = chunk.indexOf(CR, start);
    while (start < end) {
      let lineEnd: number;
      if (nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)) {
        lineEnd = nextCR;
        this.completeLine(chunk, start, lineEnd);
        if (lineEnd + 1 === end) {
          this.afterCR = true;
          return;
        }
        const after = chunk[lineEnd + 1];
        start = after === LF || after === NUL ? lineEnd + 2 : lineEnd + 1;
        nextCR = chunk.indexOf(CR, start);
        if (nextLF !== -1 && nextLF < start) nextLF = chunk.indexOf(LF, start);
      } else if (nextLF !== -1) {
        lineEnd = nextLF;
        this.completeLine(chunk, start, lineEnd);
        start = lineEnd + 1;
        nextLF = chunk.indexOf(LF, start);
      } else {
        break;
      }
    }
    if (start < end) this.appendPending(chunk, start, end);
  }

  /**
   * The input has ended (the client half-closed): an unfinished line is still
   * a line and is handed over. The framer is then empty and can be reused.
   */
  finish(): void {
    const hadLine = !this.discarding && this.pendingLength > 0;
    const line = hadLine ? this.pending!.subarray(0, this.pendingLength) : null;
    this.reset();
    if (line !== null) this.sink.line(line);
  }

  /** The last byte of the unfinished line, or -1 if there is none (to know how it was echoed). */
  get lastPendingByte(): number {
    return this.pendingLength === 0 || this.pending === null ? -1 : this.pending[this.pendingLength - 1]!;
  }

  /**
   * Forgets the unfinished line (telnet IP / EL, Ctrl-C). Returns whether there was one.
   * The user abandoned the line, so an over-long one stops being discarded too:
   * what they type next is a fresh line.
   */
  discardPendingLine(): boolean {
    const had = this.pendingLength > 0;
    this.pending = null;
    this.pendingLength = 0;
    this.discarding = false;
    // The edit byte that asked for this sits between a CR and what follows
    // it, so a later LF or NUL is no longer part of that CR's line end.
    this.afterCR = false;
    return had;
  }

  /**
   * Erases the last character of the unfinished line (Backspace, DEL, telnet
   * EC): a whole UTF-8 character, so a multi-byte character never leaves half
   * of itself behind. Returns the number of bytes removed (0 if none).
   */
  erasePreviousCharacter(): number {
    // As in discardPendingLine(): the erase byte separates a CR from a later LF.
    this.afterCR = false;
    if (this.pendingLength === 0 || this.pending === null) return 0;
    const bytes = this.pending;
    let at = this.pendingLength - 1;
    // Step back over continuation bytes (10xxxxxx), at most 3 of them, to
    // the lead byte of the character; a stray continuation byte counts alone.
    let steps = 0;
    while (at > 0 && steps < 3 && (bytes[at]! & 0xc0) === 0x80) {
      at--;
      steps++;
    }
    if (steps > 0 && !isLeadOf(bytes[at]!, steps + 1)) {
      at = this.pendingLength - 1;
    }
    const removed = this.pendingLength - at;
    this.pendingLength = at;
    return removed;
  }

  /** Drops all state: the unfinished line, a pending CR, discarding. */
  reset(): void {
    this.pending = null;
    this.pendingLength = 0;
    this.afterCR = false;
    this.discarding = false;
  }

  private completeLine(chunk: Buffer, from: number, to: number): void {
    if (this.discarding) {
      // The line end of an over-long line: the client was told already.
      this.discarding = false;
      return;
    }
    const length = this.pendingLength + (to - from);
    if (length > this.maxLineLength) {
      this.pending = null;
      this.pendingLength = 0;
      this.sink.lineTooLong();
      return;
    }
    if (this.pendingLength === 0) {
      this.sink.line(chunk.subarray(from, to));
      return;
    }
    this.copyIntoPending(chunk, from, to);
    const line = this.pending!.subarray(0, length);
    // Hand the buffer over instead of reusing it, so the line stays intact
    // for as long as the sink keeps it.
    this.pending = null;
    this.pendingLength = 0;
    this.sink.line(line);
  }

  private appendPending(chunk: Buffer, from: number, to: number): void {
    if (this.discarding) return;
    if (this.pendingLength + (to - from) > this.maxLineLength) {
      this.pending = null;
      this.pendingLength = 0;
      this.discarding = true;
      this.sink.lineTooLong();
      return;
    }
    this.copyIntoPending(chunk, from, to);
  }

  private copyIntoPending(chunk: Buffer, from: number, to: number): void {
    const needed = this.pendingLength + (to - from);
    if (this.pending === null || this.pending.length < needed) {
      let capacity = Math.max(MIN_PENDING_CAPACITY, this.pending?.length ?? 0);
      while (capacity < needed) capacity *= 2;
      const grown = Buffer.allocUnsafe(Math.min(capacity, Math.max(needed, this.maxLineLength)));
      if (this.pending !== null) this.pending.copy(grown, 0, 0, this.pendingLength);
      this.pending = grown;
    }
    chunk.copy(this.pending, this.pendingLength, from, to);
    this.pendingLength = needed;
  }
}

/** Whether `byte` starts a UTF-8 sequence of exactly `length` bytes. */
function isLeadOf(byte: number, length: number): boolean {
  switch (length) {
    case 2:
      return (byte & 0xe0) === 0xc0;
    case 3:
      return (byte & 0xf0) === 0xe0;
    case 4:
      return (byte & 0xf8) === 0xf0;
    default:
      return false;
  }
}

/**
 * Bytes in, lines out: the line framing of the name-echo protocol.
 *
 * Pure and incremental: no sockets, no timers, no strings. Feed it chunks as
 * they arrive with push(); every complete line goes to the sink, in order.
 *
 * A line ends at LF, CR LF, CR NUL or a lone CR (line-end.ts, the rule the
 * line editor follows too). A line is handed over as soon as its CR is seen
 * (no waiting for the next byte); whether a following LF or NUL belongs to
 * that CR is remembered as state ("afterCR"), so a CR at the end of one
 * chunk and an LF at the start of the next make one line end, not two.
 *
 * Lines longer than maxLineLength are refused: the sink hears lineTooLong()
 * once, as soon as the limit is passed (even before the line ends), and the
 * rest of that line is discarded up to its line end. The following lines
 * carry on. The framer therefore never holds more than maxLineLength bytes.
 *
 * The sink can stop the framer after any line (its output is full): push()
 * returns where it stopped, right after that line's end, and the caller
 * feeds the rest later with push(chunk, from). A chunk that holds no line
 * end is taken whole, whatever the sink says.
 */
import { completesCR, CR, LF } from "./line-end.js";

/** The smallest buffer allocated for a partial line; it grows by doubling. */
const MIN_PENDING_CAPACITY = 64;
/**
 * push(): a line up to this long is checked for a CR by a JS loop rather
 * than a native indexOf (measured: below ~64 bytes the loop is cheaper than
 * the call into C++).
 */
const SHORT_LINE = 64;

/** Each method returns whether the framer may go on: false makes push() stop right after this line. */
export interface LineSink {
  /**
   * A complete line, without its line end, as `source[from, to)`: a span of
   * the chunk given to push() (the hot path makes no view per line) or of
   * the framer's copy of a line that spanned chunks. Read the bytes before
   * returning; the framer never writes to them afterwards.
   */
  line(source: Buffer, from: number, to: number): boolean;
  /** The current line passed maxLineLength; the rest of it is being discarded. */
  lineTooLong(): boolean;
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

  /** Nothing held: no unfinished line, no CR waiting for its LF, not discarding. The next byte starts a line. */
  get isAtLineStart(): boolean {
    return this.pendingLength === 0 && !this.afterCR && !this.discarding;
  }

  /**
   * The unfinished line's bytes, `heldLine()[0, pendingByteCount)`, when it
   * is all that is held (no CR waiting for its LF, not discarding); else
   * null. Not a copy: read it before the next push().
   */
  heldLine(): Buffer | null {
    return this.pendingLength > 0 && !this.afterCR && !this.discarding ? this.pending : null;
  }

  /**
   * The last byte was a CR that ended a line, so a next LF or NUL is the
   * rest of that line end: what another keeper of the line (the line editor)
   * takes over with it.
   */
  get isAfterCR(): boolean {
    return this.afterCR;
  }

  /** Takes over from a keeper of the line whose last byte was a CR that ended a line (isAfterCR). */
  continueAfterCR(): void {
    this.afterCR = true;
  }

  /** True while the rest of an over-long line is being discarded. */
  get isDiscarding(): boolean {
    return this.discarding;
  }

  /** Frames `chunk` from `from` on; returns where it stopped (the chunk's length, or after the line the sink stopped at). */
  push(chunk: Buffer, from = 0): number {
    const end = chunk.length;
    if (from >= end) return end;
    let start = from;
    if (this.afterCR) {
      this.afterCR = false;
      if (completesCR(chunk[start])) start++;
    }
    // One native LF scan per line. The CR question ("is there a CR before
    // this LF?") is answered without a second native call per line, which
    // cost as much as the LF scan itself on CR LF traffic:
    //  - crScan keeps the result of the last native CR scan; -1 means no CR
    //    anywhere in the rest of the chunk (LF-only traffic: one failed scan
    //    per chunk), an index >= start is still valid;
    //  - once passed (every CR LF line passes its CR), a short line is
    //    checked by a JS loop over its own bytes, which is cheaper than a
    //    native call for the 20-100 byte lines this server sees; a long one
    //    gets a native scan again.
    let nextLF = chunk.indexOf(LF, start);
    let crScan = chunk.indexOf(CR, start);
    while (start < end) {
      if (nextLF !== -1 && nextLF < start) nextLF = chunk.indexOf(LF, start);
      const limit = nextLF === -1 ? end : nextLF;
      // The first CR in [start, limit), or -1.
      let cr = -1;
      if (crScan === -1) {
        // No CR left in this chunk.
      } else if (crScan >= start) {
        if (crScan < limit) cr = crScan;
      } else if (limit - start <= SHORT_LINE) {
        for (let i = start; i < limit; i++) {
          if (chunk[i] === CR) {
            cr = i;
            break;
          }
        }
      } else {
        crScan = chunk.indexOf(CR, start);
        if (crScan !== -1 && crScan < limit) cr = crScan;
      }
      if (cr !== -1) {
        const more = this.completeLine(chunk, start, cr);
        if (cr + 1 === end) {
          this.afterCR = true;
          return end;
        }
        start = completesCR(chunk[cr + 1]) ? cr + 2 : cr + 1;
        if (!more) return start;
      } else if (nextLF !== -1) {
        const more = this.completeLine(chunk, start, nextLF);
        start = nextLF + 1;
        if (!more) return start;
      } else {
        break;
      }
    }
    if (start < end) this.appendPending(chunk, start, end);
    return end;
  }

  /**
   * The input has ended (the client half-closed): an unfinished line is still
   * a line and is handed over. The framer is then empty and can be reused.
   */
  finish(): void {
    const hadLine = !this.discarding && this.pendingLength > 0;
    const line = this.pending;
    const length = this.pendingLength;
    this.reset();
    if (hadLine) this.sink.line(line!, 0, length);
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

  /** Returns whether to go on (the sink's answer). */
  private completeLine(chunk: Buffer, from: number, to: number): boolean {
    if (this.discarding) {
      // The line end of an over-long line: the client was told already.
      this.discarding = false;
      return true;
    }
    const length = this.pendingLength + (to - from);
    if (length > this.maxLineLength) {
      this.pending = null;
      this.pendingLength = 0;
      return this.sink.lineTooLong();
    }
    if (this.pendingLength === 0) return this.sink.line(chunk, from, to);
    this.copyIntoPending(chunk, from, to);
    const line = this.pending!;
    // Hand the buffer over instead of reusing it, so the line stays intact
    // for as long as the sink keeps it.
    this.pending = null;
    this.pendingLength = 0;
    return this.sink.line(line, 0, length);
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

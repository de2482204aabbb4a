/**
 * The lines `name-echo bench` sends on one connection and the check of the
 * replies that come back. Pure: bytes in, events out, no sockets, no clocks.
 *
 * Every line is built from its client number and sequence number, so the
 * reply owed to it can be rebuilt when it arrives (with the protocol's own
 * ReplyEncoder, so bench and server agree on what a reply is): nothing is
 * queued, and a missing, doubled, reordered or changed reply is caught
 * exactly. After a wrong reply the checker skips to the next LF and carries
 * on, as the C load generator in bench/ does.
 */
import { OutputBatch, type ReplyEncoder } from "../protocol/reply.js";

const CR = 0x0d;
const LF = 0x0a;
/** Lines are at least this long, so that the client tag and the 8-digit sequence number always fit. */
export const MIN_LINE_BYTES = 16;

/** The numbered lines of one connection: `c<client in base 36>.<seq as 8 hex digits>`, padded to `lineBytes`. */
export class NumberedLines {
  /** `c<client>.`, the start of every line of this connection; also its name in error messages. */
  readonly tag: Buffer;
  readonly lineBytes: number;

  constructor(client: number, lineBytes: number) {
    this.tag = Buffer.from(`c${client.toString(36)}.`, "latin1");
    this.lineBytes = lineBytes;
  }

  /** Writes line `seq` (without its line end) into `target` at `at`. */
  write(target: Buffer, at: number, seq: number): void {
    const tag = this.tag;
    tag.copy(target, at);
    let pos = at + tag.length;
    // Eight hex digits of the sequence number, most significant first.
    for (let shift = 28; shift >= 0; shift -= 4) {
      const digit = (seq >>> shift) & 0xf;
      target[pos++] = digit < 10 ? 0x30 + digit : 0x57 + digit;
    }
    // Padding: a letter that changes with the sequence number, so a reply
    // swapped with its neighbour differs in more than the counter.
    const pad = 0x61 + (seq % 26);
    target.fill(pad, pos, at + this.lineBytes);
  }

  /** Lines `first` … `first + count - 1`, each ended by CR LF, in one buffer (one write). */
  batch(first: number, count: number): Buffer {
    const stride = this.lineBytes + 2;
    const out = Buffer.allocUnsafe(count * stride);
    for (let i = 0; i < count; i++) {
      const at = i * stride;
      this.write(out, at, first + i);
      out[at + this.lineBytes] = CR;
      out[at + this.lineBytes + 1] = LF;
    }
    return out;
  }
}

/** What the checker found; `got` and `bytes` are views into the received chunk. */
export interface ReplyEvents {
  /** The reply to line `seq` arrived whole and right. */
  good(seq: number): void;
  /** The reply to line `seq` differs from `expected` (`got` starts where they part ways, or before). */
  bad(seq: number, expected: Buffer, got: Buffer): void;
  /** Bytes arrived while no reply was owed; the rest of that chunk is dropped. */
  unexpected(bytes: Buffer): void;
}

/**
 * Matches the replies of one connection, in order, against the lines sent on
 * it. The caller says how many lines it sent (`expectReplies`) and hands over
 * every chunk it reads (`receive`); any chunking of the same bytes gives the
 * same events.
 */
export class ReplyChecker {
  private readonly lines: NumberedLines;
  private readonly events: ReplyEvents;
  private readonly batch: OutputBatch;
  /** Scratch space for the line whose reply is owed. */
  private readonly line: Buffer;
  /** The reply owed to line `expectedSeq`, rebuilt when the next one is needed. */
  private expected: Buffer = Buffer.alloc(0);
  private expectedSeq = -1;
  /** How many bytes of the owed reply have arrived and matched so far. */
  private matched = 0;
  /** After a wrong reply: skipping to the next LF. */
  private resyncing = false;
  private sent = 0;
  private answered = 0;

  constructor(lines: NumberedLines, encoder: ReplyEncoder, events: ReplyEvents) {
    this.lines = lines;
    this.events = events;
    this.batch = new OutputBatch(encoder);
    this.line = Buffer.alloc(lines.lineBytes);
  }

  /** The sequence number of the next line to send (= lines sent so far). */
  get linesSent(): number {
    return this.sent;
  }

  /** Lines sent and not answered yet. */
  get inFlight(): number {
    return this.sent - this.answered;
  }

  /** `count` more lines went out: their replies are owed, in order. */
  expectReplies(count: number): void {
    this.sent += count;
  }

  /** Gives up on every reply still owed (the connection is gone); returns how many that was. */
  abandon(): number {
    const owed = this.inFlight;
    this.answered = this.sent;
    return owed;
  }

  /** Checks one chunk as read from the socket; returns how many owed replies it ended (good or bad). */
  receive(chunk: Buffer): number {
    let offset = 0;
    let answered = 0;
    while (offset < chunk.length) {
      if (this.inFlight === 0) {
        this.events.unexpected(chunk.subarray(offset));
        break;
      }
      if (this.resyncing) {
        const lf = chunk.indexOf(LF, offset);
        if (lf === -1) break;
        offset = lf + 1;
        this.resyncing = false;
        this.matched = 0;
        this.answered++;
        answered++;
        continue;
      }
      const seq = this.answered;
      const expected = this.expectedReply(seq);
      const take = Math.min(expected.length - this.matched, chunk.length - offset);
      if (chunk.compare(expected, this.matched, this.matched + take, offset, offset + take) !== 0) {
        this.events.bad(seq, expected, chunk.subarray(offset, offset + Math.max(take, 40)));
        this.resyncing = true;
        continue;
      }
      offset += take;
      this.matched += take;
      if (this.matched === expected.length) {
        this.matched = 0;
        this.answered++;
        answered++;
        this.events.good(seq);
      }
    }
    return answered;
  }

  private expectedReply(seq: number): Buffer {
    if (this.expectedSeq !== seq) {
      this.lines.write(this.line, 0, seq);
      this.batch.addReply(this.line);
      this.expected = this.batch.take()!;
      this.expectedSeq = seq;
    }
    return this.expected;
  }
}

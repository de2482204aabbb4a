/**
 * The client's half of the wire protocol: the server's bytes in, each line
 * matched to the send it answers. Pure and incremental like the server's
 * framer (no sockets, no timers): the bytes are framed by that same
 * LineFramer, and any chunking of them gives the same matches.
 *
 * The server answers lines in the order they came, one reply each, so
 * replies are matched to owed sends first in, first out. The server also
 * sends notices of its own, one line each, starting "error: " or
 * "closing: " (their kinds and classify() are in protocol/notices.ts). A
 * notice must never be taken for the reply to a line, and a reply must never
 * be taken for a notice (the line "error: x" gets the reply "error: x Ali").
 * So an incoming line is, in this order:
 *
 *   1. the reply to the oldest owed line L, when it has the reply's shape:
 *      exactly `L + " " + NAME` once NAME is known (it is learned from the
 *      first reply), `L + " "` followed by anything before that;
 *   2. otherwise a "closing: ..." notice: the server is going away and will
 *      answer nothing more; every owed send is given up (ended);
 *   3. otherwise an "error: ..." notice: a turn-away (server full, out of
 *      file descriptors, too many from one address) gives up every owed
 *      send (ended); any other error (a line over the server's limit) takes
 *      the place of the reply to the oldest owed line (refused);
 *   4. otherwise, the reply to the oldest owed line anyway: replies are in
 *      order, and the server may have edited the line (a telnet-aware server
 *      applies Backspace and Ctrl-C in it) so the shape check can fail.
 *
 * Lines that arrive with nothing owed (e.g. a notice) answer nothing; every
 * line, reply or not, is handed on last (line()).
 */
import { LineFramer } from "../protocol/line-framer.js";
import { classify, isClosing, isTurnedAway, type NoticeKind } from "../protocol/notices.js";

/** A send waiting for its reply: the line as sent, plus whatever the caller keeps with it. */
export interface OwedLine {
  readonly line: string;
}

/** What the matcher makes of the server's lines, in the order they come. */
export interface MatchSink<T extends OwedLine> {
  /** `reply` answers `owed`, the oldest owed send. */
  answered(owed: T, reply: string): void;
  /** The server answered `owed` with an error notice instead of its reply ("error: line longer than …"). */
  refused(owed: T, kind: NoticeKind, notice: string): void;
  /**
   * A notice after which the server answers nothing more here: it is closing
   * the connection, or it turned the connection away (isTurnedAway(kind)).
   * `owed`: every send still owed, oldest first; none of them is owed any more.
   */
  ended(kind: NoticeKind, notice: string, owed: T[]): void;
  /** Every line, after the above: `notice` when it was a notice rather than a reply. */
  line(text: string, notice: boolean): void;
  /** The server sent a line longer than maxLineLength: not a name-echo server, or a limit set too low. The matcher stops. */
  lineTooLong(): void;
}

/** Owed entries already answered are dropped from the array's front in one go past this many. */
const COMPACT_AFTER = 1024;

export class ReplyMatcher<T extends OwedLine> {
  private readonly sink: MatchSink<T>;
  private readonly framer: LineFramer;
  /** Owed sends, oldest first; `head` saves shifting a long array for every reply. */
  private owedLines: T[] = [];
  private head = 0;
  private learnedName: string | undefined;
  private stopped = false;

  constructor(sink: MatchSink<T>, maxLineLength: number) {
    this.sink = sink;
    this.framer = new LineFramer(
      {
        line: (source, from, to) => {
          this.handleLine(source.toString("utf8", from, to));
          return !this.stopped;
        },
        lineTooLong: () => {
          this.stopped = true;
          sink.lineTooLong();
          return false;
        },
      },
      maxLineLength,
    );
  }

  /** Sends waiting for their reply. */
  get owedCount(): number {
    return this.owedLines.length - this.head;
  }

  /** The name the server adds, once a reply has shown it. */
  get name(): string | undefined {
    return this.learnedName;
  }

  /** Bytes of an unfinished line held right now (at most maxLineLength). */
  get pendingByteCount(): number {
    return this.framer.pendingByteCount;
  }

  /** A line was sent: its reply is owed after every earlier one. */
  owe(owed: T): void {
    this.owedLines.push(owed);
  }

  /** Gives up every owed send (the connection is going away); returns them, oldest first. */
  takeAllOwed(): T[] {
    const owed = this.head === 0 ? this.owedLines : this.owedLines.slice(this.head);
    this.owedLines = [];
    this.head = 0;
    return owed;
  }

  /** Bytes from the server, as they came. */
  push(chunk: Buffer): void {
    if (!this.stopped) this.framer.push(chunk);
  }

  /** The server's FIN: a final line without a line end is still a line. */
  end(): void {
    if (!this.stopped) this.framer.finish();
  }

  private handleLine(text: string): void {
    const oldest = this.head < this.owedLines.length ? this.owedLines[this.head]! : undefined;
    const notice = classify(text);
    let isReply = false;
    if (oldest !== undefined && this.isReplyTo(oldest.line, text, notice)) {
      isReply = true;
      this.answer(oldest, text);
    } else if (notice !== undefined && (isClosing(notice) || isTurnedAway(notice))) {
      this.sink.ended(notice, text, this.takeAllOwed());
    } else if (notice !== undefined) {
      if (oldest !== undefined) {
        // The notice stands in for the reply to the oldest owed line.
        this.takeOldest();
        this.sink.refused(oldest, notice, text);
      }
    } else if (oldest !== undefined) {
      isReply = true;
      this.answer(oldest, text);
    }
    this.sink.line(text, !isReply && notice !== undefined);
  }

  private isReplyTo(line: string, text: string, notice: NoticeKind | undefined): boolean {
    if (this.learnedName !== undefined) {
      return text === (line === "" ? this.learnedName : `${line} ${this.learnedName}`);
    }
    return line === "" ? notice === undefined : text.startsWith(`${line} `);
  }

  private answer(owed: T, text: string): void {
    this.takeOldest();
    if (this.learnedName === undefined && (owed.line === "" || text.startsWith(`${owed.line} `))) {
      this.learnedName = owed.line === "" ? text : text.slice(owed.line.length + 1);
    }
    this.sink.answered(owed, text);
  }

  private takeOldest(): void {
    this.head++;
    if (this.head === this.owedLines.length) {
      this.owedLines = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.owedLines.length) {
      this.owedLines = this.owedLines.slice(this.head);
      this.head = 0;
    }
  }
}

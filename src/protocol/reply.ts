/**
 * Lines in, reply bytes out: `line + " " + NAME + "\r\n"`, or `NAME + "\r\n"`
 * for an empty line. Pure: the name is encoded once, and all the replies of
 * one read are gathered and copied into a single buffer, so one read costs
 * one write (and one syscall) however many lines it held.
 */

export class ReplyEncoder {
  /** `" " + name + "\r\n"`, appended to every non-empty line. */
  readonly suffix: Buffer;
  /** `name + "\r\n"`, the whole reply to an empty line. */
  readonly emptyLineReply: Buffer;

  constructor(name: string) {
    this.emptyLineReply = Buffer.from(`${name}\r\n`, "utf8");
    this.suffix = Buffer.from(` ${name}\r\n`, "utf8");
  }

  /** The reply to one line, as a new buffer. */
  encode(line: Buffer): Buffer {
    const batch = new OutputBatch(this);
    batch.addReply(line);
    return batch.take()!;
  }
}

/**
 * The bytes owed to one client from one read, in order: replies, and any
 * other bytes (notices, telnet answers, echo) between them. Bytes are copied
 * straight into one output buffer as they are added (no list of views, no
 * second pass): the process's spare where allowed (see releaseOutput()), else
 * a buffer grown by doubling, and one copy per line.
 * take() hands that buffer over and the next read starts a new one: the
 * socket owns what it was given, and an idle connection holds no buffer.
 */
export class OutputBatch {
  private readonly encoder: ReplyEncoder;
  /** Whether the spare output buffer may be used: see the constructor. */
  private readonly spareAllowed: boolean;
  private out: Buffer | null = null;
  private used = 0;
  /** Replies added since the batch was made (every take() included): the connection's line count. */
  replyCount = 0;

  /**
   * @param spareAllowed gather in the process's spare output buffer (see
   *   releaseOutput()): only for a writer that usually has the kernel take
   *   the bytes at once (libuv's handle). One that keeps every buffer it is
   *   given (a net.Socket queues them) would keep the spare each time, while
   *   counting only the bytes written into it.
   */
  constructor(encoder: ReplyEncoder, spareAllowed = false) {
    this.encoder = encoder;
    this.spareAllowed = spareAllowed;
  }

  /** `" " + name + "\r\n"`, appended to every non-empty line. */
  get suffix(): Buffer {
    return this.encoder.suffix;
  }

  /** `name + "\r\n"`, the whole reply to an empty line. */
  get emptyLineReply(): Buffer {
    return this.encoder.emptyLineReply;
  }

  get isEmpty(): boolean {
    return this.used === 0;
  }

  get length(): number {
    return this.used;
  }

  addReply(line: Buffer): void {
    this.addReplySpan(line, 0, line.length);
  }

  /** The reply to the line `source[from, to)`, copied from there (no view made). */
  addReplySpan(source: Buffer, from: number, to: number): void {
    this.replyCount++;
    if (from === to) {
      this.add(this.emptyLineReply);
      return;
    }
    const suffix = this.suffix;
    const out = this.reserve(to - from + suffix.length);
    let at = this.used;
    at = copyBytes(source, from, to, out, at);
    this.used = copyBytes(suffix, 0, suffix.length, out, at);
  }

  /** Raw bytes that go out as they are (the caller owns their meaning). */
  add(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const out = this.reserve(bytes.length);
    this.used = copyBytes(bytes, 0, bytes.length, out, this.used);
  }

  /**
   * For encoders that write straight into the output (plain-lines.ts): the
   * output buffer with room for `bytes` more after `length`. Write there,
   * then commit().
   */
  room(bytes: number): Buffer {
    return this.reserve(bytes);
  }

  /** What was written after room(): the output now holds `length` bytes, `replies` more replies among them. */
  commit(length: number, replies: number): void {
    this.used = length;
    this.replyCount += replies;
  }

  /** Everything gathered since the last take(), as one buffer; null if nothing. */
  take(): Buffer | null {
    const out = this.out;
    if (out === null || this.used === 0) {
      // Room was made but nothing written (a read with no complete line): an
      // idle connection holds no buffer, and the spare goes back unused.
      if (out !== null && out === lentSpare) giveBackSpare();
      this.out = null;
      return null;
    }
    const taken = this.used === out.length ? out : out.subarray(0, this.used);
    this.out = null;
    this.used = 0;
    return taken;
  }

  /** The output buffer, with room for `bytes` more (grown by doubling). */
  private reserve(bytes: number): Buffer {
    const needed = this.used + bytes;
    const out = this.out;
    if (out !== null && out.length >= needed) return out;
    // No size guess from the read: measured side by side, sizing each output
    // from the chunk (a line per 16 bytes) was no faster than growing from
    // MIN_OUTPUT_BYTES by doubling, and raised pipeline's peak RSS ~5 MiB.
    let capacity = Math.max(needed, MIN_OUTPUT_BYTES);
    if (out !== null) capacity = Math.max(capacity, out.length * 2);
    // allocUnsafe: every byte handed out by take() is written first. Below
    // 4 KiB this comes from Node's shared pool, so a small read's replies
    // cost no allocation of their own.
    const grown = (this.spareAllowed ? takeSpareOutput(capacity, out === null) : null) ?? Buffer.allocUnsafe(capacity);
    if (out !== null) {
      out.copy(grown, 0, 0, this.used);
      // Outgrown: the spare is free again (nothing refers to its bytes).
      if (out === lentSpare) giveBackSpare();
    }
    this.out = grown;
    return grown;
  }
}

/**
 * One output buffer for the whole process, as the handle transport has one
 * read buffer: a batch whose bytes the kernel took at once (the usual case)
 * gives its buffer back (releaseOutput), and the next read's replies are
 * gathered in it. Without it every read of short lines allocates a chain of
 * buffers up to twice its output and drops them; under a flood that is
 * hundreds of MiB a second for the GC to find and the allocator to keep.
 */
let spareOutput: Buffer | null = null;
/** The spare while a batch has it (between takeSpareOutput() and its return): given back as it is, no new view. */
let lentSpare: Buffer | null = null;
/**
 * The smallest spare: room for a read's replies in all but bulk transfers.
 * Made on its own (allocUnsafeSlow), never a slice of Node's shared pool: a
 * slice cannot be given back, others use the rest of its pool.
 */
const MIN_SPARE_OUTPUT_BYTES = 16 * 1024;
/**
 * A bigger buffer is not kept as the spare. A write that has to wait for the
 * kernel keeps the buffer it was gathered in, and its client is charged all
 * of it (the handle transport's heldOutputBytes): the spare's size is what
 * one slow client can cost beyond the bytes it is owed.
 */
const MAX_SPARE_OUTPUT_BYTES = 64 * 1024;

/** The size of the last buffer given back: what a read's replies have needed. */
let spareOutputBytes = 0;

/**
 * The spare output buffer, when there is one of at least `bytes`; it is the
 * caller's until it gives it back. When the spare is out (its batch's write
 * still waits for the kernel), a new batch gets a buffer of the spare's size
 * at once, not a chain of doublings for the GC.
 */
function takeSpareOutput(bytes: number, starting: boolean): Buffer | null {
  const spare = spareOutput;
  if (spare !== null) {
    if (spare.length < bytes) return null;
    spareOutput = null;
    lentSpare = spare;
    return spare;
  }
  if (!starting) return null;
  if (lentSpare === null && bytes <= MAX_SPARE_OUTPUT_BYTES) {
    // No spare: none yet, or the last one stayed with a write that waits. This batch's buffer becomes it.
    const made = Buffer.allocUnsafeSlow(Math.max(bytes, MIN_SPARE_OUTPUT_BYTES, spareOutputBytes));
    lentSpare = made;
    return made;
  }
  return spareOutputBytes >= bytes ? Buffer.allocUnsafe(spareOutputBytes) : null;
}

function giveBackSpare(): void {
  spareOutput = lentSpare;
  lentSpare = null;
}

/**
 * Says what became of a buffer take() returned once it was written:
 * `reusable` when nothing refers to it any more (the kernel copied it), and
 * the next batch may overwrite it; else a write request (or a trace) keeps
 * it, and it is never handed out again. Small buffers (slices of Node's
 * shared pool) are not kept.
 */
export function releaseOutput(taken: Buffer, reusable: boolean): void {
  const whole = taken.buffer;
  if (lentSpare !== null && whole === lentSpare.buffer) {
    if (reusable) giveBackSpare();
    // Kept by the write: the next batch gets a new spare, not these bytes.
    else lentSpare = null;
    return;
  }
  if (!reusable) return;
  if (whole.byteLength <= Buffer.poolSize || whole.byteLength > MAX_SPARE_OUTPUT_BYTES) return;
  if (spareOutput !== null && spareOutput.length >= whole.byteLength) return;
  spareOutput = Buffer.from(whole, 0, whole.byteLength);
  spareOutputBytes = whole.byteLength;
}

/** The smallest output buffer: one typical reply and then some. */
const MIN_OUTPUT_BYTES = 128;
/**
 * Copies up to this many bytes with a JS loop: Buffer#copy of part of a
 * buffer makes a Uint8Array view and crosses into C++, which costs more
 * than the loop for a 24-byte line or a 6-byte suffix.
 */
const SHORT_COPY = 64;

/** Copies source[from, to) into target at `at`; returns the offset after it. */
function copyBytes(source: Buffer, from: number, to: number, target: Buffer, at: number): number {
  const length = to - from;
  if (length <= SHORT_COPY) {
    for (let i = from; i < to; i++) target[at++] = source[i]!;
    return at;
  }
  target.set(from === 0 && to === source.length ? source : source.subarray(from, to), at);
  return at + length;
}

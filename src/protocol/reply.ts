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
    const batch = new ReplyBatch(this);
    batch.addReply(line);
    return batch.take()!;
  }
}

/**
 * The bytes owed to one client from one read, in order: replies, and any
 * other bytes (notices, telnet answers, echo) between them. Keeps views only
 * and copies them once, in take(). Reusable: take() empties it.
 */
export class ReplyBatch {
  private readonly encoder: ReplyEncoder;
  private readonly parts: Buffer[] = [];
  private byteCount = 0;

  constructor(encoder: ReplyEncoder) {
    this.encoder = encoder;
  }

  get isEmpty(): boolean {
    return this.parts.length === 0;
  }

  get length(): number {
    return this.byteCount;
  }

  addReply(line: Buffer): void {
    if (line.length === 0) {
      this.add(this.encoder.emptyLineReply);
      return;
    }
    this.add(line);
    this.add(this.encoder.suffix);
  }

  /** Raw bytes that go out as they are (the caller owns their meaning). */
  add(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.parts.push(bytes);
    this.byteCount += bytes.length;
  }

  /** Everything gathered since the last take(), as one buffer; null if nothing. */
  take(): Buffer | null {
    const parts = this.parts;
    if (parts.length === 0) return null;
    const out = Buffer.allocUnsafe(this.byteCount);
    let offset = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      part.copy(out, offset);
      offset += part.length;
    }
    parts.length = 0;
    this.byteCount = 0;
    return out;
  }
}

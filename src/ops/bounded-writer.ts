/**
 * Lines to a file descriptor (stderr) without ever blocking the server.
 *
 * process.stderr writes to a pipe or a terminal synchronously on Linux: a
 * terminal that scrolls slowly, or a pipe nobody reads, would stall the
 * event loop and with it every client. Here lines are queued (up to
 * maxQueuedBytes) and written by fs.write, one write at a time, off the event
 * loop; when the queue is full new lines are dropped and counted, and the
 * count is written as a line of its own once there is room again.
 */
import * as fs from "node:fs";

export const DEFAULT_MAX_QUEUED_BYTES = 1 << 20;
/** Bytes per write: Linux's PIPE_BUF (writes up to it are atomic on a pipe). */
const BATCH_BYTES = 4096;
/** Retry delay when the descriptor is non-blocking and full (EAGAIN). */
const RETRY_MS = 10;

export interface BoundedWriterOptions {
  /** Default 2 (stderr). */
  fd?: number;
  maxQueuedBytes?: number;
  /** The line that reports drops, given the count. */
  droppedLine?: (count: number) => string;
}

export class BoundedWriter {
  private readonly fd: number;
  private readonly maxQueuedBytes: number;
  private readonly droppedLine: (count: number) => string;
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  private droppedSinceReport = 0;
  private droppedTotal = 0;
  private broken = false;
  private idleWaiters: Array<() => void> = [];

  constructor(options: BoundedWriterOptions = {}) {
    this.fd = options.fd ?? 2;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.droppedLine = options.droppedLine ?? ((count) => `… ${count} line(s) dropped: the output did not keep up`);
  }

  /** Lines dropped so far because the output did not keep up. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Bytes (UTF-16 code units, close enough) waiting to be written. */
  get queued(): number {
    return this.queuedBytes;
  }

  /** Queues `line` and a line end; drops it when the queue is full. Never blocks. */
  writeLine(line: string): void {
    if (this.broken) return;
    const size = line.length + 1;
    if (this.queuedBytes + size > this.maxQueuedBytes) {
      this.droppedSinceReport++;
      this.droppedTotal++;
      return;
    }
    if (this.droppedSinceReport > 0) {
      const report = `${this.droppedLine(this.droppedSinceReport)}\n`;
      this.droppedSinceReport = 0;
      this.queue.push(report);
      this.queuedBytes += report.length;
    }
    this.queue.push(`${line}\n`);
    this.queuedBytes += size;
    if (!this.writing) this.pump();
  }

  /** Resolves once everything queued has been written (or dropped because the output broke). */
  idle(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.queue.length === 0 || this.broken) {
      this.writing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
      return;
    }
    this.writing = true;
    // Whole lines, up to PIPE_BUF bytes in one write: a pipe takes that much
    // atomically, so a log line written to the same descriptor meanwhile is
    // never spliced into the middle of one of ours.
    let count = 0;
    let size = 0;
    while (count < this.queue.length && (count === 0 || size + this.queue[count]!.length <= BATCH_BYTES)) {
      size += this.queue[count]!.length;
      count++;
    }
    const text = this.queue.splice(0, count).join("");
    this.write(Buffer.from(text, "utf8"), text.length);
  }

  private write(bytes: Buffer, size: number): void {
    fs.write(this.fd, bytes, 0, bytes.length, null, (error, written) => {
      if (error) {
        if (error.code === "EAGAIN") {
          setTimeout(() => this.write(bytes, size), RETRY_MS).unref();
          return;
        }
        // EPIPE, EBADF…: nobody will ever read this; stop trying.
        this.broken = true;
        this.queuedBytes = 0;
        this.queue = [];
        this.pump();
        return;
      }
      if (written < bytes.length) {
        this.write(bytes.subarray(written), size);
        return;
      }
      this.queuedBytes -= size;
      this.pump();
    });
  }
}

/**
 * Where the operator's log goes: stderr, through a bounded buffer, so that a
 * log nobody reads never blocks serving and never grows without bound.
 *
 * The buffer is SonicBoom, pino's own destination. Lines are appended to it
 * and written in batches (once 4 KiB have gathered, and every 100 ms), not
 * one write per line. When the reader stalls (a stuck log shipper, a paused
 * `less`, a terminal scrolled back), the buffer fills to MAX_BUFFERED_BYTES
 * and SonicBoom drops every line past that ('drop'); they are counted, and
 * when the output moves again one line says how many were lost
 * ("12,345 log lines dropped: the log output was not being read").
 *
 * A stalled reader must not stall the writer, so the descriptor written is
 * non-blocking: a write that would block fails at once with EAGAIN, the
 * bytes stay buffered, and the next batch tries again (a timer, never a busy
 * loop, never a wait). Node makes a pipe or socket on stderr non-blocking
 * when it opens process.stderr; a terminal it leaves blocking, so for a
 * terminal this module opens a non-blocking descriptor of its own to the
 * same terminal (as libuv does for its TTY handles), leaving the one the
 * shell shares untouched. A regular file (or /dev/null) never waits for a
 * reader and is written as it is. Where none of that is possible (no /proc,
 * not Linux) the batches are written by the thread pool instead
 * (SonicBoom's asynchronous mode), so serving still never waits.
 *
 * Every way out writes what is buffered, waiting at most EXIT_WAIT_MS for a
 * slow reader: close() at the end of a graceful stop, and the same flush
 * when the process exits any other way (process.exit, an uncaught
 * exception: before Node prints it).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, writeSync } from "node:fs";
import { isatty } from "node:tty";
import sonicBoom from "sonic-boom";

// A CommonJS package: the module is the class, also exported by name.
const { SonicBoom } = sonicBoom;
type SonicBoom = InstanceType<typeof SonicBoom>;

/**
 * What may wait for a slow reader before lines are dropped: a burst of a
 * couple of thousand lines; bounded, whatever the clients do.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024;

/** A batch is written once this much has gathered ... */
const BATCH_BYTES = 4096;
/** ... or this often, whichever comes first. */
const BATCH_EVERY_MS = 100;

/** How long a way out waits for a reader that does not take the last lines. */
const EXIT_WAIT_MS = 1000;

/** While the output keeps moving but lines are still being dropped, the count is reported this often. */
const DROP_REPORT_EVERY_MS = 10_000;

/** One log output; each process has one, on its stderr. */
export class LogOutput {
  private readonly boom: SonicBoom;
  private readonly fd: number;
  private readonly ownsFd: boolean;
  /** Written by the thread pool: the descriptor may block (see nonBlockingDescriptor). */
  private readonly threaded: boolean;
  /** The output failed for good (EPIPE: the reader is gone) or was closed. */
  private dead = false;
  /** It failed (not merely closed). */
  private failed = false;
  /** Lines written since the buffer last emptied ('drain'). */
  private busy = false;
  /** Until when an EAGAIN is waited out; 0 while serving (the next batch tries again). */
  private waitUntil = 0;
  private dropped = 0;
  private firstDropAt = 0;
  private reporting = false;
  private reportDropped = false;
  private reportDrops: (count: number) => void = () => {};
  /** Set while lines are caught instead of buffered (the drop report on the way out). */
  private caught: string[] | null = null;

  constructor(fd = 2) {
    const descriptor = nonBlockingDescriptor(fd);
    this.fd = descriptor.fd;
    this.ownsFd = descriptor.owned;
    this.threaded = !descriptor.neverWaits;
    this.boom = new SonicBoom({
      fd: this.fd,
      // Non-blocking writes from this thread are cheaper than a hand-off to
      // the thread pool, and keep every byte in order on every way out.
      sync: !this.threaded,
      // The thread pool batches by itself: what gathers while a write is out goes in the next one.
      minLength: this.threaded ? 0 : BATCH_BYTES,
      periodicFlush: this.threaded ? 0 : BATCH_EVERY_MS,
      maxLength: MAX_BUFFERED_BYTES,
      // While serving, an EAGAIN keeps the bytes for the next batch (false);
      // on the way out SonicBoom waits 100 ms and tries again, until waitUntil.
      retryEAGAIN: () => this.threaded || Date.now() < this.waitUntil,
    });
    this.boom.on("drop", () => {
      if (this.reporting) {
        this.reportDropped = true;
        return;
      }
      if (this.dropped === 0) this.firstDropAt = Date.now();
      this.dropped++;
    });
    this.boom.on("drain", () => {
      this.busy = false;
      // The reader has caught up: say what it missed.
      if (this.dropped > 0) this.report();
    });
    this.boom.on("write", () => {
      // A slow reader that never quite catches up still hears about drops,
      // once the bytes just written have left the buffer (after this event).
      if (this.dropped > 0 && Date.now() - this.firstDropAt >= DROP_REPORT_EVERY_MS) queueMicrotask(() => this.report());
    });
    this.boom.on("error", (error: NodeJS.ErrnoException) => {
      // EAGAIN: the reader is behind; the bytes wait for the next batch.
      // Anything else (EPIPE: the reader is gone) is for good, and there is
      // nobody left to tell.
      if (error.code !== "EAGAIN") this.dead = this.failed = true;
    });
    trackForExit(this);
  }

  /** Appends one line (with its "\n"); never blocks, drops it if the buffer is full. */
  write(line: string): void {
    if (this.caught) {
      this.caught.push(line);
    } else if (!this.dead) {
      this.busy = true;
      this.boom.write(line);
    }
  }

  /** How the logger says that lines were dropped (in its own format, through write()). */
  onDrops(report: (count: number) => void): void {
    this.reportDrops = report;
  }

  /**
   * The end of a graceful stop: writes what is buffered (and the count of
   * lines dropped, if any), waiting at most EXIT_WAIT_MS for a slow reader.
   * Nothing is written after it.
   */
  async close(): Promise<void> {
    if (this.dead) return;
    if (!this.threaded) return this.flushAtExit();
    // The thread pool's writes finish on the event loop: wait for the
    // buffer to empty, or give up on the reader.
    this.report();
    if (this.busy)
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.boom.off("drain", done);
          this.boom.off("error", done);
          resolve();
        };
        const timer = setTimeout(done, EXIT_WAIT_MS);
        this.boom.once("drain", done);
        this.boom.once("error", done);
      });
    this.dead = true;
  }

  /** The way out with no event loop left: writes what the reader takes within EXIT_WAIT_MS, then stops. */
  flushAtExit(): void {
    if (this.dead) return;
    this.dead = true;
    this.waitUntil = Date.now() + EXIT_WAIT_MS;
    try {
      // A descriptor that may block could hang the exit on a reader that
      // has stopped: what the thread pool has not written by now is lost.
      if (this.threaded) return;
      // One batch first: SonicBoom's flushSync() waits out EAGAIN (100 ms at
      // a time, while retryEAGAIN allows it, then throws) but retries any
      // other error forever, so a reader that has quit (EPIPE) must show
      // here, where it ends the output (see 'error' above).
      this.boom.flush();
      if (this.failed) return;
      this.boom.flushSync();
      if (this.dropped > 0) {
        this.caught = [];
        this.report();
        for (const line of this.caught) writeSync(this.fd, line);
      }
    } catch {
      // The reader is gone or has stalled for good: what is left is lost.
    } finally {
      this.caught = null;
      if (this.ownsFd) closeQuietly(this.fd);
    }
  }

  private report(): void {
    if (this.dropped === 0) return;
    const count = this.dropped;
    this.dropped = 0;
    this.reporting = true;
    this.reportDropped = false;
    try {
      this.reportDrops(count);
    } finally {
      this.reporting = false;
    }
    // No room for the report itself yet: keep the count for the next chance.
    if (this.reportDropped) this.dropped += count;
  }
}

/**
 * The descriptor to write `fd` through, and whether writing it can never
 * wait for a reader: a file as it is; a terminal through a non-blocking
 * descriptor of our own (on Linux, through /proc/self/fd), so that
 * O_NONBLOCK does not leak into the shell's; a pipe or socket as it is once
 * Node has made it non-blocking.
 */
function nonBlockingDescriptor(fd: number): { fd: number; owned: boolean; neverWaits: boolean } {
  // Opening process.stderr is what makes Node put a pipe or socket on fd 2
  // in non-blocking mode; do it first, whatever else has touched it yet.
  if (fd === 2) void process.stderr;
  try {
    const stat = fstatSync(fd);
    const terminal = isatty(fd);
    if (stat.isFile() || stat.isBlockDevice() || (stat.isCharacterDevice() && !terminal)) return { fd, owned: false, neverWaits: true };
    if (process.platform !== "linux") return { fd, owned: false, neverWaits: false };
    if (terminal) {
      const own = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      return { fd: own, owned: true, neverWaits: true };
    }
    return { fd, owned: false, neverWaits: isNonBlocking(fd) };
  } catch {
    // No /proc, or a descriptor fstat cannot describe: leave the waiting to the thread pool.
    return { fd, owned: false, neverWaits: false };
  }
}

/** O_NONBLOCK in the descriptor's flags, from /proc/self/fdinfo (Linux). */
function isNonBlocking(fd: number): boolean {
  const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
  return flags !== null && (Number.parseInt(flags[1]!, 8) & constants.O_NONBLOCK) !== 0;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to release.
  }
}

const outputs = new Set<LogOutput>();

function trackForExit(output: LogOutput): void {
  if (outputs.size === 0) {
    const flushAll = (): void => {
      for (const each of outputs) each.flushAtExit();
    };
    // 'exit' covers process.exit() and the natural end; the monitor runs
    // before Node prints an uncaught exception, so the log comes first.
    process.on("exit", flushAll);
    process.on("uncaughtExceptionMonitor", flushAll);
  }
  outputs.add(output);
}

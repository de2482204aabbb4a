/**
 * Where the operator's log goes: stderr, through a bounded asynchronous
 * buffer, so that a log nobody reads never blocks serving and never grows
 * without bound.
 *
 * The buffer is SonicBoom, pino's own asynchronous destination: a log line
 * is appended to it and written by the thread pool, never by the thread that
 * serves clients. When the reader stalls (a stuck log shipper, a paused
 * `less`, a terminal scrolled back), the buffer fills to MAX_BUFFERED_BYTES
 * and SonicBoom drops every line past that ('drop'); they are counted, and
 * when the output moves again one line says how many were lost
 * ("12,345 log lines dropped: the log output was not being read").
 *
 * A stalled reader must not stall the writer, so the descriptor is
 * non-blocking: a write that would block fails with EAGAIN and SonicBoom
 * tries again 100 ms later (a timer, not a busy loop). Node itself makes a
 * pipe or socket on stderr non-blocking when it opens process.stderr; a
 * terminal it leaves blocking, so for a terminal this module opens its own
 * non-blocking descriptor of the same terminal (as libuv does for its TTY
 * handles), leaving the one the shell shares untouched. A regular file never
 * blocks for long and is written as it is.
 *
 * Every way out writes what is buffered: close() on a graceful stop (waits
 * for the reader, at most a second), and a synchronous flush when the
 * process exits by any other way (process.exit, an uncaught exception), also
 * bounded: a reader that has stalled for good costs the exit a second, not
 * forever.
 */
import { closeSync, constants, fstatSync, openSync, writeSync } from "node:fs";
import { isatty } from "node:tty";
import sonicBoom from "sonic-boom";

// A CommonJS package: the module is the class, also exported by name.
const { SonicBoom } = sonicBoom;
type SonicBoom = InstanceType<typeof SonicBoom>;

/**
 * What may wait for a slow reader before lines are dropped: a burst of a few
 * thousand lines; bounded, whatever the clients do.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024;

/** How long an exit waits for a reader that does not take the last lines. */
const EXIT_WAIT_MS = 1000;

/** While the output keeps moving but lines are still being dropped, the count is reported this often. */
const DROP_REPORT_EVERY_MS = 10_000;

/** One log output; each process has one, on its stderr. */
export class LogOutput {
  private readonly boom: SonicBoom;
  private readonly fd: number;
  private readonly ownsFd: boolean;
  /** Something is buffered or being written (until 'drain'). */
  private busy = false;
  /** The output failed for good (EPIPE: the reader is gone) or was given up at exit. */
  private dead = false;
  /** EAGAIN is no longer worth waiting for after this time (set on the way out). */
  private giveUpAt = Infinity;
  private dropped = 0;
  private firstDropAt = 0;
  private reporting = false;
  private reportDropped = false;
  private reportDrops: (count: number) => void = () => {};
  /** Set while lines are caught instead of buffered (the drop report at exit). */
  private caught: string[] | null = null;

  constructor(fd = 2) {
    ({ fd: this.fd, owned: this.ownsFd } = nonBlockingDescriptor(fd));
    this.boom = new SonicBoom({
      fd: this.fd,
      sync: false,
      maxLength: MAX_BUFFERED_BYTES,
      // Consulted on every EAGAIN: wait for the reader (SonicBoom tries again
      // in 100 ms) until the process is on its way out and the wait is over.
      retryEAGAIN: () => Date.now() < this.giveUpAt,
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
      // The reader caught up with everything: say what it missed.
      if (this.dropped > 0) this.report();
    });
    this.boom.on("write", () => {
      // A slow reader that never quite catches up still hears about drops,
      // once the bytes just written have left the buffer (after this event).
      if (this.dropped > 0 && Date.now() - this.firstDropAt >= DROP_REPORT_EVERY_MS) queueMicrotask(() => this.report());
    });
    this.boom.on("error", () => {
      // EPIPE: nobody will ever read this output again. EAGAIN past the exit
      // wait: given up. Either way there is nobody left to tell.
      this.dead = true;
      this.busy = false;
    });
    trackForExit(this);
  }

  /** Appends one line (with its "\n"); never blocks, drops it if the buffer is full. */
  write(line: string): void {
    if (this.caught) {
      this.caught.push(line);
      return;
    }
    if (this.dead) return;
    this.busy = true;
    this.boom.write(line);
  }

  /** How the logger says that lines were dropped (in its own format, through write()). */
  onDrops(report: (count: number) => void): void {
    this.reportDrops = report;
  }

  /**
   * Graceful end: resolves once everything buffered is written, or after
   * `timeoutMs` when the reader does not take it (those lines are lost, and
   * the output stops trying so the process can exit).
   */
  close(timeoutMs = EXIT_WAIT_MS): Promise<void> {
    if (this.dropped > 0) this.report();
    if (!this.busy || this.dead) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.boom.off("drain", done);
        this.boom.off("error", done);
        resolve();
      };
      const timer = setTimeout(() => {
        // The next EAGAIN ends SonicBoom's retries instead of scheduling one more.
        this.giveUpAt = 0;
        done();
      }, timeoutMs);
      this.boom.once("drain", done);
      this.boom.once("error", done);
    });
  }

  /** The way out with no event loop left (process 'exit'): write what the reader takes within EXIT_WAIT_MS. */
  flushAtExit(): void {
    if (this.dead) return;
    this.giveUpAt = Math.min(this.giveUpAt, Date.now() + EXIT_WAIT_MS);
    try {
      // EAGAIN: SonicBoom sleeps 100 ms and tries again while retryEAGAIN
      // allows it, then throws.
      this.boom.flushSync();
      if (this.dropped > 0) {
        this.caught = [];
        this.report();
        for (const line of this.caught) writeSync(this.fd, line);
      }
    } catch {
      // The reader is gone or stalled for good: what is left is lost.
    } finally {
      this.caught = null;
      this.dead = true;
      if (this.ownsFd) {
        try {
          closeSync(this.fd);
        } catch {
          // Already closed: nothing to release.
        }
      }
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
 * A non-blocking descriptor for the output `fd`: `fd` itself unless it is a
 * terminal, which gets a descriptor of its own (on Linux, through
 * /proc/self/fd) so that O_NONBLOCK does not leak into the shell's.
 */
function nonBlockingDescriptor(fd: number): { fd: number; owned: boolean } {
  // Opening process.stderr is what makes Node put a pipe or socket on fd 2
  // in non-blocking mode; do it first, whatever else has touched it yet.
  if (fd === 2) void process.stderr;
  if (process.platform !== "linux" || !isatty(fd)) return { fd, owned: false };
  try {
    if (!fstatSync(fd).isCharacterDevice()) return { fd, owned: false };
    const own = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    return { fd: own, owned: true };
  } catch {
    // No /proc: a blocking terminal, written by the thread pool; serving still never waits for it.
    return { fd, owned: false };
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

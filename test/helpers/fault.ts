/**
 * Helpers for the fault suite: the real server as a child process (so its
 * memory is its own and can be read from /proc), and small clients on real
 * loopback sockets. No test here sleeps for an event it could await.
 */
import type * as net from "node:net";
import { startServe, type RunningServe } from "./cli.js";
import { connect } from "./net.js";
import { Changes, waitFor } from "./wait.js";
import type { TransportName } from "../../src/server/transport/transport.js";

export { rssOf } from "./cli.js";

/** The server of the fault suite: a `name-echo serve` child process, its log read line by line. */
export type ServerProcess = RunningServe;

/**
 * Starts `name-echo serve --port 0 …args` for the fault suite (under
 * `ulimit -n N` when a descriptor limit is asked for) and resolves once it
 * prints where it listens.
 */
export function startFaultServe(
  args: string[] = [],
  options: { fdLimit?: number; transport?: TransportName; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const transport = options.transport === undefined ? [] : ["--transport", options.transport];
  // Human log lines (not JSON, the default on a pipe): the tests match them as an operator reads them.
  // Every connection logged one by one (no flood summary): the tests count connect and disconnect lines.
  return startServe(["--log-format", "pretty", "--log-connections-per-second", "0", ...transport, ...args], {
    fdLimit: options.fdLimit,
    env: options.env === undefined ? process.env : { ...process.env, ...options.env },
  });
}

export const MiB = 1024 * 1024;

/**
 * A client that reads the server's CR LF lines one at a time, and notices
 * when the server ends the connection.
 */
export class LineClient {
  readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private readonly lines: string[] = [];
  private readonly changes = new Changes();
  private ended = false;
  private error: Error | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      let at: number;
      while ((at = this.buffered.indexOf("\r\n")) !== -1) {
        this.lines.push(this.buffered.subarray(0, at).toString("latin1"));
        this.buffered = this.buffered.subarray(at + 2);
      }
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", (error) => {
      this.error = error;
      this.wake();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
  }

  static async connect(port: number): Promise<LineClient> {
    return new LineClient(await connect(port));
  }

  /** The next line from the server (without CR LF); rejects if the connection ends first or after timeoutMs. */
  nextLine(timeoutMs = 5000): Promise<string> {
    return this.until(() => this.lines.length > 0, timeoutMs, "a line").then(() => this.lines.shift()!);
  }

  /** Resolves when the server has closed the connection (FIN or reset). */
  closed(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.ended, timeoutMs, "the connection to close");
  }

  /** Lines received and not yet taken. */
  get pendingLines(): readonly string[] {
    return this.lines;
  }

  /** Sends `line` + LF and returns the reply and how long it took. */
  async roundTrip(line: string, timeoutMs = 5000): Promise<{ reply: string; ms: number }> {
    const started = performance.now();
    this.socket.write(`${line}\n`);
    const reply = await this.nextLine(timeoutMs);
    return { reply, ms: performance.now() - started };
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    await waitFor(done, what, {
      timeoutMs,
      changes: this.changes,
      failIf: () => (this.ended || this.error ? (this.error ?? new Error(`connection ended while waiting for ${what}`)) : undefined),
    });
  }

  private wake(): void {
    this.changes.changed();
  }
}

/**
 * Writes `chunk` and, if the socket says its buffer is full, waits for
 * 'drain' up to `stallMs`. Resolves false when the peer stopped reading
 * (no drain in time): that is the server's backpressure at work.
 */
export function writeOrStall(socket: net.Socket, chunk: Buffer, stallMs: number): Promise<boolean> {
  if (socket.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off("drain", onDrain);
      resolve(false);
    }, stallMs);
    const onDrain = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once("drain", onDrain);
  });
}

/** Runs `task` for every item with at most `limit` at once. */
export async function inParallel<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

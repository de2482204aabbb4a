/**
 * Helpers for the fault suite: the real server as a child process (so its
 * memory is its own and can be read from /proc), and small clients on real
 * loopback sockets. No test here sleeps for an event it could await.
 */
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import type * as net from "node:net";
import { LISTENING, spawnCli } from "./cli.js";
import { connect } from "./net.js";
import type { TransportName } from "../../src/server/transport/transport.js";

export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcessWithoutNullStreams;
  /** Every stderr line so far (the operator's log). */
  readonly log: string[];
  /** Resolves with the first log line (already written or future) that matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once `count` log lines match. */
  waitForLogCount(pattern: RegExp, count: number, timeoutMs?: number): Promise<void>;
  /** Resident memory of the server process, in bytes. */
  rss(): number;
  /** SIGTERM, then SIGKILL if it has not gone after a while; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `node bin/name-echo serve --port 0 …args` (through `sh -c 'ulimit -n
 * N; exec …'` when a descriptor limit is asked for) and resolves once it
 * prints where it listens.
 */
export function startServer(
  args: string[] = [],
  options: { fdLimit?: number; transport?: TransportName; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const transport = options.transport === undefined ? [] : ["--transport", options.transport];
  // Human log lines (not JSON, the default on a pipe): the tests match them as an operator reads them.
  // Every connection logged one by one (no flood summary): the tests count connect and disconnect lines.
  const child = spawnCli(["serve", "--port", "0", "--log-format", "pretty", "--log-connections-per-second", "0", ...transport, ...args], {
    stdio: "pipe",
    fdLimit: options.fdLimit,
    env: options.env === undefined ? process.env : { ...process.env, ...options.env },
  }) as ChildProcessWithoutNullStreams;
  const log: string[] = [];
  const watchers = new Set<() => void>();
  let stderrTail = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    const lines = (stderrTail + text).split("\n");
    stderrTail = lines.pop()!;
    log.push(...lines);
    for (const watcher of watchers) watcher();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const waitFor = (check: () => boolean, what: string, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => {
        watchers.delete(watcher);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; log:\n${log.slice(-20).join("\n")}`));
      }, timeoutMs);
      const watcher = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        watchers.delete(watcher);
        resolve();
      };
      watchers.add(watcher);
    });

  return new Promise((resolve, reject) => {
    let stdout = "";
    child.stdout.setEncoding("utf8");
    const onExit = (code: number | null): void =>
      reject(new Error(`server exited (${code}) before listening: ${log.join("\n")} ${stderrTail}`));
    child.once("exit", onExit);
    child.stdout.on("data", (text: string) => {
      stdout += text;
      const match = LISTENING.exec(stdout);
      if (!match) return;
      child.stdout.removeAllListeners("data");
      child.stdout.resume();
      child.off("exit", onExit);
      resolve({
        port: Number(match[1]),
        pid: child.pid!,
        child,
        log,
        async waitForLog(pattern, timeoutMs = 10_000) {
          await waitFor(() => log.some((line) => pattern.test(line)), String(pattern), timeoutMs);
          return log.find((line) => pattern.test(line))!;
        },
        waitForLogCount(pattern, count, timeoutMs = 10_000) {
          return waitFor(() => log.filter((line) => pattern.test(line)).length >= count, `${count} × ${pattern}`, timeoutMs);
        },
        rss: () => rssOf(child.pid!),
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
            const code = await exited;
            clearTimeout(timer);
            return code;
          }
          return child.exitCode;
        },
      });
    });
  });
}

/** VmRSS of a process, in bytes, from /proc/PID/status. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!kib) throw new Error(`no VmRSS for ${pid}`);
  return Number(kib[1]) * 1024;
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
  private waiter: (() => void) | null = null;
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

  private until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (done()) {
          resolve();
          return true;
        }
        if (this.ended || this.error) {
          reject(this.error ?? new Error(`connection ended while waiting for ${what}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiter = () => {
        if (check()) {
          clearTimeout(timer);
          this.waiter = null;
        }
      };
    });
  }

  private wake(): void {
    this.waiter?.();
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

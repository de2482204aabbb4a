/**
 * Runs the real `name-echo` command as a child process: spawn it, read what
 * it prints, and make sure every process a test started is gone when the
 * test ends.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Changes, waitFor } from "./wait.js";

/** The repository's bin/name-echo (tests run from dist/test/…). */
export const BIN = fileURLToPath(new URL("../../../bin/name-echo", import.meta.url));

/** What `serve` prints once it listens; group 1 is the port. */
export const LISTENING = /listening on \S+:(\d+)/;

/**
 * The one way tests launch `name-echo ARGS…` as a child process: on this
 * Node (process.execPath, so scripts/test-on-node.sh tests the Node under
 * test), optionally under `ulimit -n fdLimit` (through sh), optionally with
 * flags for node itself (`nodeFlags`, e.g. the permission model's).
 */
export function spawnCli(args: string[], options: SpawnOptions & { fdLimit?: number; nodeFlags?: string[] } = {}): ChildProcess {
  const { fdLimit, nodeFlags = [], ...spawnOptions } = options;
  const argv = [...nodeFlags, BIN, ...args];
  return fdLimit === undefined
    ? spawn(process.execPath, argv, spawnOptions)
    : spawn("sh", ["-c", `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, ...argv], spawnOptions);
}

/** `name-echo ARGS…` as one shell command line, for a terminal (tmux) or `script` to run. */
export function cliCommandLine(args: string[]): string {
  const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;
  return [process.execPath, BIN, ...args].map(quote).join(" ");
}

export const REPO = fileURLToPath(new URL("../../../", import.meta.url));

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Fires on every chunk of output and at exit: what waits on this process checks again. */
  changes: Changes;
  /** Resolves when the process has exited. */
  finished: Promise<Finished>;
  /** Resolves with the exit code once it has exited; kills it (SIGKILL) and rejects if that takes longer than `timeoutMs`. */
  exited(timeoutMs: number): Promise<number | null>;
  /** Kills it (SIGKILL) if it is still running; used in cleanup. */
  kill(): void;
}

export interface CliOptions extends SpawnOptions {
  /** Written to its stdin, which is then closed. */
  input?: string | Buffer;
  nodeFlags?: string[];
  fdLimit?: number;
  /** Killed (SIGKILL) if still running after this long: a command that should stop at once and does not fails its test. */
  timeoutMs?: number;
}

/** Runs `name-echo ARGS…`, collecting stdout and stderr; `input` is written to its stdin. */
export function runCli(args: string[], options: CliOptions = {}): Running {
  const { input, timeoutMs, ...spawnOptions } = options;
  const child = spawnCli(args, { stdio: ["pipe", "pipe", "pipe"], ...spawnOptions });
  const changes = new Changes();
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
    changes.changed();
  });
  child.stderr!.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
    changes.changed();
  });
  child.on("exit", () => changes.changed());
  // A child that exits before reading all of its stdin is not a test failure by itself.
  child.stdin?.on("error", () => {});
  if (input !== undefined) child.stdin!.end(input);
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const killer = timeoutMs === undefined ? undefined : setTimeout(kill, timeoutMs);
  const finished = (async (): Promise<Finished> => {
    const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
    clearTimeout(killer);
    return { code, signal, stdout, stderr };
  })();
  const exited = async (ms: number): Promise<number | null> => {
    try {
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, "the process to exit", {
        timeoutMs: ms,
        changes,
        seen: () => stderr,
      });
    } catch (error) {
      kill();
      throw error;
    }
    return child.exitCode;
  };
  return { child, stdout: () => stdout, stderr: () => stderr, changes, finished, exited, kill };
}

/**
 * Waits until `read()` matches `pattern`, failing after `timeoutMs` (or at
 * once if `running` exits first); returns the match.
 */
export function waitForOutput(running: Running, read: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const { child } = running;
  return waitFor(() => pattern.exec(read()), String(pattern), {
    timeoutMs,
    changes: running.changes,
    seen: read,
    failIf: () =>
      child.exitCode !== null || child.signalCode !== null
        ? new Error(`process exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${read()}\nstderr: ${running.stderr()}`)
        : undefined,
  });
}

export interface RunningServe extends Running {
  port: number;
  pid: number;
  /** Every complete stderr line so far (the operator's log). */
  readonly log: readonly string[];
  /** Resolves with the first log line (already written or future) that matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once `count` log lines match. */
  waitForLogCount(pattern: RegExp, count: number, timeoutMs?: number): Promise<void>;
  /** Resident memory of the server process, in bytes. */
  rss(): number;
  /** Sends SIGTERM (if still running), then SIGKILL if it has not gone after 15 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * The child-process server: starts `name-echo serve --port 0 ...` and
 * resolves once it listens, with its port.
 */
export async function startServe(extra: string[] = [], options: CliOptions = {}): Promise<RunningServe> {
  const running = runCli(["serve", "--port", "0", ...extra], options);
  try {
    const match = await waitForOutput(running, running.stdout, LISTENING, 10_000);
    // The log's lines, split as they are asked for, each chunk of stderr once.
    const lines: string[] = [];
    let splitUpTo = 0;
    const log = (): string[] => {
      const stderr = running.stderr();
      const end = stderr.lastIndexOf("\n");
      if (end >= splitUpTo) {
        lines.push(...stderr.slice(splitUpTo, end).split("\n"));
        splitUpTo = end + 1;
      }
      return lines;
    };
    const stop = async (): Promise<number | null> => {
      if (running.child.exitCode === null && running.child.signalCode === null) {
        running.child.kill("SIGTERM");
        const timer = setTimeout(running.kill, 15_000);
        const { code } = await running.finished;
        clearTimeout(timer);
        return code;
      }
      return running.child.exitCode;
    };
    return {
      ...running,
      port: Number(match[1]),
      pid: running.child.pid!,
      get log() {
        return log();
      },
      async waitForLog(pattern, timeoutMs = 10_000) {
        const seen = (): string => log().slice(-20).join("\n");
        return waitFor(() => log().find((line) => pattern.test(line)), String(pattern), { timeoutMs, changes: running.changes, seen });
      },
      async waitForLogCount(pattern, count, timeoutMs = 10_000) {
        const seen = (): string => log().slice(-20).join("\n");
        await waitFor(() => log().filter((line) => pattern.test(line)).length >= count, `${count} × ${pattern}`, {
          timeoutMs,
          changes: running.changes,
          seen,
        });
      },
      rss: () => rssOf(running.child.pid!),
      stop,
    };
  } catch (error) {
    running.kill();
    throw error;
  }
}

/** VmRSS of a process, in bytes, from /proc/PID/status. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!kib) throw new Error(`no VmRSS for ${pid}`);
  return Number(kib[1]) * 1024;
}

/** The pids of a process's children (a `serve --workers` primary's workers), from /proc; none once it is gone. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether a process with this pid is still there (signal 0 tests for it without signalling). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

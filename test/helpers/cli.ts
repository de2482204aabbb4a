/**
 * Runs the real `name-echo` command as a child process: spawn it, read what
 * it prints, and make sure every process a test started is gone when the
 * test ends.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

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
  /** Resolves when the process has exited. */
  finished: Promise<Finished>;
  /** Kills it (SIGKILL) if it is still running; used in cleanup. */
  kill(): void;
}

/** Runs `name-echo ARGS…`, collecting stdout and stderr; `input` is written to its stdin. */
export function runCli(args: string[], options: SpawnOptions & { input?: string | Buffer; nodeFlags?: string[]; fdLimit?: number } = {}): Running {
  const child = spawnCli(args, { stdio: ["pipe", "pipe", "pipe"], ...options });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  // A child that exits before reading all of its stdin is not a test failure by itself.
  child.stdin!.on("error", () => {});
  if (options.input !== undefined) child.stdin!.end(options.input);
  const finished = (async (): Promise<Finished> => {
    const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout, stderr };
  })();
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    finished,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** Waits until `read()` matches `pattern`, failing after `timeoutMs`; returns the match. */
export async function waitForOutput(read: () => string, pattern: RegExp, timeoutMs: number, child?: ChildProcess): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(read());
    if (match) return match;
    if (child && child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before printing ${pattern}:\n${read()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; got:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface RunningServe extends Running {
  port: number;
  /** Sends SIGTERM (if still running) and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `name-echo serve --port 0 ...` and resolves once it listens, with its port. */
export async function startServe(extra: string[] = [], options: SpawnOptions & { nodeFlags?: string[] } = {}): Promise<RunningServe> {
  const running = runCli(["serve", "--port", "0", ...extra], options);
  try {
    const match = await waitForOutput(running.stdout, LISTENING, 10_000, running.child);
    const stop = async (): Promise<number | null> => {
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill("SIGTERM");
      return (await running.finished).code;
    };
    return { ...running, port: Number(match[1]), stop };
  } catch (error) {
    running.kill();
    throw error;
  }
}

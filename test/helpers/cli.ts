/**
 * Runs the real `name-echo` command as a child process: spawn it, read what
 * it prints, and make sure every process a test started is gone when the
 * test ends.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { once } from "node:events";
import * as net from "node:net";
import { fileURLToPath } from "node:url";

/** The repository's bin/name-echo (tests run from dist/test/…). */
export const BIN = fileURLToPath(new URL("../../../bin/name-echo", import.meta.url));

export interface RunningServer {
  child: ChildProcess;
  port: number;
  output: () => string;
  /** Sends SIGTERM (if still running) and resolves with the exit code. */
  stop: () => Promise<number | null>;
}

/** Starts `name-echo serve --port 0 …` and resolves once it says where it listens. */
export function startServerProcess(args: string[] = [], ms = 10_000): Promise<RunningServer> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the server did not start in ${ms} ms; it printed:\n${output}`));
    }, ms);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on \S+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), output: () => output, stop });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening; it printed:\n${output}`));
    });
  });
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

export function runCli(args: string[], options: SpawnOptions & { input?: string | Buffer } = {}): Running {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"], ...options });
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

/** Starts `name-echo serve --port 0 ...` and resolves once it listens, with its port. */
export async function startServe(extra: string[] = [], options: SpawnOptions = {}): Promise<Running & { port: number }> {
  const running = runCli(["serve", "--port", "0", ...extra], options);
  try {
    const match = await waitForOutput(running.stdout, /listening on 127\.0\.0\.1:(\d+)/, 10_000, running.child);
    return { ...running, port: Number(match[1]) };
  } catch (error) {
    running.kill();
    throw error;
  }
}

/** Whether nothing listens on 127.0.0.1:port: we can bind it ourselves (and let it go again). */
export async function portIsFree(port: number): Promise<boolean> {
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen({ host: "127.0.0.1", port, exclusive: true }, resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    if (probe.listening) await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 that nothing listens on right now (bound on port 0, then released). */
export async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Runs the real `name-echo` command as a child process. */
import { spawn, type ChildProcess } from "node:child_process";
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

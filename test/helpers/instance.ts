/** A real `name-echo serve` process, its JSON log lines collected for assertions. */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { LISTENING, spawnCli } from "./cli.js";

export interface LogRecord {
  level: string;
  msg: string;
  event?: string;
  remote?: string;
  [key: string]: unknown;
}

export class Instance {
  readonly child: ChildProcess;
  readonly logs: LogRecord[] = [];
  stdout = "";
  stderr = "";
  private readonly waiters = new Set<() => void>();

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawnCli(["serve", "--log-format", "json", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let partial = "";
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
      partial += chunk.toString();
      let newline;
      while ((newline = partial.indexOf("\n")) >= 0) {
        const line = partial.slice(0, newline);
        partial = partial.slice(newline + 1);
        try {
          this.logs.push(JSON.parse(line) as LogRecord);
        } catch {
          // Not ours to judge here; kept in this.stderr for the failure message.
        }
      }
      this.wake();
    });
    this.child.stdout!.on("data", (chunk: Buffer) => {
      this.stdout += chunk.toString();
      this.wake();
    });
    this.child.on("exit", () => this.wake());
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves when `check` returns something truthy; rejects after timeoutMs with what was seen. */
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (): boolean => {
        const value = check();
        if (!value) return false;
        clearTimeout(timer);
        this.waiters.delete(tryIt);
        resolve(value);
        return true;
      };
      const tryIt = (): void => void done();
      const timer = setTimeout(() => {
        this.waiters.delete(tryIt);
        reject(new Error(`timed out waiting for ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`));
      }, timeoutMs);
      // A wait that lost a Promise.race must not keep the test process alive.
      timer.unref();
      if (!done()) this.waiters.add(tryIt);
    });
  }

  async listening(): Promise<number> {
    const match = await this.waitFor("'listening on'", () => LISTENING.exec(this.stdout) ?? undefined);
    return Number(match[1]);
  }

  /** The log record for `event` from `remote`, once it is there. */
  logged(event: string, remote: string, timeoutMs = 10_000): Promise<LogRecord> {
    return this.waitFor(`${event} ${remote}`, () => this.logs.find((r) => r.event === event && r.remote === remote), timeoutMs);
  }

  exited(timeoutMs = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return this.waitFor("exit", () => (this.child.exitCode !== null ? { code: this.child.exitCode } : undefined), timeoutMs).then((r) => r.code);
  }

  /** Kills the process if it is still running (only this child, by its own handle). */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGKILL");
    await once(this.child, "exit");
  }
}

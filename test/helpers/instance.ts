/** A real `name-echo serve` process, its JSON log lines collected for assertions. */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { after } from "node:test";
import { LISTENING, runCli, type Running } from "./cli.js";
import { waitFor } from "./wait.js";

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
  private readonly running: Running;
  private parsedUpTo = 0;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.running = runCli(["serve", "--log-format", "json", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    this.child = this.running.child;
    // Parsed before any wait checks again: this subscription is the first.
    this.running.changes.subscribe(() => this.parseLogs());
  }

  get stdout(): string {
    return this.running.stdout();
  }

  get stderr(): string {
    return this.running.stderr();
  }

  private parseLogs(): void {
    const stderr = this.running.stderr();
    let newline;
    while ((newline = stderr.indexOf("\n", this.parsedUpTo)) >= 0) {
      const line = stderr.slice(this.parsedUpTo, newline);
      this.parsedUpTo = newline + 1;
      try {
        this.logs.push(JSON.parse(line) as LogRecord);
      } catch {
        // Not ours to judge here; kept in this.stderr for the failure message.
      }
    }
  }

  /** Resolves when `check` returns something truthy; rejects after timeoutMs with what was seen. */
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
    return waitFor(check, what, {
      timeoutMs,
      changes: this.running.changes,
      seen: () => `stdout: ${this.stdout}\nstderr: ${this.stderr}`,
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

/** Call inside a describe(): a way to start Instances that are all killed when the suite ends. */
export function instancesOfSuite(): (args: string[], env?: NodeJS.ProcessEnv) => Instance {
  const instances: Instance[] = [];
  after(async () => {
    for (const instance of instances) await instance.kill();
  });
  return (args, env = {}) => {
    const instance = new Instance(args, env);
    instances.push(instance);
    return instance;
  };
}

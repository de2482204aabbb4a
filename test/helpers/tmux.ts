/**
 * A real terminal for end-to-end tests: a private tmux server per instance
 * (its own -L socket and no config file, so tests never see or touch anyone
 * else's tmux), keys sent with send-keys, the screen read with capture-pane.
 * One server can hold several sessions; `session` names which one (default
 * "test").
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "./wait.js";

const execFileAsync = promisify(execFile);

export interface StartOptions {
  /** Session name (default "test"). */
  session?: string;
  /** Working directory of the command. */
  cwd?: string;
  width?: number;
  height?: number;
  /** Keep the pane after the program exits, so its last words and exit status can be read. */
  remainOnExit?: boolean;
}

export class Tmux {
  readonly socket = `name-echo-test-${process.pid}-${randomBytes(4).toString("hex")}`;
  private started = false;

  /** `env`: extra environment for the tmux server (e.g. TERM). */
  constructor(private readonly env: NodeJS.ProcessEnv = {}) {}

  /** Runs one tmux command against this private server; resolves with its stdout. */
  async run(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync("tmux", ["-L", this.socket, "-f", "/dev/null", ...args], {
      env: { ...process.env, TMUX: "", ...this.env },
    });
    return stdout;
  }

  /** Starts `command` (a shell command line) in a new detached session. */
  async start(command: string, options: StartOptions = {}): Promise<void> {
    const { session = "test", cwd, width = 120, height = 40 } = options;
    this.started = true;
    await this.run("new-session", "-d", "-s", session, "-x", String(width), "-y", String(height), ...(cwd ? ["-c", cwd] : []), command);
    if (options.remainOnExit) await this.run("set-option", "-t", session, "remain-on-exit", "on");
  }

  /** Key names as tmux spells them: "Escape", "Up", "F1", "BSpace", "C-c", "C-]", "M-x", "Enter", or literal text with literal = true. */
  async sendKeys(keys: string[], literal = false, session = "test"): Promise<void> {
    await this.run("send-keys", "-t", session, ...(literal ? ["-l"] : []), ...keys);
  }

  /** The pane's text: the screen and up to 200 lines of scrollback, wrapped lines joined. */
  capture(session = "test"): Promise<string> {
    return this.run("capture-pane", "-p", "-J", "-t", session, "-S", "-200");
  }

  /** Whether the program in the pane has exited, and its exit status (needs remainOnExit). */
  async paneStatus(session = "test"): Promise<{ dead: boolean; status: number | null }> {
    const [dead, status] = (await this.run("display-message", "-p", "-t", session, "#{pane_dead} #{pane_dead_status}")).trim().split(" ");
    return { dead: dead === "1", status: status ? Number(status) : null };
  }

  /** Polls the screen until `ready` holds, failing with the screen after `timeoutMs`; returns that screen. */
  async waitUntil(ready: (screen: string) => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, session = "test"): Promise<string> {
    let screen = "";
    return waitFor(
      async () => {
        screen = await this.capture(session);
        return (await ready(screen)) && { screen };
      },
      what,
      { timeoutMs, intervalMs: 20, seen: () => `screen:\n${screen}` },
    ).then((seen) => seen.screen);
  }

  /** Polls the screen until `pattern` matches; returns the match (its `input` is the screen). */
  async waitFor(pattern: RegExp, timeoutMs = 10_000, session = "test"): Promise<RegExpMatchArray> {
    const screen = await this.waitUntil((text) => pattern.test(text), String(pattern), timeoutMs, session);
    return pattern.exec(screen)!;
  }

  /** Ends the private tmux server and every program in it (they get SIGHUP), and removes its socket file. */
  async kill(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.run("kill-server").catch(() => {});
    const dir = process.env.TMUX_TMPDIR ?? "/tmp";
    rmSync(join(dir, `tmux-${process.getuid?.() ?? 0}`, this.socket), { force: true });
  }
}

/**
 * A private tmux server per test: a real terminal (pty) for the Esc key,
 * raw mode and the interactive client. Each instance has its own socket
 * name (-L), so it never sees or touches anyone else's tmux sessions.
 */
import { execFile, execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
let counter = 0;

/** Why tmux tests cannot run here, or null when they can. */
export function tmuxMissing(): string | null {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return null;
  } catch {
    return "tmux is not installed (apt-get install tmux); the real-terminal tests need it";
  }
}

/**
 * The `skip` option for a test that needs tmux: skipped with the reason
 * normally, but under CI=true a missing tmux is a failure, not a skip.
 */
export function tmuxSkip(): string | false {
  const missing = tmuxMissing();
  if (missing === null) return false;
  if (process.env.CI === "true") throw new Error(`CI=true and ${missing}`);
  return missing;
}

export class TmuxPane {
  readonly socket = `name-echo-client-e2e-${process.pid}-${Date.now()}-${counter++}`;
  private started = false;

  /** Starts one window running `command` (through sh) in `cwd`. */
  async start(command: string, cwd: string): Promise<void> {
    await this.tmux("new-session", "-d", "-s", "test", "-x", "120", "-y", "40", "-c", cwd, command);
    this.started = true;
  }

  /** Key names as tmux spells them: "Escape", "Up", "F1", "C-c", "M-x", "Enter", or literal text with literal = true. */
  async sendKeys(keys: string[], literal = false): Promise<void> {
    await this.tmux("send-keys", "-t", "test", ...(literal ? ["-l"] : []), ...keys);
  }

  async capture(): Promise<string> {
    const { stdout } = await this.tmux("capture-pane", "-p", "-J", "-t", "test", "-S", "-200");
    return stdout;
  }

  /** Polls the screen until `pattern` matches, failing after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    for (;;) {
      screen = await this.capture();
      const match = pattern.exec(screen);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; screen:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Ends the tmux server and with it everything it runs (they get SIGHUP). */
  async kill(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.tmux("kill-server").catch(() => {});
    // tmux leaves its socket file behind; it is ours alone, so remove it.
    const dir = process.env.TMUX_TMPDIR ?? "/tmp";
    rmSync(join(dir, `tmux-${process.getuid?.() ?? 0}`, this.socket), { force: true });
  }

  private tmux(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run("tmux", ["-L", this.socket, "-f", "/dev/null", ...args], { env: { ...process.env, TMUX: "" } });
  }
}

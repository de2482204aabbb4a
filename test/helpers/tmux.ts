/**
 * A real terminal for end-to-end tests: a private tmux server (its own -L
 * socket, so tests never touch anyone else's tmux), keys sent with
 * send-keys, the screen read with capture-pane.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export class Tmux {
  readonly socketName = `name-echo-test-${process.pid}-${randomBytes(3).toString("hex")}`;

  private run(args: string[]): string {
    return execFileSync("tmux", ["-L", this.socketName, ...args], { encoding: "utf8" });
  }

  /** Starts `command` (a shell command line) in a new detached session named `name`. */
  start(name: string, command: string, size = { width: 120, height: 40 }): void {
    this.run(["new-session", "-d", "-s", name, "-x", String(size.width), "-y", String(size.height), command]);
    // Keep the pane after the program exits so its last words can still be read.
    this.run(["set-option", "-t", name, "remain-on-exit", "on"]);
  }

  /** Types text literally (no key-name lookup). */
  type(name: string, text: string): void {
    this.run(["send-keys", "-t", name, "-l", text]);
  }

  /** Presses named keys: Enter, Escape, Up, BSpace, C-c, C-], … */
  press(name: string, ...keys: string[]): void {
    this.run(["send-keys", "-t", name, ...keys]);
  }

  screen(name: string): string {
    return this.run(["capture-pane", "-p", "-t", name]);
  }

  /** Whether the program in the pane has exited, and its exit status. */
  paneStatus(name: string): { dead: boolean; status: number | null } {
    const [dead, status] = this.run(["display-message", "-p", "-t", name, "#{pane_dead} #{pane_dead_status}"]).trim().split(" ");
    return { dead: dead === "1", status: status ? Number(status) : null };
  }

  /** Polls the screen until `predicate` holds; throws with the screen after `ms`. */
  async waitForScreen(name: string, predicate: (screen: string) => boolean, what: string, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const screen = this.screen(name);
      if (predicate(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen shows:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  waitForText(name: string, text: string, ms?: number): Promise<string> {
    return this.waitForScreen(name, (screen) => screen.includes(text), JSON.stringify(text), ms);
  }

  /** Ends the private tmux server and every program in it. */
  kill(): void {
    try {
      this.run(["kill-server"]);
    } catch {
      // Already gone.
    }
  }
}

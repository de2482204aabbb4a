/**
 * One client program (telnet, busybox telnet, plink, telnet-client…) in one
 * tmux session, seen as a person sees it: keys in, screen rows out, and the
 * terminal mode the program set (cooked while it edits lines itself, raw
 * while the server echoes), so a test can wait for a mode switch instead of
 * sleeping.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Tmux } from "./tmux.js";
import { waitFor } from "./wait.js";

const execFileAsync = promisify(execFile);

export class ClientPane {
  private constructor(
    readonly tmux: Tmux,
    readonly session: string,
  ) {}

  /** Starts `command` in a new session (by default wide enough that no line wraps) and waits until `ready` holds for its screen. */
  static async open(
    tmux: Tmux,
    session: string,
    command: string,
    ready: (rows: string[]) => boolean,
    what: string,
    options: { remainOnExit?: boolean; width?: number; height?: number } = {},
  ): Promise<ClientPane> {
    await tmux.start(command, { session, width: 160, height: 50, ...options });
    // Tests end their sessions one by one; the tmux server must outlive the
    // last of them, or the next test's new-session races its exit.
    await tmux.run("set-option", "-s", "exit-empty", "off");
    const pane = new ClientPane(tmux, session);
    await pane.waitFor(ready, what);
    return pane;
  }

  /** Keys as tmux names them ("Enter", "BSpace", "Left", "Home", "DC", "C-c", "C-]"). */
  keys(...keys: string[]): Promise<void> {
    return this.tmux.sendKeys(keys, false, this.session);
  }

  /** Literal text, typed as one burst (the program may read it in one go, as from a fast typist or a paste). */
  type(text: string): Promise<void> {
    return this.tmux.sendKeys([text], true, this.session);
  }

  async rows(): Promise<string[]> {
    return screenRows(await this.tmux.capture(this.session));
  }

  /** Polls the screen (bounded) until `ready` holds for its rows; the failure shows the screen. */
  async waitFor(ready: (rows: string[]) => boolean, what: string, timeoutMs = 5000): Promise<string[]> {
    return screenRows(await this.tmux.waitUntil((screen) => ready(screenRows(screen)), what, timeoutMs, this.session));
  }

  /**
   * The visible screen row by row as the terminal has it: a line that
   * wrapped stays on its rows (rows() joins them), trailing blanks trimmed,
   * empty rows at the end dropped.
   */
  async screenAsShown(): Promise<string[]> {
    return screenRows(await this.tmux.run("capture-pane", "-p", "-t", this.session));
  }

  /** The cursor's row on the visible screen (0 = the top) and column. */
  async cursor(): Promise<{ row: number; column: number }> {
    const [column, row] = (await this.tmux.run("display-message", "-p", "-t", this.session, "#{cursor_x},#{cursor_y}")).trim().split(",").map(Number);
    return { row: row!, column: column! };
  }

  /** The cursor's column (0 = the left edge), where the next typed character will appear. */
  async cursorColumn(): Promise<number> {
    return Number((await this.tmux.run("display-message", "-p", "-t", this.session, "#{cursor_x}")).trim());
  }

  /** Waits until the last row is exactly `row` (where the cursor is while typing); returns the rows. */
  waitForLastRow(row: string, timeoutMs = 5000): Promise<string[]> {
    return this.waitFor((rows) => rows.at(-1) === row, `the last row to read ${JSON.stringify(row)}`, timeoutMs);
  }

  /**
   * Types `text`, erases its last character with Backspace and presses Enter,
   * waiting for the screen after each step; returns the rows once the reply
   * to what is left (`… Ali`) is the last one.
   */
  async typeEraseAndSubmit(text: string): Promise<string[]> {
    const left = [...text].slice(0, -1).join("");
    await this.type(text);
    await this.waitForLastRow(text);
    await this.keys("BSpace");
    await this.waitForLastRow(left);
    await this.keys("Enter");
    return this.waitFor((rows) => rows.at(-1) === `${left} Ali`, "the reply");
  }

  /** Waits until the program has made its terminal "raw" or "cooked" (see waitForTerminalMode below). */
  waitForTerminalMode(mode: "raw" | "cooked", timeoutMs = 5000): Promise<void> {
    return waitForTerminalMode(this.tmux, this.session, mode, timeoutMs);
  }
}

/** The screen, one entry per row, trailing blanks trimmed, empty rows at the end dropped. */
export function screenRows(screen: string): string[] {
  const rows = screen.split("\n").map((row) => row.trimEnd());
  while (rows.length > 0 && rows.at(-1) === "") rows.pop();
  return rows;
}

/** The rows from the last one equal to `first` on (empty when there is none): what a test typed and got back. */
export function rowsFrom(rows: string[], first: string): string[] {
  const at = rows.lastIndexOf(first);
  return at < 0 ? [] : rows.slice(at);
}

/**
 * Polls the terminal settings of `session`'s pane until the program in it
 * has made them "raw" (no canonical editing, no local echo: each key goes to
 * the program as typed) or "cooked" (the terminal edits and echoes the line).
 */
export async function waitForTerminalMode(tmux: Tmux, session: string, mode: "raw" | "cooked", timeoutMs = 5000): Promise<void> {
  const tty = (await tmux.run("display-message", "-p", "-t", session, "#{pane_tty}")).trim();
  let stdout = "";
  await waitFor(
    async () => {
      stdout = (await execFileAsync("stty", ["-F", tty, "-a"])).stdout;
      const flags = new Set(stdout.split(/[\s;]+/));
      const raw = flags.has("-icanon") && flags.has("-echo");
      const cooked = flags.has("icanon") && flags.has("echo");
      return mode === "raw" ? raw : cooked;
    },
    `a ${mode} terminal`,
    { timeoutMs, intervalMs: 20, seen: () => `stty says:\n${stdout}` },
  );
}

/**
 * The real `telnet` program, driven through tmux: what a person at a
 * terminal sees, in line mode and in character mode (Ctrl-] `mode
 * character`), with Backspace and Ctrl-C. Each test opens its own telnet in
 * its own tmux session on a tmux server of our own (-L), so no other tmux is
 * touched; after() kills that tmux server (and with it every telnet) and
 * the name-echo server.
 *
 * Without telnet or tmux the tests are skipped, except under CI=true where
 * a missing tool is a failure.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { once } from "node:events";
import { NameEchoServer, type TcpConnection } from "../../src/index.js";
import { waitForTerminalMode } from "../helpers/client-pane.js";
import { Tmux } from "../helpers/tmux.js";
import { requireCommands } from "../helpers/tools.js";
import { TRANSPORTS } from "../helpers/transports.js";
import { waitFor } from "../helpers/wait.js";

const tmux = new Tmux({ TERM: "xterm-256color" });

/** One telnet in one tmux session (window size fixed so lines do not wrap). */
class TelnetPane {
  private constructor(
    readonly target: string,
    /** The server's end of this telnet's connection. */
    private readonly connection: TcpConnection,
  ) {}

  static async open(name: string, server: NameEchoServer): Promise<TelnetPane> {
    const accepted = once(server, "connection") as Promise<[TcpConnection]>;
    await tmux.start(`telnet 127.0.0.1 ${server.address!.port}`, { session: name, width: 160, height: 50 });
    const pane = new TelnetPane(name, (await accepted)[0]);
    await pane.waitFor((screen) => screen.some((row) => row.startsWith("Escape character is")), "telnet to connect");
    return pane;
  }

  /** Keys as tmux names them ("Enter", "BSpace", "C-c", "C-]") or literal text with literal=true. */
  async keys(keys: string[], literal = false): Promise<void> {
    await tmux.sendKeys(keys, literal, this.target);
  }

  type(text: string): Promise<void> {
    return this.keys([text], true);
  }

  /** Polls the screen (bounded) until `ready` holds for its rows; the failure shows the screen. */
  async waitFor(ready: (screen: string[]) => boolean, what: string, timeoutMs = 5000): Promise<string[]> {
    return rows(await tmux.waitUntil((screen) => ready(rows(screen)), what, timeoutMs, this.target));
  }

  /** Ctrl-] then `mode character`, and wait until the server's echo is on (typing shows). */
  async characterMode(): Promise<void> {
    await this.keys(["C-]"]);
    await this.waitFor((s) => s.at(-1)?.startsWith("telnet>") === true, "the telnet> prompt");
    await this.type("mode character");
    await this.keys(["Enter"]);
    // Keys typed before telnet has made its terminal raw would be echoed twice.
    await waitForTerminalMode(tmux, this.target, "raw");
    // The server echoes once telnet has agreed to WILL ECHO, and telnet stops
    // echoing locally before it says so: only then is what shows the server's echo.
    await waitFor(() => this.connection.echoing, "telnet to agree to the server's echo", { timeoutMs: 5000 });
  }
}

/** The screen, one entry per row, trailing blanks trimmed, empty rows at the end dropped. */
function rows(screen: string): string[] {
  const rows = screen.split("\n").map((row) => row.trimEnd());
  while (rows.length > 0 && rows.at(-1) === "") rows.pop();
  return rows;
}

const rowsEqual = (screen: string[], row: string): number => screen.filter((r) => r === row).length;

for (const transport of TRANSPORTS)
  describe(`the real telnet client (${transport} transport)`, () => {
    let server: NameEchoServer;
    let sessions = 0;
    const open = (): Promise<TelnetPane> => TelnetPane.open(`t${sessions++}`, server);

    before(async () => {
      server = new NameEchoServer({ port: 0, name: "Ali", transport });
      await server.listen();
    });

    after(async () => {
      // Kills every telnet we started with it; fails harmlessly if none was started.
      await tmux.kill();
      await server.destroy();
    });

    test("line mode: each line gets its reply", { timeout: 20000 }, async (t) => {
      if (!requireCommands(t, "telnet", "tmux")) return;
      const pane = await open();
      await pane.type("Hello");
      await pane.keys(["Enter"]);
      // Wait for the reply before typing on: otherwise the reply may land in
      // the middle of the next line as telnet's local echo draws it.
      await pane.waitFor((s) => s.includes("Hello Ali"), "the first reply");
      await pane.type("two words");
      await pane.keys(["Enter"]);
      const screen = await pane.waitFor((s) => s.includes("two words Ali"), "the second reply");
      const from = screen.indexOf("Hello");
      assert.deepEqual(screen.slice(from), ["Hello", "Hello Ali", "two words", "two words Ali"]);
    });

    test("character mode: typed text is visible and each Enter gets exactly one reply", { timeout: 20000 }, async (t) => {
      if (!requireCommands(t, "telnet", "tmux")) return;
      const pane = await open();
      await pane.characterMode();
      // In character mode telnet does not echo: what shows is the server's echo.
      await pane.type("abc");
      await pane.waitFor((s) => s.at(-1) === "abc", "the echo of abc");
      await pane.keys(["Enter"]);
      await pane.waitFor((s) => s.includes("abc Ali"), "the reply to abc");
      await pane.type("x");
      await pane.keys(["Enter"]);
      await pane.keys(["Enter"]);
      const screen = await pane.waitFor((s) => rowsEqual(s, "Ali") === 1, "the reply to the empty line");
      const from = screen.indexOf("abc");
      assert.deepEqual(screen.slice(from), ["abc", "abc Ali", "x", "x Ali", "", "Ali"]);
    });

    test("character mode: Helpx, Backspace twice, lo, Enter shows Hello then exactly one Hello Ali", { timeout: 20000 }, async (t) => {
      if (!requireCommands(t, "telnet", "tmux")) return;
      const pane = await open();
      await pane.characterMode();
      await pane.type("Helpx");
      await pane.waitFor((s) => s.at(-1) === "Helpx", "Helpx typed");
      await pane.keys(["BSpace", "BSpace"]);
      await pane.waitFor((s) => s.at(-1) === "Hel", "two characters erased");
      await pane.type("lo");
      await pane.keys(["Enter"]);
      const screen = await pane.waitFor((s) => s.includes("Hello Ali"), "the reply");
      const from = screen.indexOf("Hello");
      assert.deepEqual(screen.slice(from), ["Hello", "Hello Ali"]);
      assert.equal(rowsEqual(screen, "Hello Ali"), 1);
    });

    test("Ctrl-C in line mode does not freeze the session", { timeout: 20000 }, async (t) => {
      if (!requireCommands(t, "telnet", "tmux")) return;
      const pane = await open();
      // telnet sends IAC IP IAC DO TIMING-MARK and shows nothing until the answer.
      await pane.type("abandoned");
      await pane.keys(["C-c"]);
      await pane.type("after");
      await pane.keys(["Enter"]);
      const screen = await pane.waitFor((s) => s.includes("after Ali"), "the reply after Ctrl-C");
      assert.equal(
        screen.some((row) => row.includes("abandoned Ali")),
        false,
      );
    });

    test("Ctrl-C in character mode abandons the line and the next line is answered", { timeout: 20000 }, async (t) => {
      if (!requireCommands(t, "telnet", "tmux")) return;
      const pane = await open();
      await pane.characterMode();
      await pane.type("zz");
      await pane.waitFor((s) => s.at(-1) === "zz", "zz typed");
      await pane.keys(["C-c"]);
      await pane.type("ok");
      await pane.keys(["Enter"]);
      const screen = await pane.waitFor((s) => s.includes("ok Ali"), "the reply after Ctrl-C");
      const from = screen.indexOf("zz^C");
      assert.deepEqual(screen.slice(from), ["zz^C", "ok", "ok Ali"]);
    });

    test("back to line mode: telnet echoes, the server does not (no doubled text)", { timeout: 20000 }, async (t) => {
      if (!requireCommands(t, "telnet", "tmux")) return;
      const pane = await open();
      await pane.characterMode();
      await pane.type("c");
      await pane.waitFor((s) => s.at(-1) === "c", "server echo on");
      await pane.keys(["Enter"]);
      await pane.waitFor((s) => s.includes("c Ali"), "the reply in character mode");
      await pane.keys(["C-]"]);
      await pane.waitFor((s) => s.at(-1)?.startsWith("telnet>") === true, "the telnet> prompt");
      await pane.type("mode line");
      await pane.keys(["Enter"]);
      await pane.type("lined");
      await pane.keys(["Enter"]);
      const screen = await pane.waitFor((s) => s.includes("lined Ali"), "the reply in line mode");
      const from = screen.indexOf("lined");
      assert.deepEqual(screen.slice(from), ["lined", "lined Ali"]);
    });
  });

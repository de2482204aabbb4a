/**
 * The server's line editor, as a person at a real character-mode client
 * sees it: PuTTY's plink (character mode from the start), inetutils telnet
 * after `mode character` and `unset escape` (so every UTF-8 byte is data)
 * and busybox telnet after its menu's `c`, each in tmux through a recording
 * proxy. For each edit the screen
 * must show exactly the line the server holds, the cursor where the next
 * key lands, and the reply must be that line plus the name. Notices (the
 * server closing, the idle timeout) start on a fresh line, never glued to a
 * half-typed one.
 *
 * Without a client program or tmux its tests are skipped, except under
 * CI=true where a missing program is a failure.
 */
import * as assert from "node:assert/strict";
import { after, describe, test, type TestContext } from "node:test";
import type { NameEchoServer, NameEchoServerOptions } from "../../src/index.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { ClientPane, rowsFrom } from "../helpers/client-pane.js";
import { characterMode, telnetConnected, unsetEscape } from "../helpers/inetutils-telnet.js";
import { startInProcessServer } from "../helpers/server.js";
import { Tmux } from "../helpers/tmux.js";
import { requireCommands } from "../helpers/tools.js";
import { endsWith, hasOption, telnet, WireTap } from "../helpers/wire-tap.js";
import { waitFor } from "../helpers/wait.js";

const tmux = new Tmux({ TERM: "xterm-256color", LANG: "C.UTF-8" });
const cleanups = cleanupsAfterEach();
after(() => tmux.kill());
let sessions = 0;

/** A character-mode client program: how to start it and bring it to where the server echoes. */
interface Client {
  name: string;
  commands: string[];
  /** Starts the client through `tap` and returns once the server echoes what it types. */
  open(tap: WireTap, session: string, remainOnExit: boolean): Promise<ClientPane>;
}

const plink: Client = {
  name: "plink -telnet",
  commands: ["plink", "tmux"],
  async open(tap, session, remainOnExit) {
    const pane = await ClientPane.open(tmux, session, `plink -telnet -batch -P ${tap.port} 127.0.0.1`, () => true, "plink to start", {
      remainOnExit,
    });
    await tap.untilServer((bytes) => hasOption(bytes, telnet.WILL, telnet.ECHO), "the server's WILL ECHO");
    await pane.waitForTerminalMode("raw");
    return pane;
  },
};

const inetutils: Client = {
  name: "telnet, mode character",
  commands: ["telnet", "tmux"],
  async open(tap, session, remainOnExit) {
    const pane = await ClientPane.open(tmux, session, `telnet 127.0.0.1 ${tap.port}`, telnetConnected, "telnet to connect", { remainOnExit });
    await characterMode(pane, tap);
    // Otherwise the 0x9D in 李 would open telnet's prompt (see inetutils-telnet.test.ts).
    await unsetEscape(pane);
    return pane;
  },
};

const busybox: Client = {
  name: "busybox telnet, character mode",
  commands: ["busybox", "tmux"],
  async open(tap, session, remainOnExit) {
    const pane = await ClientPane.open(
      tmux,
      session,
      `busybox telnet 127.0.0.1 ${tap.port}`,
      (rows) => rows.includes("Connected to 127.0.0.1"),
      "busybox telnet to connect",
      { remainOnExit },
    );
    await pane.waitForTerminalMode("cooked");
    // Its Ctrl-C menu's c asks for character mode (see busybox-telnet.test.ts).
    await pane.keys("C-c");
    await pane.waitFor((rows) => rows.includes("Console escape. Commands are:"), "the console escape menu");
    await pane.type("c");
    await tap.untilServer((bytes) => hasOption(bytes, telnet.WILL, telnet.ECHO), "the server's WILL ECHO");
    await pane.waitForTerminalMode("raw");
    return pane;
  },
};

/** A string is typed as text; an array is tmux key names pressed in order. */
type Step = string | string[];

interface EditCase {
  what: string;
  steps: Step[];
  /** What the line holds, and so the screen's last row, before Enter. */
  line: string;
  /** The cursor's column before Enter (a double-width character counts two). */
  cursor: number;
}

const cases: EditCase[] = [
  { what: "Left, then typing inserts mid-line", steps: ["Helo", ["Left"], "l"], line: "Hello", cursor: 4 },
  { what: "Home, then typing inserts at the start", steps: ["llo", ["Home"], "He"], line: "Hello", cursor: 2 },
  { what: "Ctrl-A and Ctrl-E move to the start and the end", steps: ["ello", ["C-a"], "H", ["C-e"], "!"], line: "Hello!", cursor: 6 },
  { what: "End after Home goes back to the end", steps: ["abc", ["Home", "End"], "d"], line: "abcd", cursor: 4 },
  { what: "Right moves one character on", steps: ["abc", ["Home", "Right"], "X"], line: "aXbc", cursor: 2 },
  { what: "Left at the start of the line stays there", steps: ["ab", ["Home", "Left"], "x"], line: "xab", cursor: 1 },
  { what: "Backspace in the middle erases the character before the cursor", steps: ["abxc", ["Left", "BSpace"]], line: "abc", cursor: 2 },
  { what: "Delete erases the character under the cursor", steps: ["abc", ["Left", "Left", "DC"]], line: "ac", cursor: 1 },
  { what: "Ctrl-U erases the whole line", steps: ["junk", ["C-u"], "ok"], line: "ok", cursor: 2 },
  { what: "Ctrl-U in the middle erases from the start to the cursor", steps: ["junkok", ["Left", "Left", "C-u"]], line: "ok", cursor: 0 },
  { what: "Ctrl-W erases the word before the cursor", steps: ["one two", ["C-w"], "three"], line: "one three", cursor: 9 },
  { what: "Ctrl-K erases from the cursor to the end", steps: ["abcdef", ["Left", "Left", "Left", "C-k"]], line: "abc", cursor: 3 },
  { what: "Ctrl-Y puts back what Ctrl-W killed", steps: ["one two", ["C-w"], "x ", ["C-y"]], line: "one x two", cursor: 9 },
  { what: "Alt-B moves one word back", steps: ["one two", ["M-b"], "X"], line: "one Xtwo", cursor: 5 },
  { what: "Backspace erases a double-width 李 (two columns)", steps: ["a李", ["BSpace"], "b"], line: "ab", cursor: 2 },
  { what: "Left over 李 moves two columns", steps: ["李李", ["Left"], "x"], line: "李x李", cursor: 3 },
  { what: "inserting a Cyrillic letter mid-line", steps: ["Жк", ["Left"], "у"], line: "Жук", cursor: 2 },
  { what: "an escape sequence the editor does not know (F5) never enters the line", steps: ["a", ["F5"], "b"], line: "ab", cursor: 2 },
];

async function openThrough(
  t: TestContext,
  client: Client,
  options: NameEchoServerOptions = {},
  remainOnExit = false,
): Promise<{ pane: ClientPane; tap: WireTap; server: NameEchoServer } | undefined> {
  if (!requireCommands(t, ...client.commands)) return undefined;
  const server = await startInProcessServer(cleanups, { name: "Ali", ...options });
  const tap = await WireTap.open(server.address!.port, cleanups);
  const session = `editor${sessions++}`;
  cleanups.push(() => tmux.run("kill-session", "-t", session).catch(() => {}));
  return { pane: await client.open(tap, session, remainOnExit), tap, server };
}

/**
 * Waits until the last row is `line` and the cursor at `cursor`: the
 * editor's redraw is done. A control key shown as text (`^[[D`, `^U`) in
 * the row being typed (below the `rowsBefore` there were) means the key went
 * into the line instead of editing it: that fails at once.
 */
async function waitForLine(pane: ClientPane, line: string, cursor: number, rowsBefore: number, timeoutMs = 5000): Promise<void> {
  let seen = "";
  await waitFor(
    async () => {
      const rows = await pane.rows();
      const column = await pane.cursorColumn();
      const last = rows.at(-1) ?? "";
      if (last === line && column === cursor) return true;
      seen = `the cursor is at ${column}, the screen:\n${rows.join("\n")}`;
      const typedRow = rows.length > rowsBefore; // not the client's own last words, e.g. "Escape character is '^]'."
      if (typedRow && last.includes("^")) assert.fail(`wanted the last row ${JSON.stringify(line)} with the cursor at ${cursor}; ${seen}`);
      return false;
    },
    `the last row ${JSON.stringify(line)} with the cursor at ${cursor}`,
    { timeoutMs, intervalMs: 20, seen: () => seen },
  );
}

/** The screen, without the line tmux adds when the program has exited. */
const withoutTmuxNote = (rows: string[]): string[] => rows.filter((row) => !row.startsWith("Pane is dead"));

for (const client of [plink, inetutils, busybox]) {
  describe(`the server's line editor, typed at ${client.name}`, () => {
    for (const edit of cases) {
      test(edit.what, { timeout: 20_000 }, async (t) => {
        const opened = await openThrough(t, client);
        if (!opened) return;
        const { pane, tap } = opened;
        const rowsBefore = (await pane.rows()).length;
        for (const step of edit.steps) {
          if (typeof step === "string") await pane.type(step);
          else await pane.keys(...step);
        }
        await waitForLine(pane, edit.line, edit.cursor, rowsBefore);
        await pane.keys("Enter");
        const rows = await pane.waitFor((r) => r.at(-1) === `${edit.line} Ali`, "the reply");
        assert.deepEqual(rowsFrom(rows, edit.line), [edit.line, `${edit.line} Ali`]);
        await tap.untilServer((bytes) => endsWith(bytes, Buffer.from(`\r\n${edit.line} Ali\r\n`)), "the reply, byte-exact, on a line of its own");
      });
    }

    test("the shutdown notice starts on a fresh line, not after the half-typed one", { timeout: 20_000 }, async (t) => {
      const opened = await openThrough(t, client, {}, true);
      if (!opened) return;
      const { pane, server } = opened;
      await pane.type("partial");
      await pane.waitForLastRow("partial");
      await server.close();
      const rows = withoutTmuxNote(await pane.waitFor((r) => r.some((row) => row.includes("closing:")), "the notice"));
      assert.deepEqual(rowsFrom(rows, "partial").slice(0, 2), ["partial", "closing: the server is shutting down"], `the screen:\n${rows.join("\n")}`);
    });

    test("the idle notice starts on a fresh line, not after the half-typed one", { timeout: 20_000 }, async (t) => {
      const opened = await openThrough(t, client, { idleTimeout: 2 }, true);
      if (!opened) return;
      const { pane } = opened;
      await pane.type("partial");
      await pane.waitForLastRow("partial");
      const rows = withoutTmuxNote(await pane.waitFor((r) => r.some((row) => row.includes("closing:")), "the idle notice", 10_000));
      assert.deepEqual(rowsFrom(rows, "partial").slice(0, 2), ["partial", "closing: no input for 2 seconds"], `the screen:\n${rows.join("\n")}`);
    });
  });
}

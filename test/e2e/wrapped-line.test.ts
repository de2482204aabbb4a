/**
 * A line longer than the terminal is wide, edited in the middle, in a
 * narrow tmux pane with real clients in character mode: plink (which offers
 * NAWS at connect) and inetutils telnet (which agrees to NAWS when the
 * server asks, here with offerEcho). After each edit the screen must show
 * the line, wrapped as the terminal wraps it, and the cursor where it is.
 *
 * Without the programs the tests are skipped, except under CI=true where a
 * missing program is a failure.
 */
import * as assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { inetutilsTelnet } from "../helpers/inetutils-telnet.js";
import { realClientSuite, type RealClient } from "../helpers/real-client.js";
import { waitFor } from "../helpers/wait.js";
import { hasOption, telnet } from "../helpers/wire-tap.js";
import { wrappedLine } from "../helpers/wrapped-screen.js";

const WIDTH = 20;
const NAWS = 31;

/** Waits until the last rows of the screen are `line` wrapped at WIDTH and the cursor is before character `cursor`. */
async function screenShowsLine({ pane }: RealClient, line: string, cursor: number): Promise<void> {
  const expected = wrappedLine(line, WIDTH, cursor);
  let seen = "";
  await waitFor(
    async () => {
      const rows = await pane.screenAsShown();
      const at = await pane.cursor();
      const first = rows.length - expected.rows.length;
      seen = `${JSON.stringify(rows, null, 1)}\ncursor ${JSON.stringify(at)}, the line's first row ${first}`;
      return (
        JSON.stringify(rows.slice(first)) === JSON.stringify(expected.rows) &&
        at.row - first === expected.cursor.row &&
        at.column === expected.cursor.column
      );
    },
    `the screen to show ${JSON.stringify(line)} on ${expected.rows.length} rows, the cursor at ${JSON.stringify(expected.cursor)}`,
    { timeoutMs: 5000, intervalMs: 30, seen: () => seen },
  );
}

/** The same edits for each client: type a line of three rows, insert and erase in its first row, Enter. */
async function editAcrossTheWrap(opened: RealClient): Promise<void> {
  const { pane } = opened;
  let line = "The quick brown fox 日本語 jumps over a lazy dog";
  await pane.type(line);
  await screenShowsLine(opened, line, [...line].length);
  // To the middle of the first row: Ctrl-A, then Right four times.
  await pane.keys("C-a", "Right", "Right", "Right", "Right");
  await screenShowsLine(opened, line, 4);
  // Insert: everything after shifts over the wrap (the wide 日 moves to where it no longer fits).
  // (中, not 李: the 0x9D in 李 is inetutils telnet's escape key even in character mode.)
  await pane.type("very 中");
  line = "The very 中quick brown fox 日本語 jumps over a lazy dog";
  await screenShowsLine(opened, line, 10);
  // Erase the wide character: the tail moves back up a row.
  await pane.keys("BSpace");
  line = "The very quick brown fox 日本語 jumps over a lazy dog";
  await screenShowsLine(opened, line, 9);
  // Down to the second row, and delete under the cursor there.
  for (let i = 0; i < 17; i++) await pane.keys("Right");
  await screenShowsLine(opened, line, 26);
  await pane.keys("DC", "DC");
  line = "The very quick brown fox 日 jumps over a lazy dog";
  await screenShowsLine(opened, line, 26);
  await pane.keys("Enter");
  const rows = await pane.waitFor((r) => r.at(-1) === `${line} Ali`, "the reply to the edited line");
  assert.equal(rows.at(-1), `${line} Ali`);
}

describe("a wrapped line edited in a narrow terminal: plink (offers NAWS itself)", () => {
  const clients = realClientSuite("wrap-plink");

  test("insert and erase in the middle of a line that wraps: the screen shows the line", { timeout: 30_000 }, async (t: TestContext) => {
    const opened = await clients.open(t, {
      needs: ["plink", "tmux"],
      command: (port) => `plink -telnet -batch -P ${port} 127.0.0.1`,
      ready: () => true,
      what: "plink to start",
      width: WIDTH,
    });
    if (!opened) return;
    await opened.tap.untilServer((bytes) => hasOption(bytes, telnet.DO, NAWS), "the server's DO NAWS");
    await opened.tap.untilClient((bytes) => bytes.includes(Buffer.from([0xff, 0xfa, NAWS, 0, WIDTH])), "plink's window size");
    await opened.pane.waitForTerminalMode("raw");
    await editAcrossTheWrap(opened);
  });
});

describe("a wrapped line edited in a narrow terminal: inetutils telnet (asked for NAWS, offerEcho)", () => {
  const clients = realClientSuite("wrap-inetutils", { offerEcho: true });

  test("insert and erase in the middle of a line that wraps: the screen shows the line", { timeout: 30_000 }, async (t: TestContext) => {
    const opened = await clients.open(t, inetutilsTelnet(WIDTH));
    if (!opened) return;
    await opened.tap.untilClient((bytes) => bytes.includes(Buffer.from([0xff, 0xfa, NAWS, 0, WIDTH])), "telnet's window size");
    await opened.pane.waitForTerminalMode("raw");
    await editAcrossTheWrap(opened);
  });
});

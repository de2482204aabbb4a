/**
 * `busybox telnet` in a real terminal (tmux), through a recording proxy.
 * It sends nothing at connect and waits for the server to offer echo, which
 * name-echo never does unasked, so it stays in line mode: the terminal
 * edits and echoes the line, Enter sends CR LF. Its Ctrl-C opens a local
 * "Console escape" menu and sends nothing; the menu's `c` switches it to
 * character mode (it asks DO ECHO, DO SUPPRESS-GO-AHEAD), where the server
 * echoes and Ctrl-C is a raw 0x03.
 *
 * Without busybox or tmux the tests are skipped, except under CI=true where
 * a missing program is a failure.
 */
import * as assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { rowsFrom, type ClientPane } from "../helpers/client-pane.js";
import { realClientSuite, type RealClient } from "../helpers/real-client.js";
import { endsWith, hasOption, hex, iac, telnet, type WireTap } from "../helpers/wire-tap.js";

const MENU = "Console escape. Commands are:";

describe("busybox telnet", () => {
  const clients = realClientSuite("busybox");

  /** busybox telnet connected through a tap, in its line mode (a cooked terminal). */
  async function openBusybox(t: TestContext): Promise<RealClient | undefined> {
    const opened = await clients.open(t, {
      needs: ["busybox", "tmux"],
      command: (port) => `busybox telnet 127.0.0.1 ${port}`,
      ready: (rows) => rows.includes("Connected to 127.0.0.1"),
      what: "busybox telnet to connect",
    });
    await opened?.pane.waitForTerminalMode("cooked");
    return opened;
  }

  /** Ctrl-C, then the menu's `c`: character mode, and wait until the server echoes (a raw terminal). */
  async function characterMode(pane: ClientPane, tap: WireTap): Promise<void> {
    await pane.keys("C-c");
    await pane.waitFor((rows) => rows.includes(MENU), "the console escape menu");
    await pane.type("c");
    await pane.waitFor((rows) => rows.includes("Entering character mode"), "character mode");
    await tap.untilServer((bytes) => hasOption(bytes, telnet.WILL, telnet.ECHO), "the server's WILL ECHO");
    await pane.waitForTerminalMode("raw");
  }

  test("sends nothing at connect; the terminal edits the line; Enter sends CR LF; the server never negotiates", { timeout: 20_000 }, async (t) => {
    const opened = await openBusybox(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await pane.type("Helpx");
    await pane.keys("BSpace", "Enter");
    const rows = await pane.waitFor((r) => r.at(-1) === "Help Ali", "the reply");
    assert.deepEqual(rowsFrom(rows, "Help"), ["Help", "Help Ali"]);
    // Byte-exact on both sides: no negotiation first, the erased x never sent.
    assert.equal(hex(tap.fromClient), hex(Buffer.from("Help\r\n")));
    assert.equal(hex(tap.fromServer), hex(Buffer.from("Help Ali\r\n")));
  });

  test("line mode: UTF-8 goes through intact both ways, and the screen shows it", { timeout: 20_000 }, async (t) => {
    const opened = await openBusybox(t);
    if (!opened) return;
    const { pane, tap } = opened;
    for (const line of ["Жук у дома", "李", "Новый"]) {
      await pane.type(line);
      await pane.keys("Enter");
      const rows = await pane.waitFor((r) => r.at(-1) === `${line} Ali`, `the reply to ${line}`);
      assert.deepEqual(rowsFrom(rows, line), [line, `${line} Ali`]);
    }
    assert.equal(hex(tap.fromClient), hex(Buffer.from("Жук у дома\r\n李\r\nНовый\r\n")));
    assert.equal(hex(tap.fromServer), hex(Buffer.from("Жук у дома Ali\r\n李 Ali\r\nНовый Ali\r\n")));
  });

  test("line mode: Ctrl-C opens busybox's menu and sends nothing; Enter there continues, the half-typed line gone", {
    timeout: 20_000,
  }, async (t) => {
    const opened = await openBusybox(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await pane.type("zz");
    await pane.keys("C-c");
    await pane.waitFor((rows) => rows.includes(MENU), "the console escape menu");
    await pane.keys("Enter");
    await pane.waitFor((rows) => rows.at(-1) === "continuing...", "busybox to continue");
    await pane.waitForTerminalMode("cooked");
    await pane.type("ok");
    await pane.keys("Enter");
    const rows = await pane.waitFor((r) => r.at(-1) === "ok Ali", "the reply after the menu");
    assert.deepEqual(rows.slice(-2), ["ok", "ok Ali"]);
    // Neither the abandoned zz nor any telnet command (IAC IP) went out.
    assert.equal(hex(tap.fromClient), hex(Buffer.from("ok\r\n")));
  });

  test("the menu's c: character mode asks DO ECHO and DO SUPPRESS-GO-AHEAD, and the server echoes and edits", { timeout: 20_000 }, async (t) => {
    const opened = await openBusybox(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await characterMode(pane, tap);
    assert.equal(hex(tap.fromClient), hex(Buffer.concat([iac(telnet.DO, telnet.ECHO), iac(telnet.DO, telnet.SGA)])));
    const rows = await pane.typeEraseAndSubmit("Helpx");
    assert.deepEqual(rowsFrom(rows, "Help"), ["Help", "Help Ali"]);
    assert.ok(endsWith(tap.fromClient, "Helpx\x7f\r\n"), `Backspace is DEL, Enter is CR LF: ${hex(tap.fromClient)}`);
  });

  test("character mode: UTF-8 echoed and answered intact; Backspace erases a whole Cyrillic character", { timeout: 20_000 }, async (t) => {
    const opened = await openBusybox(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await characterMode(pane, tap);
    await pane.typeEraseAndSubmit("Жук у домах");
    await pane.type("李");
    await pane.waitForLastRow("李");
    await pane.keys("Enter");
    const rows = await pane.waitFor((r) => r.at(-1) === "李 Ali", "the reply to 李");
    assert.deepEqual(rowsFrom(rows, "Жук у дома"), ["Жук у дома", "Жук у дома Ali", "李", "李 Ali"]);
    await tap.untilServer((bytes) => endsWith(bytes, Buffer.from("李\r\n李 Ali\r\n")), "the echo and the reply, byte-exact");
  });

  test("character mode: Ctrl-C is a raw 0x03 that abandons the line", { timeout: 20_000 }, async (t) => {
    const opened = await openBusybox(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await characterMode(pane, tap);
    await pane.type("zz");
    await pane.waitForLastRow("zz");
    await pane.keys("C-c");
    await tap.untilClient((bytes) => endsWith(bytes, "zz\x03"), "busybox to send Ctrl-C as 0x03");
    await pane.type("ok");
    await pane.keys("Enter");
    const rows = await pane.waitFor((r) => r.at(-1) === "ok Ali", "the reply after Ctrl-C");
    assert.deepEqual(rows.slice(-2), ["ok", "ok Ali"]);
    assert.equal(rows.filter((row) => row === MENU).length, 1, "no menu but the one that switched modes");
    assert.equal(tap.fromServer.includes("zz Ali"), false, "the abandoned line gets no reply");
  });
});

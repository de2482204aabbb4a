/**
 * What the inetutils `telnet` (Debian's `telnet`) really sends, through a
 * recording proxy, and what it does to UTF-8 — the measurements behind
 * README's client table. In line mode it compares every byte with its
 * control keys after stripping bit 8 (it does so unless BINARY is agreed,
 * which the server refuses), so a UTF-8 byte 0x83 is Ctrl-C (IAC IP) and
 * 0x9D is its Ctrl-] escape. `mode character` stops the control-key
 * comparison but not the escape's; `unset escape` then makes every byte
 * data. test/e2e/telnet.test.ts covers the screen in both modes.
 *
 * Without telnet or tmux the tests are skipped, except under CI=true where
 * a missing program is a failure.
 */
import * as assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { rowsFrom } from "../helpers/client-pane.js";
import { realClientSuite, type RealClient } from "../helpers/real-client.js";
import { characterMode, telnetConnected, unsetEscape } from "../helpers/inetutils-telnet.js";
import { endsWith, hasOption, hex, iac, telnet } from "../helpers/wire-tap.js";

/** What line-mode telnet sends for Ctrl-C: IAC IP, then IAC DO TIMING-MARK to learn when the server has caught up. */
const INTERRUPT = Buffer.concat([iac(telnet.IP), iac(telnet.DO, telnet.TIMING_MARK)]);
const utf8 = (...parts: Array<string | Buffer>): Buffer => Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : part)));

describe("inetutils telnet, byte by byte", () => {
  const clients = realClientSuite("inetutils");

  /** `telnet [flags] 127.0.0.1 <tap>` connected, in line mode. */
  function openTelnet(t: TestContext, flags = ""): Promise<RealClient | undefined> {
    return clients.open(t, {
      needs: ["telnet", "tmux"],
      command: (port) => `telnet ${flags} 127.0.0.1 ${port}`,
      ready: telnetConnected,
      what: "telnet to connect",
    });
  }

  test("line mode: nothing at connect, the terminal edits, Enter is CR LF, Ctrl-C is IAC IP IAC DO TIMING-MARK", { timeout: 20_000 }, async (t) => {
    const opened = await openTelnet(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await pane.type("Helpx");
    await pane.keys("BSpace", "Enter");
    await pane.waitFor((r) => r.at(-1) === "Help Ali", "the reply");
    assert.equal(hex(tap.fromClient), hex(Buffer.from("Help\r\n")), "no negotiation first; the erased x never sent");
    await pane.type("zz");
    await pane.waitForLastRow("zz");
    await pane.keys("C-c");
    await tap.untilServer((bytes) => hasOption(bytes, telnet.WILL, telnet.TIMING_MARK), "the server's WILL TIMING-MARK");
    await pane.type("ok");
    await pane.keys("Enter");
    const rows = await pane.waitFor((r) => r.at(-1) === "ok Ali", "the reply after Ctrl-C");
    // The terminal's ^C may or may not show: telnet flushes terminal output on Ctrl-C.
    assert.match(rows.at(-2)!, /^zz(\^C)?ok$/);
    assert.deepEqual(rowsFrom(rows, "Help").slice(0, 2), ["Help", "Help Ali"]);
    assert.equal(hex(tap.fromClient), hex(utf8("Help\r\n", INTERRUPT, "ok\r\n")), "the half-typed zz is dropped by the terminal");
  });

  test("line mode mangles UTF-8: the 0x83 in у is taken for Ctrl-C, so Жук у дома arrives as ' дома'", { timeout: 20_000 }, async (t) => {
    const opened = await openTelnet(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await pane.type("Жук у дома");
    await pane.keys("Enter");
    const rows = await pane.waitFor((r) => r.at(-1) === " дома Ali", "the reply to what survived");
    assert.deepEqual(rowsFrom(rows, "Жук у дома"), ["Жук у дома", " дома Ali"]);
    // у is D1 83: telnet sends the D1, then IAC IP instead of the 83, and the server abandons the line so far.
    assert.equal(
      hex(tap.fromClient),
      hex(utf8(Buffer.from([0xd0, 0x96, 0xd1]), INTERRUPT, Buffer.from([0xd0, 0xba, 0x20, 0xd1]), INTERRUPT, " дома\r\n")),
    );
  });

  test("line mode: the 0x9D in 李 is taken for Ctrl-] and opens the telnet> prompt; the lead byte leaks into the next line", {
    timeout: 20_000,
  }, async (t) => {
    const opened = await openTelnet(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await pane.type("李");
    await pane.keys("Enter");
    // The rest of the line (0x8E) is read as a command.
    await pane.waitFor((r) => r.includes("?Invalid command") && r.at(-1) === "telnet>", "the telnet> prompt");
    await pane.keys("Enter");
    await pane.type("ok");
    await pane.keys("Enter");
    await tap.untilServer((bytes) => endsWith(bytes, " Ali\r\n"), "the reply to the next line");
    assert.equal(hex(tap.fromClient), hex(utf8(Buffer.from([0xe6]), "ok\r\n")));
    assert.equal(hex(tap.fromServer), hex(utf8(Buffer.from([0xe6]), "ok Ali\r\n")));
  });

  // -8 and -L ask for an 8-bit path but do not negotiate BINARY; -E only turns the escape character off.
  for (const flags of ["-8", "-L", "-E", "-8 -E"]) {
    const escapeOff = flags.includes("-E");
    test(`${flags} does not stop the control-key comparison: Жук у дома still arrives as ' дома'${escapeOff ? ", though 李 stays whole" : ""}`, {
      timeout: 20_000,
    }, async (t) => {
      const opened = await openTelnet(t, flags);
      if (!opened) return;
      const { pane, tap } = opened;
      await pane.type("Жук у дома");
      await pane.keys("Enter");
      let rows = await pane.waitFor((r) => r.at(-1) === " дома Ali", "the reply to what survived");
      assert.deepEqual(rowsFrom(rows, "Жук у дома"), ["Жук у дома", " дома Ali"]);
      assert.ok(tap.fromClient.includes(INTERRUPT), `the 0x83 went out as IAC IP: ${hex(tap.fromClient)}`);
      if (!escapeOff) return;
      await pane.type("李");
      await pane.keys("Enter");
      rows = await pane.waitFor((r) => r.at(-1) === "李 Ali", "the reply to 李");
      assert.deepEqual(rowsFrom(rows, "李"), ["李", "李 Ali"]);
    });
  }

  test("mode character: keys go out as typed (DEL, CR NUL, raw 0x03) and Cyrillic is intact, but 李 still opens the prompt", {
    timeout: 20_000,
  }, async (t) => {
    const opened = await openTelnet(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await characterMode(pane, tap);
    const negotiated = tap.fromClient.length;
    await pane.typeEraseAndSubmit("Жук у домах");
    await pane.type("zz");
    await pane.waitForLastRow("zz");
    await pane.keys("C-c");
    await tap.untilClient((bytes) => endsWith(bytes, "zz\x03"), "Ctrl-C as 0x03");
    assert.equal(hex(tap.fromClient.subarray(negotiated)), hex(utf8("Жук у домах\x7f\r\0zz\x03")));
    await pane.type("李");
    await pane.waitFor((r) => r.at(-1) === "telnet>", "the telnet> prompt, opened by the 0x9D in 李");
  });

  test("mode character, then unset escape: every UTF-8 byte is data, echoed and answered intact", { timeout: 20_000 }, async (t) => {
    const opened = await openTelnet(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await characterMode(pane, tap);
    await unsetEscape(pane);
    const negotiated = tap.fromClient.length;
    for (const line of ["Жук у дома", "Новый 李"]) {
      await pane.type(line);
      await pane.waitForLastRow(line);
      await pane.keys("Enter");
      const rows = await pane.waitFor((r) => r.at(-1) === `${line} Ali`, `the reply to ${line}`);
      assert.deepEqual(rowsFrom(rows, line), [line, `${line} Ali`]);
    }
    assert.equal(hex(tap.fromClient.subarray(negotiated)), hex(utf8("Жук у дома\r\0Новый 李\r\0")));
    await tap.untilServer((bytes) => endsWith(bytes, Buffer.from("Новый 李\r\nНовый 李 Ali\r\n")), "the echo and the reply");
  });
});

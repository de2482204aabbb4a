/**
 * PuTTY's `plink -telnet` in a real terminal (tmux), through a recording
 * proxy: it negotiates at connect, as PuTTY and Windows telnet do, so it
 * stands in for Windows users. Each test runs its own plink in its own
 * tmux session and checks the exact screen and the bytes on the wire.
 *
 * Without plink (Debian putty-tools) or tmux the tests are skipped, except
 * under CI=true where a missing program is a failure.
 */
import * as assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { rowsFrom } from "../helpers/client-pane.js";
import { realClientSuite, type RealClient } from "../helpers/real-client.js";
import { endsWith, hasOption, hex, IAC, telnet } from "../helpers/wire-tap.js";

/** RFC 1073, Negotiate About Window Size. */
const NAWS = 31;

describe("PuTTY's plink -telnet", () => {
  const clients = realClientSuite("plink");

  /** plink connected through a tap, its negotiation done and its terminal raw (the server echoes from here on). */
  async function openPlink(t: TestContext): Promise<RealClient | undefined> {
    const opened = await clients.open(t, {
      needs: ["plink", "tmux"],
      // -batch: never stop at a prompt; telnet has no host key, so none is expected.
      command: (port) => `plink -telnet -batch -P ${port} 127.0.0.1`,
      ready: () => true,
      what: "plink to start",
    });
    if (opened === undefined) return undefined;
    await opened.tap.untilServer((bytes) => hasOption(bytes, telnet.WILL, telnet.ECHO), "the server's WILL ECHO");
    await opened.pane.waitForTerminalMode("raw");
    return opened;
  }

  test("at connect plink offers and asks for options; the server takes over echo and refuses the rest", { timeout: 20_000 }, async (t) => {
    const opened = await openPlink(t);
    if (!opened) return;
    const { tap } = opened;
    const sent = tap.fromClient;
    assert.equal(sent[0], IAC, `plink speaks first, in telnet: ${hex(sent)}`);
    assert.ok(hasOption(sent, telnet.DO, telnet.ECHO), "plink asks the server to echo");
    assert.ok(hasOption(sent, telnet.DO, telnet.SGA) && hasOption(sent, telnet.WILL, telnet.SGA), "and for SUPPRESS-GO-AHEAD both ways");
    const answer = tap.fromServer;
    assert.ok(hasOption(answer, telnet.WILL, telnet.ECHO) && hasOption(answer, telnet.WILL, telnet.SGA), `the server agrees: ${hex(answer)}`);
    // NAWS (its window size) is taken; every other option plink offers (TERMINAL-SPEED, TERMINAL-TYPE, NEW-ENVIRON…) is refused.
    const offered = [...sent.keys()].filter((i) => sent[i] === IAC && sent[i + 1] === telnet.WILL).map((i) => sent[i + 2]!);
    assert.ok(offered.includes(NAWS), `plink offers NAWS: ${hex(sent)}`);
    await tap.untilServer((bytes) => hasOption(bytes, telnet.DO, NAWS), "DO NAWS");
    const others = offered.filter((option) => option !== telnet.SGA && option !== NAWS);
    assert.ok(others.length > 0, `plink offers more than SUPPRESS-GO-AHEAD: ${hex(sent)}`);
    await tap.untilServer((bytes) => others.every((option) => hasOption(bytes, telnet.DONT, option)), "a DONT for every other option");
  });

  test("typing is echoed by the server; Backspace sends DEL and erases on screen; Enter sends CR NUL", { timeout: 20_000 }, async (t) => {
    const opened = await openPlink(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await pane.type("Helpx");
    await pane.waitForLastRow("Helpx");
    await pane.keys("BSpace", "BSpace");
    await pane.waitForLastRow("Hel");
    await pane.type("lo");
    await pane.keys("Enter");
    const rows = await pane.waitFor((r) => r.includes("Hello Ali"), "the reply");
    assert.deepEqual(rowsFrom(rows, "Hello"), ["Hello", "Hello Ali"]);
    assert.ok(endsWith(tap.fromClient, "Helpx\x7f\x7flo\r\0"), `what plink sent: ${hex(tap.fromClient)}`);
    await tap.untilServer((bytes) => endsWith(bytes, "lo\r\nHello Ali\r\n"), "the echo, its line end, then the reply");
  });

  test("UTF-8 goes through intact both ways, and the screen shows it", { timeout: 20_000 }, async (t) => {
    const opened = await openPlink(t);
    if (!opened) return;
    const { pane, tap } = opened;
    for (const line of ["Жук у дома", "李", "Новый"]) {
      await pane.type(line);
      await pane.waitForLastRow(line);
      await pane.keys("Enter");
      const rows = await pane.waitFor((r) => r.at(-1) === `${line} Ali`, `the reply to ${line}`);
      assert.deepEqual(rowsFrom(rows, line), [line, `${line} Ali`]);
    }
    assert.ok(endsWith(tap.fromClient, Buffer.from("Жук у дома\r\0李\r\0Новый\r\0")), `what plink sent: ${hex(tap.fromClient)}`);
  });

  test("Backspace erases a whole two-byte character", { timeout: 20_000 }, async (t) => {
    const opened = await openPlink(t);
    if (!opened) return;
    const { pane, tap } = opened;
    const rows = await pane.typeEraseAndSubmit("Жукх");
    assert.deepEqual(rowsFrom(rows, "Жук"), ["Жук", "Жук Ali"]);
    await tap.untilServer((bytes) => endsWith(bytes, Buffer.from("Жук Ali\r\n")), "the reply without the erased character");
  });

  test("Ctrl-C sends a raw 0x03, which abandons the line; the next line is answered", { timeout: 20_000 }, async (t) => {
    const opened = await openPlink(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await pane.type("zz");
    await pane.waitForLastRow("zz");
    await pane.keys("C-c");
    await tap.untilClient((bytes) => endsWith(bytes, "zz\x03"), "plink to send Ctrl-C as 0x03");
    await pane.type("ok");
    await pane.keys("Enter");
    const rows = await pane.waitFor((r) => r.at(-1) === "ok Ali", "the reply after Ctrl-C");
    assert.deepEqual(rows.slice(-2), ["ok", "ok Ali"]);
    assert.equal(
      rows.some((row) => row.includes("zz") && row.endsWith("Ali")),
      false,
      "the abandoned line gets no reply",
    );
    assert.equal(tap.fromServer.includes("zz Ali"), false);
  });
});

/**
 * libtelnet's `telnet-client` (Debian libtelnet-utils) in a real terminal
 * (tmux), through a recording proxy. It negotiates nothing at connect, puts
 * the terminal in raw mode and echoes each key itself, sending it as typed;
 * since it never asks, the server never echoes, so editing keys reach the
 * server (which applies them) but its own echo does not show their effect.
 *
 * Without telnet-client or tmux the tests are skipped, except under CI=true
 * where a missing program is a failure.
 */
import * as assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { rowsFrom } from "../helpers/client-pane.js";
import { realClientSuite, type RealClient } from "../helpers/real-client.js";
import { hex } from "../helpers/wire-tap.js";

describe("libtelnet's telnet-client", () => {
  const clients = realClientSuite("libtelnet");

  /** telnet-client connected through a tap, its terminal raw. */
  async function openClient(t: TestContext): Promise<RealClient | undefined> {
    const opened = await clients.open(t, {
      needs: ["telnet-client", "tmux"],
      command: (port) => `telnet-client 127.0.0.1 ${port}`,
      ready: () => true,
      what: "telnet-client to start",
    });
    if (opened === undefined) return undefined;
    await opened.tap.untilConnected();
    await opened.pane.waitForTerminalMode("raw");
    return opened;
  }

  test("sends nothing at connect and echoes locally; Enter is CR LF; the server never negotiates", { timeout: 20_000 }, async (t) => {
    const opened = await openClient(t);
    if (!opened) return;
    const { pane, tap } = opened;
    for (const line of ["Hello", "Жук у дома", "李"]) {
      await pane.type(line);
      await pane.keys("Enter");
      await pane.waitFor((r) => r.at(-1) === `${line} Ali`, `the reply to ${line}`);
    }
    assert.deepEqual(rowsFrom(await pane.rows(), "Hello"), ["Hello", "Hello Ali", "Жук у дома", "Жук у дома Ali", "李", "李 Ali"]);
    assert.equal(hex(tap.fromClient), hex(Buffer.from("Hello\r\nЖук у дома\r\n李\r\n")));
    assert.equal(hex(tap.fromServer), hex(Buffer.from("Hello Ali\r\nЖук у дома Ali\r\n李 Ali\r\n")), "replies only: no echo, no negotiation");
  });

  test("Backspace goes out as DEL and the server erases, but the local echo still shows the character", { timeout: 20_000 }, async (t) => {
    const opened = await openClient(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await pane.type("Helpx");
    await pane.keys("BSpace", "Enter");
    const rows = await pane.waitFor((r) => r.at(-1) === "Help Ali", "the reply");
    assert.deepEqual(rowsFrom(rows, "Helpx"), ["Helpx", "Help Ali"]);
    assert.equal(hex(tap.fromClient), hex(Buffer.from("Helpx\x7f\r\n")));
  });

  test("Ctrl-C goes out as a raw 0x03: the server abandons the line, the screen does not show it", { timeout: 20_000 }, async (t) => {
    const opened = await openClient(t);
    if (!opened) return;
    const { pane, tap } = opened;
    await pane.type("zz");
    await pane.keys("C-c");
    await pane.type("ok");
    await pane.keys("Enter");
    const rows = await pane.waitFor((r) => r.at(-1) === "ok Ali", "the reply");
    assert.deepEqual(rowsFrom(rows, "zzok"), ["zzok", "ok Ali"]);
    assert.equal(hex(tap.fromClient), hex(Buffer.from("zz\x03ok\r\n")));
  });
});

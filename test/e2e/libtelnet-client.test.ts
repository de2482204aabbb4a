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
import { after, before, describe, test, type TestContext } from "node:test";
import { NameEchoServer } from "../../src/index.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { ClientPane, rowsFrom } from "../helpers/client-pane.js";
import { Tmux } from "../helpers/tmux.js";
import { requireCommands } from "../helpers/tools.js";
import { hex, WireTap } from "../helpers/wire-tap.js";

const tmux = new Tmux({ TERM: "xterm-256color", LANG: "C.UTF-8" });
const cleanups = cleanupsAfterEach();

describe("libtelnet's telnet-client", () => {
  let server: NameEchoServer;
  let sessions = 0;

  before(async () => {
    server = new NameEchoServer({ port: 0, name: "Ali" });
    await server.listen();
  });

  after(async () => {
    await tmux.kill();
    await server.destroy();
  });

  /** telnet-client connected through a tap, its terminal raw. */
  async function openClient(t: TestContext): Promise<{ pane: ClientPane; tap: WireTap } | undefined> {
    if (!requireCommands(t, "telnet-client", "tmux")) return undefined;
    const tap = await WireTap.open(server.address!.port, cleanups);
    const session = `libtelnet${sessions++}`;
    const pane = await ClientPane.open(tmux, session, `telnet-client 127.0.0.1 ${tap.port}`, () => true, "telnet-client to start");
    cleanups.push(() => tmux.run("kill-session", "-t", session).catch(() => {}));
    await tap.untilConnected();
    await pane.waitForTerminalMode("raw");
    return { pane, tap };
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

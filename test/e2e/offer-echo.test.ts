/**
 * `serve --offer-echo` (the offerEcho option) with the inetutils telnet a
 * student has: the server offers echo at connect, telnet starts in
 * character mode, and UTF-8 typed at it comes back whole — where its default
 * line mode mangles it (inetutils-telnet.test.ts measures how).
 *
 * Without telnet or tmux the tests are skipped, except under CI=true where
 * a missing program is a failure.
 */
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rowsFrom } from "../helpers/client-pane.js";
import { inetutilsTelnet } from "../helpers/inetutils-telnet.js";
import { realClientSuite } from "../helpers/real-client.js";
import { endsWith, hasOption, hex, telnet } from "../helpers/wire-tap.js";

describe("inetutils telnet with offerEcho", () => {
  const clients = realClientSuite("offer-echo", { offerEcho: true });

  test("telnet starts in character mode; 日本語 and Grüße typed come back whole", { timeout: 20_000 }, async (t) => {
    const opened = await clients.open(t, inetutilsTelnet());
    if (!opened) return;
    const { pane, tap } = opened;
    // No `mode character` typed: the server's offer did it.
    await tap.untilClient(
      (bytes) => hasOption(bytes, telnet.DO, telnet.ECHO) && hasOption(bytes, telnet.DO, telnet.SGA),
      "telnet to agree to the server's echo",
    );
    await pane.waitForTerminalMode("raw");
    for (const line of ["日本語", "Grüße"]) {
      await pane.type(line);
      await pane.waitForLastRow(line);
      await pane.keys("Enter");
      const rows = await pane.waitFor((r) => r.at(-1) === `${line} Ali`, `the reply to ${line}`);
      assert.deepEqual(rowsFrom(rows, line), [line, `${line} Ali`]);
    }
    assert.ok(endsWith(tap.fromClient, Buffer.from("日本語\r\0Grüße\r\0")), `what telnet sent: ${hex(tap.fromClient)}`);
    await tap.untilServer((bytes) => endsWith(bytes, Buffer.from("Grüße\r\nGrüße Ali\r\n")), "the echo, its line end, then the reply");
  });
});

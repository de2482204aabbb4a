/**
 * What a character-mode user is typing, seen from the operator's side: a
 * real client in tmux (plink, and inetutils telnet after `mode character`)
 * types a half line, and /connections and the status page's row in
 * headless Chromium show it, with its byte count, before Enter.
 *
 * Without the programs or Chromium the tests are skipped, except under
 * CI=true where a missing program is a failure.
 */
import * as assert from "node:assert/strict";
import { describe, test, type TestContext } from "node:test";
import { OpsHttpServer } from "../../src/ops/http-server.js";
import { LocalView } from "../../src/ops/view.js";
import { launchChromium } from "../browser/chromium.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { characterMode, inetutilsTelnet } from "../helpers/inetutils-telnet.js";
import { realClientSuite, type RealClient } from "../helpers/real-client.js";
import { hasOption, telnet } from "../helpers/wire-tap.js";

// Page-side code runs in the browser; the tests compile without the DOM's types.
declare const document: any;

/** A half line with Latin, German and Japanese in it (no 0x9D byte: inetutils telnet's escape key). */
const HALF_LINE = "Hi theGrüße 日本";

interface ConnectionRow {
  remote: { port: number };
  telnet: { mode: string; echo: string };
  pendingBytes: number;
  typing: string;
}

describe("a character-mode user's half line in /connections and on the status page", () => {
  const clients = realClientSuite("typing");
  const cleanups = cleanupsAfterEach();

  /** Types HALF_LINE without Enter; checks /connections, then the page's row in Chromium. */
  async function typedHalfLineIsShown(t: TestContext, opened: RealClient): Promise<void> {
    const { pane, tap } = opened;
    const http = new OpsHttpServer(new LocalView(clients.server), { port: 0 });
    const { port: httpPort } = await http.listen();
    cleanups.push(() => http.close());
    await pane.type(HALF_LINE);
    await pane.waitForLastRow(HALF_LINE);
    // The tap is the server's client: its row is the one with the tap's outgoing port.
    const clientPort = tap.serverSidePort;
    const rows = (await (await fetch(`http://127.0.0.1:${httpPort}/connections`, { signal: AbortSignal.timeout(5000) })).json()) as ConnectionRow[];
    const row = rows.find((r) => r.remote.port === clientPort);
    assert.ok(row !== undefined, `a row for port ${clientPort}: ${JSON.stringify(rows)}`);
    assert.deepEqual(row.telnet, { mode: "character", echo: "server" });
    assert.equal(row.typing, HALF_LINE);
    assert.equal(row.pendingBytes, Buffer.byteLength(HALF_LINE));

    const browser = await launchChromium(t);
    if (browser === null) return;
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    await page.waitForFunction(
      ([port, typing]: [string, string]) =>
        [...document.querySelectorAll("#rows tr")].some(
          (tr: any) => tr.children[1].textContent.endsWith(`:${port}`) && tr.querySelector("td.typing")?.textContent === typing,
        ),
      [String(clientPort), HALF_LINE] as [string, string],
      { timeout: 10_000 },
    );
    const mode = await page.evaluate(
      (port: string) =>
        [...document.querySelectorAll("#rows tr")].find((tr: any) => tr.children[1].textContent.endsWith(`:${port}`))?.textContent ?? "",
      String(clientPort),
    );
    assert.match(mode, /char · server echo/);
  }

  test("plink", { timeout: 60_000 }, async (t) => {
    const opened = await clients.open(t, {
      needs: ["plink", "tmux"],
      command: (port) => `plink -telnet -batch -P ${port} 127.0.0.1`,
      ready: () => true,
      what: "plink to start",
    });
    if (!opened) return;
    await opened.tap.untilServer((bytes) => hasOption(bytes, telnet.WILL, telnet.ECHO), "the server's WILL ECHO");
    await opened.pane.waitForTerminalMode("raw");
    await typedHalfLineIsShown(t, opened);
  });

  test("inetutils telnet in `mode character`", { timeout: 60_000 }, async (t) => {
    const opened = await clients.open(t, inetutilsTelnet());
    if (!opened) return;
    await characterMode(opened.pane, opened.tap);
    await typedHalfLineIsShown(t, opened);
  });
});

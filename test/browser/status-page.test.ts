/**
 * The live status page in a real headless Chromium: rows come and go with
 * real clients without a reload, client text renders as text, the page's
 * own script and style pass its Content-Security-Policy, and it fits a phone.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { ConnectionInfo } from "../../src/ops/connections.js";
import { OpsHttpServer } from "../../src/ops/http-server.js";
import { LocalView } from "../../src/ops/view.js";
import { NameEchoServer, type NameEchoServerOptions } from "../../src/server/server.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { RawClient } from "../helpers/net.js";
import { distinctColours, launchChromium } from "./chromium.js";

// Page-side code runs in the browser; the tests compile without the DOM's
// types, so these two are declared loosely, for this file only. (Functions,
// not strings: the page's CSP refuses string evaluation, as it should.)
declare const document: any;
declare const window: any;
declare function getComputedStyle(element: unknown): { display: string };

const WAIT = { timeout: 10_000 };
const cleanups = cleanupsAfterEach();

/** Before any page script: count CSP violations and any script a client might smuggle in. */
const WATCH = `
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
`;

async function startAll(
  t: import("node:test").TestContext,
  options: NameEchoServerOptions = {},
): Promise<{ browser: Browser; page: Page; port: number; url: string } | null> {
  const browser = await launchChromium(t);
  if (browser === null) return null;
  cleanups.push(() => browser.close());
  const server = new NameEchoServer({ port: 0, name: "Ali", ...options });
  const { port } = await server.listen();
  const http = new OpsHttpServer(new LocalView(server), { port: 0 });
  const { port: httpPort } = await http.listen();
  cleanups.push(
    () => server.destroy(),
    () => http.close(),
  );
  const page = await browser.newPage();
  await page.addInitScript(WATCH);
  const url = `http://127.0.0.1:${httpPort}/`;
  await page.goto(url);
  // The first update from /events has arrived.
  await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, undefined, WAIT);
  return { browser, page, port, url };
}

/**
 * How the page must show each field of a /connections row: the cell's whole
 * text, or a pattern for what moves with time. Keyed by every field, so a new
 * one does not compile here either until the test knows how it shows.
 */
const SHOWN_AS: Record<keyof ConnectionInfo, (row: ConnectionInfo) => string | RegExp> = {
  id: (row) => String(row.id),
  worker: (row) => (row.worker === undefined ? String(row.id) : `${row.worker}-${row.id}`),
  remote: (row) => `${row.remote.address}:${row.remote.port}`,
  local: (row) => `${row.local.address}:${row.local.port}`,
  transport: (row) => new RegExp(`^${row.transport}( · TLS)?$`),
  tls: (row) => (row.tls ? / · TLS$/ : /^[a-z]+$/),
  state: (row) => row.state,
  telnet: (row) => `${row.telnet.mode === "character" ? "char" : "line"} · ${row.telnet.echo} echo`,
  connectedForMs: () => /^\d+ s$/,
  idleForMs: (row) => (row.idleForMs === null ? "–" : /^\d+ s$/),
  lines: (row) => String(row.lines),
  linesTooLong: (row) => String(row.linesTooLong),
  bytesIn: (row) => `${row.bytesIn} B`,
  bytesOut: (row) => `${row.bytesOut} B`,
  unsentBytes: (row) => `${row.unsentBytes} B`,
  pendingBytes: (row) => `${row.pendingBytes} B`,
  typing: (row) => row.typing,
};

/** The client-port column of every row, as the page shows it. */
function clientPorts(page: Page): Promise<number[]> {
  return page.evaluate(() => [...document.querySelectorAll("#rows tr")].map((tr: any) => Number(tr.children[1].textContent.split(":").pop())));
}

describe("status page in Chromium", { timeout: 90_000 }, () => {
  it("three clients appear without a reload, and one that leaves goes", async (t) => {
    const started = await startAll(t);
    if (started === null) return;
    const { page, port } = started;
    assert.equal(await page.locator("#rows tr").count(), 0);
    assert.equal(await page.locator("#empty").isVisible(), true);
    assert.equal(await page.textContent("#name"), "name-echo “Ali”");

    const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(port)));
    cleanups.push(() => clients.forEach((c) => c.destroy()));
    for (const [i, client] of clients.entries()) {
      client.send(`Hello ${i}\n`);
      await client.waitForText(`Hello ${i} Ali\r\n`);
    }
    await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 3, undefined, WAIT);
    const ports = clients.map((c) => c.socket.localPort!).sort();
    assert.deepEqual((await clientPorts(page)).sort(), ports);
    assert.equal(await page.locator("#empty").isVisible(), false);
    await page.waitForFunction(() => document.getElementById("open").textContent === "3", undefined, WAIT);

    const leaver0 = clients[1]!.socket.localPort!;
    clients[1]!.socket.end();
    await page.waitForFunction(() => document.querySelectorAll("#rows tr").length === 2, undefined, WAIT);
    const leaver = leaver0;
    assert.deepEqual(
      (await clientPorts(page)).sort(),
      ports.filter((p) => p !== leaver),
    );

    // The chart has its two lines; nothing was blocked by the page's own CSP.
    await page.waitForFunction(() => document.querySelectorAll("#chart polyline").length === 2, undefined, WAIT);
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    // The inline style was applied (a CSP hash mismatch would leave the table unstyled).
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector(".cards")).display), "grid");

    const png = await page.screenshot({ fullPage: true });
    const folder = mkdtempSync(join(tmpdir(), "name-echo-status-page-"));
    writeFileSync(join(folder, "status-page.png"), png);
    const blank = await started.browser.newPage();
    cleanups.push(() => blank.close());
    assert.ok((await distinctColours(blank, png)) > 20, `the screenshot (${folder}/status-page.png) is not blank`);
  });

  it("markup a client types is shown as text: no element made, no script run", async (t) => {
    const started = await startAll(t);
    if (started === null) return;
    const { page, port } = started;
    const attacks = [`<script>window.__xss = "script"</script>`, `<img src=x onerror="window.__xss = 'img'">`];
    const clients = await Promise.all(attacks.map(() => RawClient.connect(port)));
    cleanups.push(() => clients.forEach((c) => c.destroy()));
    // Unfinished lines: the page shows what each client is typing.
    attacks.forEach((attack, i) => clients[i]!.send(attack));
    await page.waitForFunction(
      (wanted: string[]) => wanted.every((a) => [...document.querySelectorAll("#rows td.typing")].some((td: any) => td.textContent === a)),
      attacks,
      WAIT,
    );
    assert.equal(await page.locator("#rows script, #rows img, #rows [onerror]").count(), 0);
    assert.equal(await page.locator("img").count(), 0);
    assert.equal(await page.locator("script").count(), 1, "only the page's own script");
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
  });

  it("every field of a /connections row shows in the row's cell for it", async (t) => {
    // A short line limit, so one line is too long and the counts are not all zero.
    const started = await startAll(t, { maxLineLength: 16 });
    if (started === null) return;
    const { page, port, url } = started;
    const client = await RawClient.connect(port);
    cleanups.push(() => client.destroy());
    client.send("Hello\n");
    await client.waitForText("Hello Ali\r\n");
    client.send(`${"x".repeat(40)}\n`);
    client.send("typed");
    await page.waitForFunction(
      () => [...document.querySelectorAll("#rows td")].some((td: any) => td.dataset.fields === "typing" && td.textContent === "typed"),
      undefined,
      WAIT,
    );
    // No traffic from here on: the page's last update and /connections agree on every count.
    const response = await fetch(`${url}connections`);
    const connections = (await response.json()) as ConnectionInfo[];
    assert.equal(connections.length, 1);
    const row = connections[0]!;
    assert.equal(row.linesTooLong, 1, "one line was too long");
    assert.equal(row.pendingBytes, 5);
    assert.ok(row.lines >= 1 && row.bytesIn > 0 && row.bytesOut > 0);
    // The page is still showing the update with "typed" in it; one more makes sure its counts are the latest.
    const updates = await page.evaluate(() => Number(document.body.dataset.updates));
    await page.waitForFunction((seen: number) => Number(document.body.dataset.updates) > seen, updates, WAIT);

    const cells: Array<{ fields: string[]; text: string }> = await page.evaluate(() =>
      [...document.querySelectorAll("#rows tr:first-child td")].map((td: any) => ({
        fields: td.dataset.fields.split(" ").filter(Boolean),
        text: td.textContent,
      })),
    );
    const named = cells.flatMap((cell) => cell.fields).sort();
    assert.deepEqual(named, Object.keys(SHOWN_AS).sort(), "the page names a cell for every field of ConnectionInfo, once");
    for (const field of Object.keys(row) as Array<keyof ConnectionInfo>) {
      const cell = cells.find((c) => c.fields.includes(field));
      assert.ok(cell !== undefined, `no cell shows ${field}`);
      const shown = SHOWN_AS[field](row);
      if (typeof shown === "string") assert.equal(cell.text, shown, field);
      else assert.match(cell.text, shown, field);
    }
    // Every column has a head, and the table's head is the script's.
    assert.equal(await page.locator("thead th").count(), cells.length);
  });

  it("fits a phone: nothing wider than the screen but the table, which scrolls", async (t) => {
    const browser = await launchChromium(t);
    if (browser === null) return;
    cleanups.push(() => browser.close());
    const server = new NameEchoServer({ port: 0 });
    await server.listen();
    const http = new OpsHttpServer(new LocalView(server), { port: 0 });
    const { port: httpPort } = await http.listen();
    cleanups.push(
      () => server.destroy(),
      () => http.close(),
    );
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, undefined, WAIT);
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth as number)) <= 390);
    // The less important columns are hidden on a narrow screen.
    assert.equal(await page.locator("th.wide").first().isVisible(), false);
  });
});

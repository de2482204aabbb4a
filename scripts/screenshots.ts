/**
 * The README's pictures, made from the code as it is, so they can be made
 * again whenever a page changes (`npm run screenshots`):
 *
 *   docs/images/status-page.png   the live status page of a real `name-echo serve`
 *                                 with three real telnet clients, the third in
 *                                 character mode with a half-typed line
 *   docs/images/bench-report.png  the report of a short bench run
 *
 *   node dist/scripts/screenshots.js [--out DIR]
 *
 * It drives headless Chromium, tmux and telnet with the page and terminal
 * tests' own helpers; it needs chromium, tmux and telnet (Debian: chromium,
 * tmux, telnet). Everything listens on 127.0.0.1 and is stopped at the end.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { Browser } from "playwright-core";
import { runBench } from "../src/load/load.js";
import { BenchRecording } from "../src/load/report.js";
import { NameEchoServer } from "../src/server/server.js";
import { chromiumPath, launchHeadless } from "../test/browser/chromium.js";
import { REPO, startServe } from "../test/helpers/cli.js";
import { Tmux } from "../test/helpers/tmux.js";
import { hasCommand } from "../test/helpers/tools.js";
import { paletteOf } from "./png-palette.js";

declare const document: any;

/** The pictures' width: the status page's table needs 1400 px for every column (typing is the last). */
const STATUS_VIEWPORT = { width: 1400, height: 600 };
const REPORT_VIEWPORT = { width: 1000, height: 600 };
const WAIT = { timeout: 15_000 };

/** The status page with three telnet clients; the third in character mode, typing without Enter. */
export async function statusPagePicture(browser: Browser): Promise<Buffer> {
  const server = await startServe(["--http-port", "0", "--name", "Ali"]);
  const tmux = new Tmux();
  try {
    const started = await server.waitForLog(/status page on http:\/\/[^\s/]+\//);
    const pageUrl = /status page on (http:\/\/[^\s/]+\/)/.exec(started)![1]!;
    const windows = ["first", "second", "third"];
    for (const window of windows) await tmux.start(`telnet 127.0.0.1 ${server.port}`, { session: window, width: 100, height: 20 });
    for (const window of windows) await tmux.waitFor(/Escape character is/, 10_000, window);
    for (const [i, window] of windows.slice(0, 2).entries()) {
      for (const line of [`Hello from the ${window} window`, ...(i === 0 ? ["How are you?"] : [])]) {
        await tmux.sendKeys([line], true, window);
        await tmux.sendKeys(["Enter"], false, window);
        await tmux.waitFor(new RegExp(`${line.replace(/\?/g, "\\?")} Ali`), 10_000, window);
      }
    }
    // The third: telnet's own `mode character`, so the server echoes and edits; then half a line.
    await tmux.sendKeys(["C-]"], false, "third");
    await tmux.waitFor(/telnet> $/m, 10_000, "third");
    await tmux.sendKeys(["mode character"], true, "third");
    await tmux.sendKeys(["Enter"], false, "third");

    const page = await browser.newPage({ viewport: STATUS_VIEWPORT });
    await page.goto(pageUrl);
    await page.waitForFunction(
      () => [...document.querySelectorAll("#rows tr")].filter((tr: any) => /char/.test(tr.textContent)).length === 1,
      undefined,
      WAIT,
    );
    await tmux.sendKeys(["Good morn"], true, "third");
    await tmux.waitFor(/Good morn/, 10_000, "third");
    // The page shows what is typed once the server reports it; where it does not (yet), the row is taken as it is.
    await page
      .waitForFunction(() => [...document.querySelectorAll("#rows td.typing")].some((td: any) => td.textContent === "Good morn"), undefined, {
        timeout: 3000,
      })
      .catch(() => {
        process.stderr.write("screenshots: the status page does not show the character-mode client's typing; taken without it\n");
      });
    // One more update, so the row's counters are the latest.
    const updates = await page.evaluate(() => Number(document.body.dataset.updates));
    await page.waitForFunction((seen: number) => Number(document.body.dataset.updates) > seen, updates, WAIT);
    return await page.screenshot({ fullPage: true });
  } finally {
    await tmux.kill();
    await server.stop();
  }
}

/** The report of a short, light bench run against a server in this process. */
export async function benchReportPicture(browser: Browser, folder: string): Promise<Buffer> {
  const server = new NameEchoServer({ port: 0 });
  const { port } = await server.listen();
  try {
    const options = { host: "127.0.0.1", port, clients: 4, durationSeconds: 3, pipeline: 4, lineBytes: 24, name: "Ali" };
    const recording = new BenchRecording(options, [
      "--connect",
      `127.0.0.1:${port}`,
      "--clients",
      "4",
      "--pipeline",
      "4",
      "--duration",
      "3",
      "--report",
      "bench.html",
    ]);
    const result = await runBench({ ...options, onProgress: (p) => recording.progress(p), onHistogram: (h) => recording.histogram(h) });
    const file = join(folder, "bench.html");
    await recording.write(file, result);
    const page = await browser.newPage({ viewport: REPORT_VIEWPORT });
    await page.goto(pathToFileURL(file).href);
    return await page.screenshot({ fullPage: true });
  } finally {
    await server.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: "string", default: join(REPO, "docs", "images") } } });
  const out = values.out!;
  const executablePath = chromiumPath();
  const missing = [...(executablePath === null ? ["chromium"] : []), ...["tmux", "telnet"].filter((command) => !hasCommand(command))];
  if (missing.length > 0) {
    process.stderr.write(`screenshots: needs ${missing.join(", ")} (on Debian: apt-get install chromium tmux telnet)\n`);
    process.exitCode = 1;
    return;
  }
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "name-echo-screenshots-"));
  const browser = await launchHeadless(executablePath!);
  try {
    for (const [name, take] of [
      ["status-page.png", () => statusPagePicture(browser)],
      ["bench-report.png", () => benchReportPicture(browser, work)],
    ] as const) {
      const png = paletteOf(await take());
      writeFileSync(join(out, name), png);
      process.stdout.write(`wrote ${relative(process.cwd(), join(out, name)) || name} (${Math.round(png.length / 1024)} KiB)\n`);
    }
  } finally {
    await browser.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

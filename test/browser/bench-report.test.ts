/** A bench report opened in headless Chromium: both charts drawn, nothing blocked, not blank. */
import * as assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { runBench } from "../../src/load/load.js";
import { BenchRecording } from "../../src/load/report.js";
import { NameEchoServer } from "../../src/server/server.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { distinctColours, launchChromium } from "./chromium.js";

declare const document: any;

const cleanups = cleanupsAfterEach();

describe("bench report in Chromium", { timeout: 90_000 }, () => {
  it("shows the throughput line and the percentile curve of a real run", async (t) => {
    const browser = await launchChromium(t);
    if (browser === null) return;
    cleanups.push(() => browser.close());
    const server = new NameEchoServer({ port: 0 });
    const { port } = await server.listen();
    cleanups.push(() => server.destroy());

    const options = { host: "127.0.0.1", port, clients: 4, durationSeconds: 2.2, pipeline: 4, lineBytes: 24, name: "Ali" };
    const recording = new BenchRecording(options, ["--duration", "2.2"]);
    const result = await runBench({
      ...options,
      onProgress: (p) => recording.progress(p),
      onHistogram: (h) => recording.histogram(h),
    });
    assert.equal(result.errors, 0, result.firstError);
    const folder = mkdtempSync(join(tmpdir(), "name-echo-bench-report-"));
    const file = join(folder, "bench-report.html");
    await recording.write(file, result);

    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const blocked: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") blocked.push(message.text());
    });
    await page.goto(pathToFileURL(file).href);
    // Two charts, each a drawn line with at least two points.
    const series = await page.evaluate(() => [...document.querySelectorAll("svg .series")].map((line: any) => line.points.numberOfItems as number));
    assert.equal(series.length, 2);
    assert.ok(
      series.every((points) => points >= 2),
      JSON.stringify(series),
    );
    assert.equal(await page.locator("script").count(), 0);
    assert.deepEqual(blocked, []);

    const png = await page.screenshot({ fullPage: true });
    writeFileSync(join(folder, "bench-report.png"), png);
    const blank = await browser.newPage();
    assert.ok((await distinctColours(blank, png)) > 20, `the screenshot (${folder}/bench-report.png) is not blank`);
  });
});

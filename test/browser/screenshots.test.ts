/**
 * The README's pictures: committed, small, shown by the README, and made by
 * `npm run screenshots` (which this runs into a folder of its own, so a page
 * that no longer renders, or a script that no longer runs, fails here).
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { REPO } from "../helpers/cli.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { requireCommands } from "../helpers/tools.js";
import { distinctColours, launchChromium } from "./chromium.js";

const PICTURES = ["status-page.png", "bench-report.png"];
/** Tens of KiB: the repository carries every version of every picture. */
const MAX_BYTES = 80 * 1024;

const cleanups = cleanupsAfterEach();

/** Width and height from a PNG's header, after checking it is one. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG signature");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe("the README's pictures", { timeout: 120_000 }, () => {
  it("are committed in docs/images, small, and shown by the README; npm run screenshots makes them", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    for (const name of PICTURES) {
      assert.match(readme, new RegExp(`!\\[[^\\]]+\\]\\(docs/images/${name.replace(".", "\\.")}\\)`), `the README shows ${name}`);
      const file = join(REPO, "docs", "images", name);
      const png = readFileSync(file);
      assert.ok(png.length <= MAX_BYTES, `${name} is ${Math.round(png.length / 1024)} KiB`);
      const { width } = pngSize(png);
      assert.ok(width >= 800 && width <= 1400, `${name} is ${width} px wide`);
    }
    const scripts = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    assert.match(scripts.screenshots ?? "", /node dist\/scripts\/screenshots\.js/);
  });

  it("npm run screenshots makes both again: real pictures, not blank, as small", async (t) => {
    if (!requireCommands(t, "tmux", "telnet")) return;
    const browser = await launchChromium(t);
    if (browser === null) return;
    cleanups.push(() => browser.close());
    const out = mkdtempSync(join(tmpdir(), "name-echo-screenshots-test-"));
    cleanups.push(() => rmSync(out, { recursive: true, force: true }));
    const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, "dist", "scripts", "screenshots.js"), "--out", out], {
      cwd: REPO,
      timeout: 90_000,
    });
    const page = await browser.newPage();
    for (const name of PICTURES) {
      assert.match(stdout, new RegExp(`wrote .*${name.replace(".", "\\.")} \\(\\d+ KiB\\)`));
      const png = readFileSync(join(out, name));
      assert.ok(statSync(join(out, name)).size <= MAX_BYTES, `${name} is ${Math.round(png.length / 1024)} KiB`);
      const { width, height } = pngSize(png);
      assert.ok(width >= 800 && height >= 400, `${name} is ${width}×${height}`);
      // Decoded by the browser itself: a valid PNG, with a page's worth of colours on it.
      assert.ok((await distinctColours(page, png)) > 20, `${name} is not blank`);
    }
  });
});

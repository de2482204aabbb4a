/**
 * Headless Chromium for the page tests: the system's browser (Debian
 * `chromium`), driven by playwright-core, which downloads no browser of its
 * own. Missing browser: the test skips with the reason, or fails under CI=true.
 */
import { existsSync } from "node:fs";
import type { TestContext } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { hasCommand } from "../helpers/tools.js";

/** CHROMIUM names another binary; otherwise Debian's. */
export function chromiumPath(): string | null {
  const given = process.env.CHROMIUM;
  if (given) return given;
  for (const path of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) if (existsSync(path)) return path;
  return hasCommand("chromium") ? "chromium" : null;
}

/** A launched headless Chromium, or null after skipping the test. */
export async function launchChromium(t: TestContext): Promise<Browser | null> {
  const executablePath = chromiumPath();
  if (executablePath === null) {
    const reason = "needs chromium (on Debian: apt-get install chromium)";
    if (process.env.CI === "true") throw new Error(`${reason}: missing under CI=true`);
    t.skip(reason);
    return null;
  }
  return launchHeadless(executablePath);
}

/** Headless Chromium from `executablePath`, as every page test and `npm run screenshots` run it. */
export function launchHeadless(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    // Chromium's sandbox refuses to start as root (CI containers run as root);
    // containers often have a tiny /dev/shm.
    args: [...(process.getuid?.() === 0 ? ["--no-sandbox"] : []), "--disable-dev-shm-usage"],
    timeout: 30_000,
  });
}

/**
 * How many distinct colours a PNG has, decoded by the browser itself (on a
 * blank page of its own, so no page's Content-Security-Policy applies): a
 * blank or failed screenshot has one or two.
 */
export async function distinctColours(page: Page, png: Buffer): Promise<number> {
  // Page code as a string: the tests compile without the DOM's types.
  return page.evaluate(`(async () => {
    const image = new Image();
    image.src = "data:image/png;base64,${png.toString("base64")}";
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return colours.size;
  })()`);
}

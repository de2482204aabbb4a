import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WarningThrottle } from "../../src/cli/warning-throttle.js";

/** Resolves with the next message the throttle emits. */
function nextEmit(lines: string[]): { emit: (line: string) => void; next: () => Promise<string> } {
  let wake: ((line: string) => void) | null = null;
  return {
    emit(line) {
      lines.push(line);
      wake?.(line);
      wake = null;
    },
    // The throttle's timers are unref'd (they must not keep a server alive);
    // a ref'd one keeps this test's process waiting for the summary.
    next: () =>
      new Promise((resolve) => {
        const keepAlive = setInterval(() => {}, 1000);
        wake = (line) => {
          clearInterval(keepAlive);
          resolve(line);
        };
      }),
  };
}

describe("WarningThrottle", { timeout: 10_000 }, () => {
  test("the first warning of a kind is logged at once, repeats become one summary per window", { timeout: 5000 }, async () => {
    const lines: string[] = [];
    const sink = nextEmit(lines);
    const throttle = new WarningThrottle(sink.emit, { windowMs: 50 });
    for (let i = 0; i < 533; i++) throttle.warn("accept failed: EMFILE", `accept failed: EMFILE (#${i})`);
    assert.deepEqual(lines, ["accept failed: EMFILE (#0)"]);
    const summary = await sink.next();
    assert.equal(summary, "accept failed: EMFILE: repeated 532 times in the last 0.1 s (latest: accept failed: EMFILE (#532))");
    assert.equal(lines.length, 2);
    throttle.flush();
  });

  test("kinds are counted apart, and a quiet window ends the flood", { timeout: 5000 }, async () => {
    const lines: string[] = [];
    const sink = nextEmit(lines);
    const throttle = new WarningThrottle(sink.emit, { windowMs: 50 });
    throttle.warn("a", "a1");
    throttle.warn("b", "b1");
    throttle.warn("a", "a2");
    assert.deepEqual(lines, ["a1", "b1"]);
    assert.equal(await sink.next(), "a: repeated once more in the last 0.1 s (latest: a2)");
    // The window that followed had no repeats: it closes without a line, so
    // the next "a" is news again and is logged at once.
    // (No event marks a window that ends quietly; wait out two of them.)
    await new Promise((resolve) => setTimeout(resolve, 150));
    throttle.warn("a", "a3");
    assert.deepEqual(lines, ["a1", "b1", "a: repeated once more in the last 0.1 s (latest: a2)", "a3"]);
    throttle.flush();
  });

  test("flush() writes what is pending at once (at shutdown)", () => {
    const lines: string[] = [];
    const throttle = new WarningThrottle((line) => lines.push(line));
    throttle.warn("k", "one");
    throttle.warn("k", "two");
    throttle.warn("k", "three");
    throttle.flush();
    assert.deepEqual(lines, ["one", "k: repeated 2 times in the last 10 s (latest: three)"]);
    throttle.flush();
    assert.equal(lines.length, 2);
  });
});

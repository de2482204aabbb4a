import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConnectionLogThrottle, WarningThrottle, type ConnectionCounts } from "../../src/cli/warning-throttle.js";

// The windows are timers: node:test's mock timers (t.mock.timers, reset
// after each test) end them when a test says so, not after a real wait.

describe("WarningThrottle", { timeout: 10_000 }, () => {
  test("the first warning of a kind is logged at once, repeats become one summary per window", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const lines: string[] = [];
    const throttle = new WarningThrottle((line) => lines.push(line), { windowMs: 50 });
    for (let i = 0; i < 533; i++) throttle.warn("accept failed: EMFILE", `accept failed: EMFILE (#${i})`);
    assert.deepEqual(lines, ["accept failed: EMFILE (#0)"]);
    t.mock.timers.tick(49);
    assert.equal(lines.length, 1, "no summary before the window ends");
    t.mock.timers.tick(1);
    const summary = lines.at(-1);
    assert.equal(summary, "accept failed: EMFILE: repeated 532 times in the last 0.1 s (latest: accept failed: EMFILE (#532))");
    assert.equal(lines.length, 2);
    throttle.flush();
  });

  test("kinds are counted apart, and a quiet window ends the flood", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const lines: string[] = [];
    const throttle = new WarningThrottle((line) => lines.push(line), { windowMs: 50 });
    throttle.warn("a", "a1");
    throttle.warn("b", "b1");
    throttle.warn("a", "a2");
    assert.deepEqual(lines, ["a1", "b1"]);
    t.mock.timers.tick(50);
    assert.equal(lines.at(-1), "a: repeated once more in the last 0.1 s (latest: a2)");
    // The window that followed had no repeats: it closes without a line, so
    // the next "a" is news again and is logged at once.
    t.mock.timers.tick(150);
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

describe("ConnectionLogThrottle", { timeout: 10_000 }, () => {
  test("up to perSecond connections a second are logged one by one; the rest are counted into one summary", () => {
    const lines: Array<[string, ConnectionCounts]> = [];
    const throttle = new ConnectionLogThrottle((message, counts) => lines.push([message, counts]), { perSecond: 3 });
    const second = 1_000_000;
    const admitted = Array.from({ length: 10 }, (_, i) => throttle.admitConnect(second + i));
    assert.deepEqual(admitted, [true, true, true, false, false, false, false, false, false, false]);
    // A new second: three more are logged one by one.
    assert.deepEqual(
      [1000, 1001, 1002, 1003].map((ms) => throttle.admitConnect(second + ms)),
      [true, true, true, false],
    );
    for (let i = 0; i < 7; i++) throttle.countDisconnect();
    assert.deepEqual(lines, []);
    throttle.flush();
    assert.deepEqual(lines, [
      ["8 connects and 7 disconnects in the last 10 s not logged one by one (more than 3 a second)", { connects: 8, disconnects: 7 }],
    ]);
    throttle.flush();
    assert.equal(lines.length, 1, "nothing counted since: no second summary");
  });

  test("0 logs every connection; numbers are written with thousands separators", () => {
    const every = new ConnectionLogThrottle(() => assert.fail("nothing to summarise"), { perSecond: 0 });
    for (let i = 0; i < 5000; i++) assert.equal(every.admitConnect(1000), true);
    every.flush();
    const lines: string[] = [];
    const throttle = new ConnectionLogThrottle((message) => lines.push(message), { perSecond: 1 });
    for (let i = 0; i < 12_346; i++) throttle.admitConnect(5000);
    throttle.countDisconnect();
    throttle.flush();
    assert.deepEqual(lines, ["12,345 connects and 1 disconnect in the last 10 s not logged one by one (more than 1 a second)"]);
  });

  test("while the flood lasts, one summary per window", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
    const lines: string[] = [];
    const throttle = new ConnectionLogThrottle((message) => lines.push(message), { perSecond: 1, windowMs: 50 });
    throttle.admitConnect();
    throttle.admitConnect();
    throttle.admitConnect();
    t.mock.timers.tick(50);
    assert.match(lines.at(-1) ?? "", /^2 connects and 0 disconnects in the last 0\.1 s/);
    throttle.countDisconnect();
    t.mock.timers.tick(50);
    assert.match(lines.at(-1) ?? "", /^0 connects and 1 disconnect in the last 0\.1 s/);
    throttle.flush();
    assert.equal(lines.length, 2);
  });
});

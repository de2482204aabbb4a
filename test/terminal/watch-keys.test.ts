/**
 * watchKeys: the escape timer the pure decoder leaves to its caller, and
 * the terminal mode given back on stop. Driven with a fake terminal stream
 * and node:test's mock timers, so the escape timeout passes when the test
 * says so.
 */
import * as assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import type { Key } from "../../src/protocol/keys.js";
import { watchKeys } from "../../src/terminal/watch-keys.js";

class FakeTerminal extends EventEmitter {
  isRaw = false;
  flowing = false;
  readonly modes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    this.modes.push(mode);
    return this;
  }
  resume(): this {
    this.flowing = true;
    return this;
  }
  pause(): this {
    this.flowing = false;
    return this;
  }
  type(text: string): void {
    this.emit("data", Buffer.from(text, "utf8"));
  }
}

describe("watchKeys", { timeout: 10_000 }, () => {
  it("turns raw mode on, and stop() gives the terminal back as it was, once", () => {
    const terminal = new FakeTerminal();
    const exitListeners = process.listenerCount("exit");
    const stop = watchKeys(terminal, () => {});
    assert.equal(terminal.isRaw, true);
    assert.equal(terminal.flowing, true);
    assert.equal(process.listenerCount("exit"), exitListeners + 1, "an exit hook restores the mode if the process dies");
    stop();
    stop();
    assert.deepEqual(terminal.modes, [true, false]);
    assert.equal(terminal.flowing, false, "paused, so stdin does not keep the process alive");
    assert.equal(terminal.listenerCount("data"), 0);
    assert.equal(process.listenerCount("exit"), exitListeners);
  });

  it("reports a lone ESC once the escape timeout passes", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
    const terminal = new FakeTerminal();
    const keys: Key[] = [];
    const stop = watchKeys(terminal, (key) => keys.push(key), { escapeTimeoutMs: 20 });
    try {
      const typed = Date.now();
      terminal.type("\x1b");
      assert.equal(keys.length, 0, "not before the timeout");
      t.mock.timers.tick(19);
      assert.equal(keys.length, 0, "not 1 ms before the timeout either");
      t.mock.timers.tick(1);
      assert.ok(Date.now() - typed >= 15);
      assert.deepEqual(
        keys.map((key) => key.name),
        ["escape"],
      );
    } finally {
      stop();
    }
  });

  it("an ESC whose sequence completes in the next read is that key, not Esc", async () => {
    const terminal = new FakeTerminal();
    const keys: Key[] = [];
    const stop = watchKeys(terminal, (key) => keys.push(key), { escapeTimeoutMs: 1000 });
    try {
      terminal.type("\x1b");
      terminal.type("[A");
      terminal.type("\x1bOP");
      assert.deepEqual(
        keys.map((key) => key.name),
        ["up", "f1"],
      );
      terminal.type("\x03");
      assert.deepEqual(
        keys.map((key) => `${key.ctrl ? "ctrl+" : ""}${key.name}`),
        ["up", "f1", "ctrl+c"],
      );
    } finally {
      stop();
    }
  });

  it("stop() cancels a pending escape timer: no key after stopping", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const terminal = new FakeTerminal();
    const keys: Key[] = [];
    const stop = watchKeys(terminal, (key) => keys.push(key), { escapeTimeoutMs: 10 });
    terminal.type("\x1b");
    stop();
    // The timer would have fired by now; nothing may arrive after stop().
    t.mock.timers.tick(50);
    assert.deepEqual(keys, []);
  });
});

/** The stop rule of `name-echo serve`, one process or the primary of --workers: graceful first, everyone dropped after. */
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { twoStageStop } from "../../src/cli/stop.js";

describe("twoStageStop", () => {
  test("the first stop is graceful; every later one drops everyone", () => {
    const calls: string[] = [];
    const stopper = twoStageStop(
      (why) => calls.push(`graceful: ${why}`),
      (why) => calls.push(`drop: ${why}`),
    );
    assert.equal(stopper.stopping, false);
    stopper.stop("SIGTERM");
    assert.equal(stopper.stopping, true);
    assert.deepEqual(calls, ["graceful: SIGTERM"]);
    stopper.stop("Ctrl-C");
    stopper.stop("Esc");
    assert.deepEqual(calls, ["graceful: SIGTERM", "drop: Ctrl-C", "drop: Esc"]);
  });
});

/**
 * `serve --workers`: when the primary dies without a word (kill -9, the OOM
 * killer), each worker stops the way SIGTERM stops it: every client gets the
 * closing notice, then the connection closes, and the worker exits.
 */
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { BALANCES } from "../helpers/balances.js";
import { childPids, isRunning, startServe } from "../helpers/cli.js";
import { LineClient } from "../helpers/fault.js";
import { waitFor } from "../helpers/wait.js";

const CLIENTS = 24;

/**
 * Resolves once none of `pids` runs. They are not this process's children
 * (their parent is the killed primary), so there is no exit event to await:
 * look every 50 ms, up to `timeoutMs`.
 */
async function gone(pids: number[], timeoutMs: number): Promise<void> {
  await waitFor(() => !pids.some(isRunning), "the workers to exit", {
    timeoutMs,
    intervalMs: 50,
    seen: () => `still running: ${pids.filter(isRunning).join(", ")}`,
  });
}

describe("serve --workers when the primary is killed", { timeout: 90_000 }, () => {
  const cleanups = cleanupsAfterEach();

  for (const balance of BALANCES) {
    test(`${balance}: every client gets the closing notice and every worker exits`, { timeout: 40_000 }, async () => {
      const server = await startServe(["--workers", "2", "--balance", balance, "--log-format", "pretty"]);
      cleanups.push(() => server.kill());
      const workers = childPids(server.child.pid!);
      assert.equal(workers.length, 2, `two workers, got ${workers.join(", ")}`);
      cleanups.push(() => {
        for (const pid of workers.filter(isRunning)) process.kill(pid, "SIGKILL");
      });
      const clients = await Promise.all(Array.from({ length: CLIENTS }, () => LineClient.connect(server.port)));
      cleanups.push(() => clients.forEach((client) => client.destroy()));
      for (const [i, client] of clients.entries()) assert.equal((await client.roundTrip(`before ${i}`)).reply, `before ${i} Ali`);

      server.child.kill("SIGKILL");
      for (const [i, client] of clients.entries()) {
        assert.equal(await client.nextLine(15_000), "closing: the server is shutting down", `client ${i}`);
        await client.closed(15_000);
      }
      await gone(workers, 15_000);
      const told = server.stderr().match(/the primary process is gone; stopping/g) ?? [];
      assert.equal(told.length, 2, server.stderr());
    });
  }
});

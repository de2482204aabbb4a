/**
 * The load engine (src/load/load.ts) against a real server on port 0, with
 * short runs: it must count good replies, and report a server whose replies
 * are wrong (a wrong name, lost lines) as errors rather than as throughput.
 */
import { strict as assert } from "node:assert";
import * as net from "node:net";
import { describe, it } from "node:test";
import type { Histogram } from "hdr-histogram-js";
import { runBench, type BenchOptions } from "../../src/load/load.js";
import { runBenchInProcesses, shares } from "../../src/load/processes.js";
import { inProcessServerForSuite } from "../helpers/server.js";

function options(port: number, extra: Partial<BenchOptions> = {}): BenchOptions {
  return { host: "127.0.0.1", port, clients: 4, durationSeconds: 0.3, pipeline: 1, lineBytes: 24, name: "Ali", ...extra };
}

describe("the bench load engine", () => {
  const suite = inProcessServerForSuite({ name: "Ali" });

  it("counts good replies and latency, with no errors, one line in flight", async () => {
    const result = await runBench(options(suite.port));
    assert.equal(result.errors, 0, result.firstError);
    assert.ok(result.repliesOk > 0);
    assert.equal(result.lost, 0);
    assert.equal(result.repliesOkTotal, result.linesSent, "every line sent was answered");
    assert.ok(result.latencyUs.p50 > 0 && result.latencyUs.p50 <= result.latencyUs.p99);
    assert.ok(result.latencyUs.p99 <= result.latencyUs.max);
  });

  it("keeps a pipeline of lines in flight and checks every reply", async () => {
    const result = await runBench(options(suite.port, { pipeline: 32, clients: 3, lineBytes: 100 }));
    assert.equal(result.errors, 0, result.firstError);
    assert.ok(result.repliesOk > 32 * 3);
    assert.equal(result.repliesOkTotal, result.linesSent);
  });

  it("in several processes: each opens its share, and the latency histograms are added, not averaged", async () => {
    let merged: Histogram | undefined;
    const connected: number[] = [];
    const onConnection = (): number => connected.push(1);
    suite.server.on("connection", onConnection);
    try {
      const result = await runBenchInProcesses(options(suite.port, { clients: 7, onHistogram: (h) => (merged = h) }), 3);
      assert.equal(result.errors, 0, result.firstError);
      assert.equal(connected.length, 7, "every process opened its share");
      assert.deepEqual(result.repliesOkPerProcess?.length, 3);
      assert.ok(result.repliesOkPerProcess!.every((count) => count > 0));
      // Every reply of every process is in the one histogram.
      assert.equal(merged?.totalCount, result.repliesOk);
      assert.equal(
        result.repliesOk,
        result.repliesOkPerProcess!.reduce((sum, count) => sum + count, 0),
      );
      assert.ok(result.latencyUs.p50 > 0 && result.latencyUs.p50 <= result.latencyUs.p99);
    } finally {
      suite.server.off("connection", onConnection);
    }
  });

  it("deals the clients out over the processes, numbering on, so no two connections send the same lines", () => {
    const dealt = shares(options(0, { clients: 7 }), 3);
    assert.deepEqual(
      dealt.map((share) => [share.firstClient, share.clients]),
      [
        [0, 3],
        [3, 2],
        [5, 2],
      ],
    );
  });

  it("reports a wrong name as errors, with the first difference quoted", async () => {
    const result = await runBench(options(suite.port, { name: "Bob", clients: 2 }));
    assert.equal(result.repliesOk, 0);
    assert.ok(result.badReplies > 0);
    assert.equal(result.errors, result.badReplies);
    assert.match(result.firstError, /expected ".* Bob\\x0d\\x0a", got ".* Ali\\x0d\\x0a"/);
  });
});

describe("the bench load engine against a broken server", () => {
  it("counts lines that are never answered as lost", async () => {
    // Answers only the first line of each connection, then stays silent.
    const silent = net.createServer((socket) => {
      let answered = false;
      socket.on("data", (chunk) => {
        if (answered) return;
        answered = true;
        const lf = chunk.indexOf(0x0a);
        socket.write(Buffer.concat([chunk.subarray(0, lf - 1), Buffer.from(" Ali\r\n")]));
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const result = await runBench(options(port, { clients: 2, durationSeconds: 0.2 }));
      assert.equal(result.repliesOkTotal, 2);
      assert.equal(result.lost, 2);
      assert.equal(result.errors, 2);
      assert.match(result.firstError, /never answered/);
    } finally {
      silent.close();
      (silent as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    }
  });

  it("refuses with one clear error when nothing listens", async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    // In `name-echo connect`'s words (one table), not the system's code.
    await assert.rejects(runBench(options(port, { clients: 1 })), {
      code: "ERR_CONNECTION_REFUSED",
      message: `cannot connect to 127.0.0.1:${port}: connection refused; is a server running there?`,
    });
  });
});

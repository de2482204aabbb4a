/**
 * The `name-echo bench` command against a real server on port 0, with short
 * runs: its exit status, --json and the summary (--connect parsing is in
 * test/client/target.test.ts, with the other callers of the one parser). The
 * engine itself is tested in test/load/load.test.ts.
 */
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { inProcessServerForSuite } from "../helpers/server.js";
import { runCli } from "../helpers/cli.js";

describe("name-echo bench", () => {
  const suite = inProcessServerForSuite({ name: "Ali" });

  it("the CLI exits 1 on a wrong name and prints JSON with --json", async () => {
    const { code, stdout } = await runCli(
      ["bench", "--connect", `127.0.0.1:${suite.port}`, "--duration", "0.2", "--clients", "2", "--name", "Zed", "--json"],
      { timeoutMs: 10_000 },
    ).finished;
    assert.equal(code, 1);
    const parsed = JSON.parse(stdout) as { errors: number; badReplies: number };
    assert.ok(parsed.errors > 0 && parsed.badReplies > 0);
  });

  it("the CLI exits 0 and prints a summary when all is right", async () => {
    const { code, stdout } = await runCli(
      ["bench", "--connect", `127.0.0.1:${suite.port}`, "--duration", "0.2", "--clients", "2", "--pipeline", "4"],
      { timeoutMs: 10_000 },
    ).finished;
    assert.equal(code, 0, stdout);
    assert.match(stdout, /replies ok +[\d,]+ \([\d,]+\/s\)/);
    assert.match(stdout, /errors +0\n/);
  });

  it("--processes 3 makes the load from three processes and prints one merged result", async () => {
    const { code, stdout } = await runCli(
      ["bench", "--connect", `127.0.0.1:${suite.port}`, "--duration", "0.3", "--clients", "5", "--processes", "3", "--json"],
      { timeoutMs: 20_000 },
    ).finished;
    assert.equal(code, 0, stdout);
    const result = JSON.parse(stdout) as { clients: number; processes: number; repliesOk: number; errors: number; repliesOkPerProcess: number[] };
    assert.equal(result.errors, 0);
    assert.equal(result.clients, 5);
    assert.equal(result.processes, 3);
    assert.equal(result.repliesOkPerProcess.length, 3);
    assert.ok(
      result.repliesOkPerProcess.every((count) => count > 0),
      String(result.repliesOkPerProcess),
    );
    assert.equal(
      result.repliesOkPerProcess.reduce((sum, count) => sum + count, 0),
      result.repliesOk,
    );
  });

  it("--processes more than --clients is refused in one line, exit status 2", async () => {
    const { code, stderr } = await runCli(["bench", "--connect", `127.0.0.1:${suite.port}`, "--clients", "2", "--processes", "3"], {
      timeoutMs: 10_000,
    }).finished;
    assert.equal(code, 2);
    assert.equal(stderr, "name-echo: --processes 3 is more than --clients 2: every process needs a connection\n");
  });
});

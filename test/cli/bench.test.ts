/**
 * The `name-echo bench` command against a real server on port 0, with short
 * runs: its exit status, --json and the summary (--connect parsing is in
 * test/client/target.test.ts, with the other callers of the one parser). The
 * engine itself is tested in test/bench/load.test.ts.
 */
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { inProcessServerForSuite } from "../helpers/server.js";
import { runCli } from "../helpers/cli.js";

describe("name-echo bench", () => {
  const suite = inProcessServerForSuite({ name: "Ali" });

  it("the CLI exits 1 on a wrong name and prints JSON with --json", async () => {
    const { code, stdout } = await runCli(["bench", "--connect", `127.0.0.1:${suite.port}`, "--duration", "0.2", "--clients", "2", "--name", "Zed", "--json"], { timeoutMs: 10_000 }).finished;
    assert.equal(code, 1);
    const parsed = JSON.parse(stdout) as { errors: number; badReplies: number };
    assert.ok(parsed.errors > 0 && parsed.badReplies > 0);
  });

  it("the CLI exits 0 and prints a summary when all is right", async () => {
    const { code, stdout } = await runCli(["bench", "--connect", `127.0.0.1:${suite.port}`, "--duration", "0.2", "--clients", "2", "--pipeline", "4"], { timeoutMs: 10_000 }).finished;
    assert.equal(code, 0, stdout);
    assert.match(stdout, /replies ok +[\d,]+ \([\d,]+\/s\)/);
    assert.match(stdout, /errors +0\n/);
  });
});


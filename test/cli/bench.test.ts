/**
 * The `name-echo bench` command against a real server on port 0, with short
 * runs: its exit status, --json and the summary, and --connect parsing. The
 * engine itself is tested in test/bench/load.test.ts.
 */
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { parseConnect } from "../../src/cli/bench.js";
import { NameEchoServer } from "../../src/server/server.js";
import { runCli } from "../helpers/cli.js";

describe("name-echo bench", () => {
  let server: NameEchoServer;
  let port: number;
  before(async () => {
    server = new NameEchoServer({ port: 0, name: "Ali" });
    port = (await server.listen()).port;
  });
  after(async () => {
    await server.destroy();
  });

  it("the CLI exits 1 on a wrong name and prints JSON with --json", async () => {
    const { code, stdout } = await runCli(["bench", "--connect", `127.0.0.1:${port}`, "--duration", "0.2", "--clients", "2", "--name", "Zed", "--json"], { timeoutMs: 10_000 }).finished;
    assert.equal(code, 1);
    const parsed = JSON.parse(stdout) as { errors: number; badReplies: number };
    assert.ok(parsed.errors > 0 && parsed.badReplies > 0);
  });

  it("the CLI exits 0 and prints a summary when all is right", async () => {
    const { code, stdout } = await runCli(["bench", "--connect", `127.0.0.1:${port}`, "--duration", "0.2", "--clients", "2", "--pipeline", "4"], { timeoutMs: 10_000 }).finished;
    assert.equal(code, 0, stdout);
    assert.match(stdout, /replies ok +[\d,]+ \([\d,]+\/s\)/);
    assert.match(stdout, /errors +0\n/);
  });
});

describe("--connect parsing", () => {
  it("takes HOST:PORT, [V6]:PORT, HOST and :PORT", () => {
    assert.deepEqual(parseConnect("10.1.2.3:99"), { host: "10.1.2.3", port: 99 });
    assert.deepEqual(parseConnect("[::1]:8000"), { host: "::1", port: 8000 });
    assert.deepEqual(parseConnect("localhost"), { host: "localhost", port: 8888 });
    assert.deepEqual(parseConnect(":7000"), { host: "127.0.0.1", port: 7000 });
    assert.throws(() => parseConnect("::1:80"), /brackets/);
    assert.throws(() => parseConnect("h:99999"), /port/);
  });
});

/**
 * The log's way out and its flood control, on real processes: lines still
 * buffered when a process crashes or calls process.exit() reach stderr
 * before it goes (and before Node's report of the crash), and a storm of
 * connections costs a few summary lines that account for every connection.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { REPO, runCli, startServe, waitForOutput } from "../helpers/cli.js";
import { inParallel, LineClient } from "../helpers/fault.js";

const LOG_MODULE = pathToFileURL(`${REPO}dist/src/cli/log.js`).href;

/** Runs a module that logs `count` lines and then ends by `ending`; resolves with its exit code and stderr. */
async function logThenEnd(count: number, ending: string): Promise<{ code: number | null; stderr: string }> {
  const source = `
    import { createLogger } from ${JSON.stringify(LOG_MODULE)};
    const log = createLogger({ level: "info", format: "json" });
    for (let i = 0; i < ${count}; i++) log.info("line " + i, { n: i });
    ${ending}
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", source], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stderr };
}

/** The `n` of every JSON log line, in order. */
function loggedNumbers(stderr: string): number[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => (JSON.parse(line) as { n: number }).n);
}

describe("the log on every way out", { timeout: 30_000 }, () => {
  // About 200 KiB of lines written in one go: within the bounded buffer, so none is dropped.
  const everyLine = Array.from({ length: 2000 }, (_, i) => i);

  test("an uncaught exception: every buffered line is written, in order, before Node reports the crash", async () => {
    const { code, stderr } = await logThenEnd(2000, `setImmediate(() => { throw new Error("deliberate crash"); });`);
    assert.equal(code, 1);
    assert.deepEqual(loggedNumbers(stderr), everyLine);
    assert.ok(stderr.indexOf("deliberate crash") > stderr.lastIndexOf('"n":1999'), "the crash report comes after the log");
  });

  test("process.exit() with lines still buffered: all written, the exit code kept", async () => {
    const { code, stderr } = await logThenEnd(2000, "process.exit(3);");
    assert.equal(code, 3);
    assert.deepEqual(loggedNumbers(stderr), everyLine);
  });
});

describe("a connection storm in the log", { timeout: 60_000 }, () => {
  const cleanups = cleanupsAfterEach();

  test("past --log-connections-per-second, connections are counted into summary lines that add up", async () => {
    const server = await startServe(["--log-format", "json", "--log-connections-per-second", "5"]);
    cleanups.push(() => server.kill());
    const storm = 300;
    await inParallel(
      Array.from({ length: storm }, (_, i) => i),
      20,
      async (i) => {
        const client = await LineClient.connect(server.port);
        assert.equal((await client.roundTrip(`storm ${i}`)).reply, `storm ${i} Ali`);
        client.socket.end();
        await client.closed();
      },
    );
    // The pending summary is written at the stop, with the other last lines.
    assert.equal(await server.stop(), 0);
    const events = server
      .stderr()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { event?: string; msg: string; connects?: number; disconnects?: number });
    const connects = events.filter((e) => e.event === "connect").length;
    const disconnects = events.filter((e) => e.event === "disconnect").length;
    const summaries = events.filter((e) => e.event === "connections-not-logged");
    assert.ok(summaries.length >= 1, "at least one summary line");
    assert.match(summaries[0]!.msg, /^[\d,]+ connects? and [\d,]+ disconnects? in the last 10 s not logged one by one \(more than 5 a second\)$/);
    const sum = (key: "connects" | "disconnects"): number => summaries.reduce((total, e) => total + e[key]!, 0);
    assert.equal(connects + sum("connects"), storm, "every connect logged or counted");
    assert.equal(disconnects + sum("disconnects"), storm, "every disconnect logged or counted");
    assert.equal(connects, disconnects, "a connection logged opening is logged closing");
    assert.ok(connects < storm / 2, `${connects} of ${storm} connects logged one by one`);
  });
});

describe("a log reader that goes away", { timeout: 30_000 }, () => {
  const cleanups = cleanupsAfterEach();

  test("stderr's reader quits (serve 2>&1 | head): the stop still ends at once, with exit status 0", async () => {
    const server = await startServe(["--log-format", "pretty"]);
    cleanups.push(() => server.kill());
    await waitForOutput(server, server.stderr, /started on/, 10_000);
    // The reader is gone for good: every write to stderr from now on fails with EPIPE.
    server.child.stderr!.destroy();
    const started = performance.now();
    assert.equal(await server.stop(), 0);
    const took = performance.now() - started;
    assert.ok(took < 5000, `the stop took ${took.toFixed(0)} ms`);
  });
});

test("--log-connections-per-second that is not a whole number: one line naming the flag, exit status 2", async () => {
  const { code, stderr } = await runCli(["serve", "--port", "0", "--log-connections-per-second", "lots"]).finished;
  assert.equal(code, 2);
  assert.equal(stderr, 'name-echo: --log-connections-per-second must be a whole number from 0 to 1000000 (0 = log every one), not "lots"\n');
});

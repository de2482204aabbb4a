/**
 * A log nobody reads never blocks serving and never grows without bound.
 *
 * The real server, with its stderr on a pipe this test stops reading, and on
 * a terminal (a pty from `script`) whose reader stops, while clients churn
 * (connect, one round trip, close), every connection logged one by one so
 * the log outgrows every buffer on its way. The server must keep answering
 * fast, hold its memory, and, once the reader takes lines again, say how
 * many it dropped. Then it stops gracefully, and the last lines ("stopped")
 * reach the reader.
 */
import * as assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { cliCommandLine, LISTENING, spawnCli } from "../helpers/cli.js";
import { Changes, waitFor } from "../helpers/wait.js";
import { inParallel, LineClient, MiB, rssOf } from "../helpers/fault.js";
import { skipUnless } from "../helpers/tools.js";

/** Enough cycles for the log (two lines each) to fill the reader's buffers and the server's bounded one several times over. */
const CYCLES = 4000;
const PARALLEL = 20;
/**
 * Generous on a loaded two-core machine; a server that blocks on its log
 * does not answer at all until the reader drains (the round trip times out).
 */
const SLOW_MS = 2000;
const DROPPED = /(\d[\d,]*) log lines? dropped: the log output was not being read/;

/** connect → one round trip → close, CYCLES times; returns the slowest round trip in ms. */
async function churn(port: number): Promise<number> {
  let slowest = 0;
  await inParallel(
    Array.from({ length: CYCLES }, (_, i) => i),
    PARALLEL,
    async (i) => {
      const client = await LineClient.connect(port);
      try {
        const { reply, ms } = await client.roundTrip(`cycle ${i}`, 10_000);
        assert.equal(reply, `cycle ${i} Ali`);
        slowest = Math.max(slowest, ms);
        client.socket.end();
        await client.closed();
      } finally {
        client.destroy();
      }
    },
  );
  return slowest;
}

/** Collects a stream's text once resumed; `text()` is everything read so far. */
function reader(stream: NodeJS.ReadableStream): { text: () => string; wait: (pattern: RegExp, ms: number) => Promise<RegExpMatchArray> } {
  let text = "";
  const changes = new Changes();
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    text += chunk;
    changes.changed();
  });
  stream.resume();
  return {
    text: () => text,
    wait: (pattern, ms) =>
      waitFor(() => pattern.exec(text), String(pattern), { timeoutMs: ms, changes, seen: () => JSON.stringify(text.slice(-400)) }),
  };
}

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  const changes = new Changes();
  child.once("exit", () => changes.changed());
  return waitFor(() => child.exitCode !== null || child.signalCode !== null, "the process to exit", { timeoutMs: ms, changes }).then(
    () => child.exitCode,
  );
}

function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

describe("a log nobody reads", { timeout: 120_000 }, () => {
  const cleanups = cleanupsAfterEach();

  for (const format of ["json", "pretty"]) {
    test(`stderr a pipe nobody reads (${format}): serving goes on, memory stays bounded, the drops are counted`, { timeout: 90_000 }, async (t) => {
      const child = spawnCli(["serve", "--port", "0", "--log-format", format, "--log-connections-per-second", "0"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      cleanups.push(() => kill(child.pid));
      // Nobody reads the log from here on.
      child.stderr!.pause();
      const stdout = reader(child.stdout!);
      const port = Number((await stdout.wait(LISTENING, 10_000))[1]);
      const rssBefore = rssOf(child.pid!);

      const slowest = await churn(port);
      const grown = rssOf(child.pid!) - rssBefore;
      t.diagnostic(`${CYCLES} cycles with the log stalled: slowest round trip ${slowest.toFixed(0)} ms, RSS +${(grown / MiB).toFixed(1)} MiB`);
      assert.ok(slowest < SLOW_MS, `a round trip took ${slowest.toFixed(0)} ms while the log was not read`);
      assert.ok(grown < 64 * MiB, `server RSS grew by ${(grown / MiB).toFixed(1)} MiB while the log was not read`);

      // The reader comes back: one line says what it missed.
      const log = reader(child.stderr!);
      const dropped = Number((await log.wait(DROPPED, 10_000))[1]!.replace(/,/g, ""));
      t.diagnostic(`${dropped} lines dropped`);
      assert.ok(dropped > 0 && dropped < 2 * CYCLES, `dropped ${dropped}`);
      // Lines after the report are written one by one again.
      const client = await LineClient.connect(port);
      assert.equal((await client.roundTrip("back")).reply, "back Ali");
      client.destroy();
      await log.wait(/connect 127\.0\.0\.1:\d+ \(1 open\)[^]*$/, 10_000);

      child.kill("SIGTERM");
      assert.equal(await exited(child, 15_000), 0);
      assert.match(log.text(), /stopped/);
    });
  }

  test("stderr a terminal nobody reads (a pty, pretty lines): serving goes on, the drops are counted, Esc still stops", {
    timeout: 90_000,
    skip: skipUnless("script"),
  }, async (t) => {
    // script(1) runs the server on a pty and copies the pty to its stdout;
    // when this test stops reading that, script stops reading the pty, and
    // the server's terminal fills up as a scrolled-back terminal does.
    const command = `exec ${cliCommandLine(["serve", "--port", "0", "--log-connections-per-second", "0"])}`;
    const script = spawn("script", ["-q", "-e", "-c", command, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    cleanups.push(() => kill(script.pid));
    const terminal = reader(script.stdout!);
    const port = Number((await terminal.wait(LISTENING, 10_000))[1]);
    const server = Number(readFileSync(`/proc/${script.pid}/task/${script.pid}/children`, "utf8").trim().split(/\s+/)[0]);
    cleanups.push(() => kill(server));
    script.stdout!.pause();
    const rssBefore = rssOf(server);

    const slowest = await churn(port);
    const grown = rssOf(server) - rssBefore;
    t.diagnostic(`${CYCLES} cycles with the terminal stalled: slowest round trip ${slowest.toFixed(0)} ms, RSS +${(grown / MiB).toFixed(1)} MiB`);
    assert.ok(slowest < SLOW_MS, `a round trip took ${slowest.toFixed(0)} ms while the terminal was not read`);
    assert.ok(grown < 64 * MiB, `server RSS grew by ${(grown / MiB).toFixed(1)} MiB while the terminal was not read`);

    script.stdout!.resume();
    const dropped = Number((await terminal.wait(DROPPED, 10_000))[1]!.replace(/,/g, ""));
    t.diagnostic(`${dropped} lines dropped`);
    assert.ok(dropped > 0, `dropped ${dropped}`);

    // Esc at the server's terminal: the graceful stop, and its last lines are on the terminal.
    script.stdin!.write("\x1b");
    assert.equal(await exited(script, 15_000), 0);
    assert.match(terminal.text(), /Esc: stopping; 0 client\(s\) connected[^]*stopped/);
  });
});

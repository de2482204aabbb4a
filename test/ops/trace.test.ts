/** `serve --trace`: the trace of real connections, and a terminal that does not keep up never slowing the server. */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BoundedWriter } from "../../src/ops/bounded-writer.js";
import { TerminalTrace } from "../../src/ops/terminal-trace.js";
import { NameEchoServer } from "../../src/server/server.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { LISTENING, runCli, waitForOutput } from "../helpers/cli.js";
import { RawClient } from "../helpers/net.js";

const IAC = 0xff;
const DO = 0xfd;
const ECHO = 1;

const cleanups = cleanupsAfterEach();

describe("the wire trace of real connections", { timeout: 30_000 }, () => {
  it("shows both directions, telnet named, each line prefixed by the endpoints", async () => {
    const lines: string[] = [];
    const trace = new TerminalTrace({ writeLine: (line) => lines.push(line) });
    const server = new NameEchoServer({ port: 0, trace });
    trace.watch(server);
    const { port } = await server.listen();
    cleanups.push(() => server.destroy());

    const client = await RawClient.connect(port);
    cleanups.push(() => client.destroy());
    const prefix = `127.0.0.1:${client.socket.localPort} -> 127.0.0.1:${port}`;
    client.send(Buffer.from([IAC, DO, ECHO]));
    await client.waitFor((c) => c.received.length >= 6, "the negotiation answer");
    client.send("Hi\r\n");
    await client.waitForText("Hi Ali\r\n");
    const closed = once(server, "disconnect");
    void server.close();
    await client.waitForText("closing");
    client.socket.end();
    await closed;

    assert.deepEqual(lines.slice(0, 7), [
      `${prefix} connected`,
      `${prefix} < IAC DO ECHO`,
      `${prefix} > IAC WILL ECHO`,
      `${prefix} > IAC WILL SUPPRESS-GO-AHEAD`,
      `${prefix} < "Hi\\r\\n"`,
      // Echoed (the server echoes now), then the reply.
      `${prefix} > "Hi\\r\\n"`,
      `${prefix} > "Hi Ali\\r\\n"`,
    ]);
    // The goodbye is traced too, then the close.
    assert.match(lines[7]!, new RegExp(`^${prefix.replace(/\./g, "\\.")} > ".*closing.*"$`));
    assert.equal(lines.at(-1), `${prefix} closed`);
  });

  it("serve --trace and NAME_ECHO_TRACE write the trace to stderr", async () => {
    for (const [args, env] of [
      [["--trace"], {}],
      [[], { NAME_ECHO_TRACE: "1" }],
    ] as const) {
      const server = runCli(["serve", "--port", "0", "--log-level", "warn", ...args], { env: { ...process.env, ...env } });
      cleanups.push(() => server.kill());
      const port = Number((await waitForOutput(server, server.stdout, LISTENING, 10_000))[1]);
      const client = await RawClient.connect(port);
      const where = `127.0.0.1:${client.socket.localPort} -> 127.0.0.1:${port}`;
      client.send("Hello\r\n");
      await client.waitForText("Hello Ali\r\n");
      client.destroy();
      await waitForOutput(server, server.stderr, new RegExp(`${where.replace(/\./g, "\\.")} closed`), 10_000);
      assert.ok(server.stderr().includes(`${where} < "Hello\\r\\n"\n${where} > "Hello Ali\\r\\n"\n`), server.stderr());
      server.child.kill("SIGTERM");
      assert.equal((await server.finished).code, 0);
    }
  });

  it("with stderr never read, the server keeps answering at full speed (trace lines dropped)", async () => {
    // Nobody reads the child's stderr: once the pipe is full, a blocking write would stall the server.
    const server = runCli(["serve", "--port", "0", "--log-level", "warn", "--trace"]);
    cleanups.push(() => server.kill());
    const stderr = server.child.stderr!;
    stderr.removeAllListeners("data");
    stderr.pause();
    const port = Number((await waitForOutput(server, server.stdout, LISTENING, 10_000))[1]);
    const client = await RawClient.connect(port);
    cleanups.push(() => client.destroy());
    // ~2 MB of trace output for ~0.6 MB of replies: far more than a pipe holds.
    const count = 20_000;
    client.send(Array.from({ length: count }, (_, i) => `line ${i}\n`).join(""));
    await client.waitForText(`line ${count - 1} Ali\r\n`, 20_000);
    assert.equal(client.text.split("\r\n").length - 1, count);

    // Read stderr again: once there is room, the count of the lines dropped is written.
    let seen = "";
    stderr.on("data", (chunk: Buffer) => {
      seen += chunk.toString("latin1");
      server.changes.changed();
    });
    stderr.resume();
    client.send("after\n");
    await client.waitForText("after Ali\r\n");
    const dropped = await waitForOutput(server, () => seen, /trace: (\d+) line\(s\) dropped, the terminal did not keep up\n/, 20_000);
    assert.ok(Number(dropped[1]) > 0);
  });
});

describe("BoundedWriter", { timeout: 30_000 }, () => {
  it("never blocks on a full pipe: drops and counts, then reports the drops once the reader catches up", async (t) => {
    if (spawnSync("sh", ["-c", "command -v mkfifo"]).status !== 0) {
      t.skip("needs mkfifo");
      return;
    }
    const folder = fs.mkdtempSync(join(tmpdir(), "name-echo-writer-"));
    const fifo = join(folder, "out");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    // Read-write so the open does not wait for a reader; non-blocking so a full pipe is EAGAIN.
    const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    cleanups.push(
      () => fs.rmSync(folder, { recursive: true, force: true }),
      () => fs.closeSync(fd),
    );
    const writer = new BoundedWriter({ fd, maxQueuedBytes: 64 * 1024, droppedLine: (n) => `dropped ${n}` });

    const line = "x".repeat(99);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 20_000; i++) writer.writeLine(line); // 2 MB: pipe (64 KiB) plus queue (64 KiB) overflow
    const tookMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(writer.dropped > 0, "lines were dropped");
    assert.ok(writer.queued <= 64 * 1024, `queue bounded (${writer.queued})`);
    t.diagnostic(`20,000 lines queued or dropped in ${tookMs.toFixed(1)} ms; ${writer.dropped} dropped`);

    // Now a reader drains the pipe; the writer catches up and reports what it dropped.
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    cleanups.push(() => fs.closeSync(reader));
    let text = "";
    const buffer = Buffer.alloc(65536);
    const drain = (): void => {
      for (;;) {
        try {
          const n = fs.readSync(reader, buffer);
          if (n <= 0) return;
          text += buffer.toString("latin1", 0, n);
        } catch {
          return; // EAGAIN: empty for now
        }
      }
    };
    const poll = setInterval(drain, 5);
    cleanups.push(() => clearInterval(poll));
    writer.writeLine("after");
    await writer.idle();
    drain();
    clearInterval(poll);
    const lines = text.split("\n").filter((l) => l !== "");
    assert.equal(lines.at(-1), "after");
    assert.equal(lines.at(-2), `dropped ${writer.dropped}`);
    assert.equal(lines.filter((l) => l === line).length, 20_000 - writer.dropped);
  });
});

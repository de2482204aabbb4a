/**
 * `serve --workers N`: N processes share one port, and one SIGINT or SIGTERM
 * to the primary stops them all gracefully (clients get the closing notice,
 * exit status 0). Every process is spawned here and killed by its pid only.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { describe, it } from "node:test";
import { runCli, startServe } from "../helpers/cli.js";
import { collect } from "../helpers/net.js";

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Connects, sends one line, resolves with the client once the reply is in; collects everything it receives. */
async function client(port: number): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const socket = net.connect({ host: "127.0.0.1", port });
  const data = collect(socket);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write("Hello\r\n");
  await data.until("Hello Ali\r\n");
  return { socket, received: () => data.text, closed };
}

describe("serve --workers", () => {
  for (const balance of ["round-robin", "kernel"]) {
    it(`${balance}: two workers answer on one port, and SIGINT to the primary stops all gracefully`, async () => {
      const server = await startServe(["--workers", "2", "--balance", balance]);
      const { child, port, stderr } = server;
      try {
        const workers = childPids(child.pid!);
        assert.equal(workers.length, 2, `two worker processes, got ${workers.join(",")}`);
        const clients = await Promise.all(Array.from({ length: 6 }, () => client(port)));
        child.kill("SIGINT");
        assert.equal(await server.exited(15_000), 0, stderr());
        for (const c of clients) {
          await c.closed;
          assert.match(c.received(), /Hello Ali\r\nclosing: the server is shutting down\r\n$/);
        }
        for (const pid of workers) assert.throws(() => process.kill(pid, 0), "worker is gone");
        assert.match(stderr(), /Ctrl-C: stopping 2 worker\(s\)/);
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    });
  }

  it("SIGTERM to the primary stops all; SIGINT to a worker alone is ignored", async () => {
    const server = await startServe(["--workers", "2", "--quiet"]);
    const { child, port, stderr } = server;
    try {
      const [first] = childPids(child.pid!);
      // Ctrl-C at a terminal reaches every process of the group; a worker must not act on it alone.
      process.kill(first!, "SIGINT");
      await new Promise((r) => setTimeout(r, 200));
      assert.doesNotThrow(() => process.kill(first!, 0), "worker still runs");
      const c = await client(port);
      child.kill("SIGTERM");
      assert.equal(await server.exited(15_000), 0, stderr());
      await c.closed;
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("a port in use stops the primary and all workers, with a clear line and exit status 1", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const child = runCli(["serve", "--port", String(port), "--workers", "2", "--quiet"], { stdio: ["ignore", "pipe", "pipe"] });
      assert.equal(await child.exited(15_000), 1);
      assert.match((await child.finished).stderr, /already in use/);
    } finally {
      blocker.close();
    }
  });

  it("rejects a bad --workers or --balance before starting anything", async () => {
    for (const args of [["--workers", "0"], ["--balance", "random"]]) {
      const child = runCli(["serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      assert.equal(await child.exited(10_000), 2, child.stderr());
      const err = (await child.finished).stderr;
      assert.equal(err.trim().split("\n").length, 1, err);
    }
  });
});

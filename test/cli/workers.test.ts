/**
 * `serve --workers N`: N processes share one port, and one SIGINT or SIGTERM
 * to the primary stops them all gracefully (clients get the closing notice,
 * exit status 0), in every balance mode this Node has. Every process is
 * spawned here and killed by its pid only.
 */
import { strict as assert } from "node:assert";
import * as net from "node:net";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { reusePortUnavailable } from "../../src/server/reuse-port.js";
import { AUTO_BALANCE, BALANCES } from "../helpers/balances.js";
import { childPids, isRunning, runCli, startServe } from "../helpers/cli.js";
import { LineClient } from "../helpers/fault.js";
import { collect, holderOfConnectionFrom } from "../helpers/net.js";
import { makeCertificate, type TestCertificate } from "../helpers/tls.js";
import { skipUnless } from "../helpers/tools.js";
import { waitFor } from "../helpers/wait.js";

/** Connects, sends one line, resolves with the client once the reply is in; collects everything it receives. */
async function client(port: number): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const socket = net.connect({ host: "127.0.0.1", port });
  const data = collect(socket);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write("Hello\r\n");
  await data.until("Hello Ali\r\n");
  return { socket, received: () => data.text, closed };
}

describe("serve --workers", { timeout: 300_000, skip: skipUnless("ss") }, () => {
  for (const balance of BALANCES) {
    describe(`--balance ${balance}`, () => {
      it(`two workers answer on one port, and SIGINT to the primary stops all gracefully`, async () => {
        const server = await startServe(["--workers", "2", "--balance", balance]);
        const { child, port, stderr } = server;
        try {
          const workers = childPids(child.pid!);
          assert.equal(workers.length, 2, `two worker processes, got ${workers.join(",")}`);
          assert.match(server.stdout(), new RegExp(`2 workers, balance ${balance} \\(as asked\\)`));
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

      it("SIGTERM to the primary stops all; SIGINT to a worker alone is ignored", async () => {
        const server = await startServe(["--workers", "2", "--balance", balance, "--quiet"]);
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

      it("a second SIGTERM drops the clients still there at once", async () => {
        const server = await startServe(["--workers", "2", "--balance", balance, "--shutdown-timeout", "60", "--linger-timeout", "60", "--quiet"]);
        const clients: LineClient[] = [];
        try {
          for (let i = 0; i < 6; i++) clients.push(await LineClient.connect(server.port));
          for (const c of clients) assert.equal((await c.roundTrip("Hello")).reply, "Hello Ali");
          server.child.kill("SIGTERM");
          // Told, and staying: only the second signal ends them before the 60 s.
          for (const c of clients) assert.equal(await c.nextLine(10_000), "closing: the server is shutting down");
          server.child.kill("SIGTERM");
          for (const c of clients) await c.closed(10_000);
          assert.equal(await server.exited(15_000), 0, server.stderr());
          assert.match(server.stderr(), /SIGTERM again: dropping the clients of 2 worker\(s\) now/);
        } finally {
          clients.forEach((c) => c.destroy());
          server.kill();
        }
      });

      it("a worker killed on its own is replaced; the other worker's clients notice nothing", async () => {
        const server = await startServe(["--workers", "2", "--balance", balance, "--log-format", "pretty"]);
        const clients: LineClient[] = [];
        const workers = childPids(server.pid);
        try {
          assert.equal(workers.length, 2);
          // Clients until both workers have some (the kernel's spread is not an alternation).
          const servedBy = new Map<LineClient, number>();
          await waitFor(
            async () => {
              const c = await LineClient.connect(server.port);
              clients.push(c);
              assert.equal((await c.roundTrip("who")).reply, "who Ali");
              const holder = holderOfConnectionFrom(c.socket.localPort!);
              assert.ok(workers.includes(holder), `the connection is held by ${holder}, not by a worker (${workers.join(", ")})`);
              servedBy.set(c, holder);
              return new Set(servedBy.values()).size === 2;
            },
            "clients on both workers",
            { timeoutMs: 10_000, intervalMs: 1 },
          );
          const [victim, survivor] = workers as [number, number];
          process.kill(victim, "SIGKILL");
          await server.waitForLog(new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting another`), 10_000);
          await waitFor(() => childPids(server.pid).length === 2 && !childPids(server.pid).includes(victim), "a new worker", {
            timeoutMs: 10_000,
            intervalMs: 20,
          });
          for (const [c, pid] of servedBy) {
            if (pid === survivor) assert.equal((await c.roundTrip("still")).reply, "still Ali");
            else await c.closed(5000);
          }
          // New clients are served, by whichever worker.
          for (let i = 0; i < 8; i++) {
            const c = await LineClient.connect(server.port);
            clients.push(c);
            assert.equal((await c.roundTrip(`after ${i}`)).reply, `after ${i} Ali`);
          }
          assert.equal(await server.stop(), 0, server.stderr());
        } finally {
          clients.forEach((c) => c.destroy());
          server.kill();
          for (const pid of childPids(server.pid).concat(workers).filter(isRunning)) process.kill(pid, "SIGKILL");
        }
      });

      it("a port in use stops the primary and all workers, with a clear line and exit status 1", async () => {
        const blocker = net.createServer();
        await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
        const { port } = blocker.address() as net.AddressInfo;
        try {
          const child = runCli(["serve", "--port", String(port), "--workers", "2", "--balance", balance, "--quiet"], {
            stdio: ["ignore", "pipe", "pipe"],
          });
          assert.equal(await child.exited(15_000), 1);
          assert.match((await child.finished).stderr, /already in use/);
        } finally {
          blocker.close();
        }
      });

      it("with PROXY protocol, each worker reads the header", async () => {
        const server = await startServe(["--workers", "2", "--balance", balance, "--proxy-protocol", "--quiet"]);
        const clients: LineClient[] = [];
        try {
          for (let i = 0; i < 6; i++) {
            const c = await LineClient.connect(server.port);
            clients.push(c);
            c.socket.write(`PROXY TCP4 192.0.2.${i + 1} 198.51.100.1 4000${i} 8888\r\n`);
            assert.equal((await c.roundTrip(`via proxy ${i}`)).reply, `via proxy ${i} Ali`);
          }
          assert.equal(await server.stop(), 0, server.stderr());
        } finally {
          clients.forEach((c) => c.destroy());
          server.kill();
        }
      });

      describe("with TLS", { skip: skipUnless("openssl") }, () => {
        let certificate: TestCertificate;
        before(() => (certificate = makeCertificate()));
        after(() => certificate?.remove());

        it("each worker serves TLS", async () => {
          const server = await startServe([
            "--workers",
            "2",
            "--balance",
            balance,
            "--tls-cert",
            certificate.certPath,
            "--tls-key",
            certificate.keyPath,
            "--quiet",
          ]);
          const sockets: tls.TLSSocket[] = [];
          try {
            for (let i = 0; i < 6; i++) {
              const socket = tls.connect({ host: "127.0.0.1", port: server.port, ca: certificate.cert, servername: "localhost" });
              sockets.push(socket);
              const data = collect(socket);
              socket.write(`secret ${i}\n`);
              await data.until(`secret ${i} Ali\r\n`);
            }
            assert.equal(await server.stop(), 0, server.stderr());
          } finally {
            sockets.forEach((socket) => socket.destroy());
            server.kill();
          }
        });
      });
    });
  }

  it(`by default, balance ${AUTO_BALANCE} here, and the start-up line says why`, async () => {
    const server = await startServe(["--workers", "2", "--quiet"]);
    try {
      const why = AUTO_BALANCE === "reuseport" ? `has reusePort` : `has no reusePort`;
      assert.match(server.stdout(), new RegExp(`2 workers, balance ${AUTO_BALANCE} \\(auto: Node ${process.versions.node} ${why}`));
      // Whatever the balance, the workers keep the handle transport.
      assert.match(server.stdout(), /, handle transport\) — /);
      assert.equal(await server.stop(), 0);
    } finally {
      server.kill();
    }
  });

  it("rejects a bad --workers or --balance before starting anything", async () => {
    const bad = [
      ["--workers", "0"],
      ["--balance", "random"],
    ];
    // Asking for reuseport where this Node has none is refused too, naming the way that works.
    if (reusePortUnavailable() !== null) bad.push(["--balance", "reuseport"]);
    for (const args of bad) {
      const child = runCli(["serve", "--port", "0", "--workers", "2", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      assert.equal(await child.exited(10_000), 2, child.stderr());
      const err = (await child.finished).stderr;
      assert.equal(err.trim().split("\n").length, 1, err);
    }
  });

  it("with reuseport, a port another program holds with SO_REUSEPORT is in use too, not joined", {
    skip: reusePortUnavailable() ?? false,
  }, async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ port: 0, host: "127.0.0.1", reusePort: true } as net.ListenOptions, resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const child = runCli(["serve", "--port", String(port), "--workers", "2", "--balance", "reuseport", "--quiet"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      assert.equal(await child.exited(15_000), 1);
      assert.match((await child.finished).stderr, /already in use/);
    } finally {
      blocker.close();
    }
  });
});

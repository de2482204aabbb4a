/**
 * NameEchoServer's graceful close() and immediate destroy(), over real
 * sockets on 127.0.0.1 port 0 (the lifecycle in docs/lifecycle.md).
 */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { NameEchoServer, type NameEchoServerOptions } from "../../src/server/server.js";
import { connectHalfOpen, portIsFree } from "../helpers/net.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { startInProcessServer as startNameEchoServer } from "../helpers/server.js";
import { TRANSPORTS } from "../helpers/transports.js";
import { waitFor } from "../helpers/wait.js";

const cleanups = cleanupsAfterEach();

/** A raw client; allowHalfOpen so it does not answer the server's FIN by itself. */
const rawClient = (port: number): Promise<net.Socket> => connectHalfOpen(port, cleanups);

/** Everything the socket receives until the server's FIN. */
function readAll(socket: net.Socket): Promise<string> {
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (text += chunk));
  return new Promise((resolve) => socket.once("end", () => resolve(text)));
}

/** Resolves once the server has read `lines` lines from its only client. */
async function serverHasRead(server: NameEchoServer, lines: number): Promise<void> {
  const read = (): number | undefined => [...server.connections][0]?.stats.lines;
  // The server emits no event per line; its counters are the observable (polled).
  await waitFor(() => read() === lines, `the server to read ${lines} lines`, {
    timeoutMs: 5000,
    seen: () => `server read ${read()} of ${lines} lines`,
  });
}

for (const transport of TRANSPORTS)
  describe(`NameEchoServer close() and destroy() (${transport} transport)`, { timeout: 20_000 }, () => {
    const startServer = (options: NameEchoServerOptions = {}): Promise<NameEchoServer> => startNameEchoServer(cleanups, { transport, ...options });
    it("close() answers every line already received, then the notice, then FIN; the port is free", async () => {
      const server = await startServer();
      const port = server.address!.port;
      const socket = await rawClient(port);
      // The client does not read yet, so the replies are still owed when close() starts.
      socket.pause();
      const count = 5000;
      socket.write(Array.from({ length: count }, (_, i) => `line ${i}\n`).join(""));
      await serverHasRead(server, count);
      const closing = server.close();
      assert.equal(server.state, "closing");
      assert.equal(await portIsFree(port), true, "no longer accepting: the listening socket is closed at once");
      const all = readAll(socket);
      socket.resume();
      const text = await all;
      socket.end(); // our FIN lets the server finish without waiting for its timeout
      await closing;
      const expected = Array.from({ length: count }, (_, i) => `line ${i} Ali\r\n`).join("") + "closing: the server is shutting down\r\n";
      assert.equal(text, expected);
      assert.equal(server.state, "closed");
    });

    it("close() drops clients still there after shutdownTimeout", async () => {
      const server = await startServer({ shutdownTimeout: 0.2 });
      const socket = await rawClient(server.address!.port);
      // This client reads the notice but never closes its side.
      const ended = readAll(socket);
      const started = Date.now();
      await server.close();
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 190 && elapsed < 2000, `close() took ${elapsed} ms for a 0.2 s shutdownTimeout`);
      assert.equal(await ended, "closing: the server is shutting down\r\n");
      assert.equal(server.connections.size, 0);
    });

    it("close() does not wait on a turned-away client beyond shutdownTimeout", async () => {
      const server = await startServer({ maxConnections: 1, shutdownTimeout: 0.2 });
      const first = await rawClient(server.address!.port);
      first.write("hi\n");
      await serverHasRead(server, 1);
      // Never reads its "server is full" notice and never closes.
      const rejected = new Promise((resolve) => server.once("rejected", resolve));
      const turnedAway = await rawClient(server.address!.port);
      turnedAway.pause();
      await rejected;
      const started = Date.now();
      await server.close();
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 2000, `close() took ${elapsed} ms; a turned-away client held it past its bound`);
    });

    it("destroy() drops every client at once", async () => {
      const server = await startServer({ shutdownTimeout: 60 });
      const accepted = new Promise((resolve) => server.once("connection", resolve));
      const socket = await rawClient(server.address!.port);
      socket.write("unanswered?");
      await accepted;
      let received = "";
      socket.setEncoding("utf8").on("data", (text: string) => (received += text));
      // Dropped: a FIN, or a reset when the server had unread input.
      const gone = new Promise((resolve) => {
        socket.once("end", resolve);
        socket.once("close", resolve);
      });
      const started = Date.now();
      await server.destroy();
      assert.ok(Date.now() - started < 1000);
      await gone;
      assert.equal(received, "", "no goodbye, no replies");
      assert.equal(server.state, "closed");
    });

    it("close() while listen() is still binding leaves nothing listening", async () => {
      const server = new NameEchoServer({ port: 0, transport });
      const listening = server.listen();
      const closing = server.close();
      await assert.rejects(listening, { code: "ERR_SERVER_NOT_RUNNING" });
      await closing;
      assert.equal(server.state, "closed");
      assert.equal(server.address, null);
    });
  });

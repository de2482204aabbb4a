/**
 * Stopping `name-echo serve` without a terminal: SIGTERM is graceful (every
 * reply owed arrives, then the notice, exit 0, port free), a second SIGTERM
 * is not, and stdin reaching EOF stops nothing.
 */
import * as assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { describe, it } from "node:test";
import { startServe, waitForOutput, type Running } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";
import { connectHalfOpen, portIsFree } from "../helpers/net.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";

const cleanups = cleanupsAfterEach();

async function serve(extra: string[] = []): Promise<Running & { port: number }> {
  const running = await startServe(extra);
  cleanups.push(() => running.kill());
  return running;
}

const rawClient = (port: number): Promise<net.Socket> => connectHalfOpen(port, cleanups);

/**
 * Bytes waiting in the receive queue of the server's end of the connection
 * (from /proc/net/tcp): 0 means the server process has read all we sent.
 */
function serverReceiveQueue(serverPort: number, clientPort: number): number | null {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, "0");
  for (const row of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const fields = row.trim().split(/\s+/);
    if (fields[1]?.endsWith(`:${hex(serverPort)}`) && fields[2]?.endsWith(`:${hex(clientPort)}`)) {
      return Number.parseInt(fields[4]!.split(":")[1]!, 16);
    }
  }
  return null;
}

const noProcNet = existsSync("/proc/net/tcp") ? false : "needs /proc/net/tcp (Linux) to see that the server has read every line";

describe("serve: stopping without a terminal", { timeout: 30_000 }, () => {
  it("SIGTERM with replies owed: every one arrives, then the notice; exit 0; port free", { skip: noProcNet }, async () => {
    const server = await serve();
    const socket = await rawClient(server.port);
    // Not reading: the replies pile up unread, owed when SIGTERM comes.
    socket.pause();
    const count = 20_000;
    await new Promise<void>((resolve) => socket.write(Array.from({ length: count }, (_, i) => `L${i}\n`).join(""), () => resolve()));
    // "Already received" means read by the server; wait until it has read everything we sent.
    // The kernel's queue has no event of its own: polled.
    await waitFor(() => serverReceiveQueue(server.port, socket.localPort!) === 0, "the server to read every line we sent", { timeoutMs: 5000 });
    server.child.kill("SIGTERM");
    let text = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
    socket.resume();
    await new Promise((resolve) => socket.once("end", resolve));
    socket.end();
    const result = await server.finished;
    const expected = Array.from({ length: count }, (_, i) => `L${i} Ali\r\n`).join("") + "closing: the server is shutting down\r\n";
    assert.equal(text.length, expected.length);
    assert.equal(text, expected);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /SIGTERM: stopping; 1 client/);
    assert.equal(await portIsFree(server.port), true);
  });

  it("a second SIGTERM drops clients at once", async () => {
    const server = await serve(["--shutdown-timeout", "60"]);
    await rawClient(server.port); // never closes: holds a graceful stop
    await waitForOutput(server, server.stderr, /connect 127\.0\.0\.1/, 5000);
    server.child.kill("SIGTERM");
    await waitForOutput(server, server.stderr, /SIGTERM: stopping/, 5000);
    const started = Date.now();
    server.child.kill("SIGTERM");
    const result = await server.finished;
    assert.ok(Date.now() - started < 2000);
    assert.equal(result.code, 0);
    assert.match(result.stderr, /SIGTERM again: dropping 1 client/);
    assert.equal(await portIsFree(server.port), true);
  });

  it("stdin at EOF (not a terminal) does not stop it; Esc is not watched", async () => {
    const server = await serve();
    assert.match(server.stdout(), /Ctrl-C or SIGTERM to stop/);
    server.child.stdin!.end("\x1b\x1b\x03"); // Esc and Ctrl-C bytes, then EOF: none is a key here
    await new Promise((resolve) => server.child.stdin!.once("finish", resolve));
    // Still serving after the EOF: a full round trip proves it.
    const socket = await rawClient(server.port);
    socket.setEncoding("utf8");
    socket.end("still here\n");
    let text = "";
    socket.on("data", (chunk: string) => (text += chunk));
    await new Promise((resolve) => socket.once("end", resolve));
    assert.equal(text, "still here Ali\r\n");
    assert.equal(server.child.exitCode, null, "still running");
    server.child.kill("SIGTERM");
    assert.equal((await server.finished).code, 0);
  });
});

/**
 * NameEchoClient against a real NameEchoServer on 127.0.0.1 port 0, and
 * against small raw TCP servers that misbehave on purpose (reset, silence,
 * early close, replies cut into single bytes).
 */
import * as assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { describe, it } from "node:test";
import { NameEchoClient } from "../../src/client/client.js";
import { NameEchoError } from "../../src/errors.js";
import { outOfDescriptorsNotice } from "../../src/protocol/notices.js";
import { NameEchoServer, type NameEchoServerOptions } from "../../src/server/server.js";
import { freePort } from "../helpers/net.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { startInProcessServer as startNameEchoServer } from "../helpers/server.js";

const cleanups = cleanupsAfterEach();

const startServer = (options: NameEchoServerOptions = {}): Promise<NameEchoServer> => startNameEchoServer(cleanups, options);

async function connect(...args: Parameters<typeof NameEchoClient.connect>): Promise<NameEchoClient> {
  const client = await NameEchoClient.connect(...args);
  cleanups.push(() => client.destroy());
  return client;
}

/** A raw TCP server on port 0 whose connection handler is the test's. */
async function rawServer(onConnection: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof NameEchoError, `a NameEchoError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe("NameEchoClient", { timeout: 20_000 }, () => {
  it("runs the README example: a reply per line, the connection seen from both ends", async () => {
    const server = await startServer({ name: "Ali" });
    const seen: string[] = [];
    server.on("connection", (conn) => seen.push(`${conn.remote} -> ${conn.local}`));
    const client = await NameEchoClient.connect(server.address!);
    assert.equal(await client.send("Hello"), "Hello Ali");
    assert.deepEqual(seen, [`${client.local} -> ${client.remote}`]);
    assert.equal(client.name, "Ali");
    await client.close();
    assert.equal(client.state, "closed");
    await server.close();
    assert.equal(server.state, "closed");
  });

  it("matches many sends in flight, in order, including lines that look like notices", async () => {
    const server = await startServer({ name: "Ali Baba" });
    const client = await connect(server.address!);
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`);
    lines.splice(10, 0, "", "error: not really", "closing: nor this", "  spaced  ", "héllo wörld €");
    const replies = await Promise.all(lines.map((line) => client.send(line)));
    assert.deepEqual(
      replies,
      lines.map((line) => (line === "" ? "Ali Baba" : `${line} Ali Baba`)),
    );
    assert.equal(client.pendingCount, 0);
  });

  it("fails only the send whose line was too long; the others still get their replies", async () => {
    const server = await startServer({ maxLineLength: 16 });
    const client = await connect(server.address!);
    const notices: string[] = [];
    client.on("notice", (notice) => notices.push(notice));
    const results = await Promise.allSettled([client.send("short"), client.send("x".repeat(40)), client.send("after")]);
    assert.deepEqual(results[0], { status: "fulfilled", value: "short Ali" });
    assert.equal(results[1].status, "rejected");
    assert.equal(((results[1] as PromiseRejectedResult).reason as NameEchoError).code, "ERR_LINE_TOO_LONG");
    assert.deepEqual(results[2], { status: "fulfilled", value: "after Ali" });
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /^error: line longer than 16 bytes/);
  });

  it("refuses a line with CR or LF in it, which would be sent as two lines", async () => {
    const server = await startServer();
    const client = await connect(server.address!);
    await rejectsWith(client.send("a\nb"), "ERR_INVALID_LINE");
    await rejectsWith(client.send("a\rb"), "ERR_INVALID_LINE");
    assert.equal(await client.send("a b"), "a b Ali", "the connection is still in step");
  });

  it("close() waits for every owed reply, then later sends fail", async () => {
    const server = await startServer();
    const client = await connect(server.address!);
    const sends = Array.from({ length: 500 }, (_, i) => client.send(`n${i}`));
    const closing = client.close();
    await rejectsWith(client.send("late"), "ERR_CONNECTION_CLOSED", /close\(\) was called/);
    assert.deepEqual(
      await Promise.all(sends),
      Array.from({ length: 500 }, (_, i) => `n${i} Ali`),
    );
    await closing;
    assert.equal(client.state, "closed");
    await rejectsWith(client.send("later"), "ERR_CONNECTION_CLOSED");
  });

  it("destroy() fails what is owed at once", async () => {
    // A server that reads and never answers, so replies stay owed.
    const port = await rawServer((socket) => socket.resume());
    const client = await connect(port);
    const owed = rejectsWith(client.send("never answered"), "ERR_CONNECTION_CLOSED", /destroy/);
    await client.destroy();
    await owed;
    assert.equal(client.state, "closed");
  });

  it("reports a refused connection with ERR_CONNECTION_REFUSED and a hint", async () => {
    const port = await freePort();
    await rejectsWith(NameEchoClient.connect({ host: "127.0.0.1", port }), "ERR_CONNECTION_REFUSED", new RegExp(`127\\.0\\.0\\.1:${port}.*refused`));
  });

  it("reports a reset with ERR_CONNECTION_RESET", async () => {
    const port = await rawServer((socket) => socket.once("data", () => socket.resetAndDestroy()));
    const client = await connect(port);
    await rejectsWith(client.send("boom"), "ERR_CONNECTION_RESET");
  });

  it("fails owed sends with ERR_TIMEOUT when the server goes silent", async () => {
    const port = await rawServer((socket) => socket.resume());
    const client = await connect(port, { replyTimeout: 0.2 });
    const started = Date.now();
    await rejectsWith(client.send("anyone?"), "ERR_TIMEOUT", /no reply .* 0\.2 seconds/);
    assert.ok(Date.now() - started >= 190);
    assert.notEqual(client.state, "open", "the connection is dropped");
    await rejectsWith(client.send("again?"), "ERR_TIMEOUT");
  });

  it("fails owed sends with ERR_CONNECTION_CLOSED when the server closes without answering", async () => {
    const port = await rawServer((socket) => socket.once("data", () => socket.end()));
    const client = await connect(port);
    await rejectsWith(client.send("bye?"), "ERR_CONNECTION_CLOSED", /closed the connection/);
  });

  it("drops a server that sends a line over maxLineLength: ERR_LINE_TOO_LONG for what is owed", async () => {
    const port = await rawServer((socket) => socket.once("data", () => socket.write("x".repeat(100))));
    const client = await connect(port, { maxLineLength: 10 });
    const closed = once(client, "close");
    await rejectsWith(client.send("hello"), "ERR_LINE_TOO_LONG", /sent a line of more than 10 bytes; is 127\.0\.0\.1:\d+ a name-echo server\?/);
    const [error] = await closed;
    assert.equal((error as NameEchoError | undefined)?.code, "ERR_LINE_TOO_LONG", "the close says why");
    assert.equal(client.state, "closed");
  });

  it("reassembles replies that arrive one byte per segment, CR LF split included", async () => {
    const port = await rawServer((socket) => {
      socket.setNoDelay(true);
      let pending = "";
      socket.setEncoding("utf8").on("data", async (text: string) => {
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop()!;
        for (const line of lines) {
          for (const byte of Buffer.from(`${line === "" ? "" : `${line} `}Zoë\r\n`)) {
            socket.write(Buffer.from([byte]));
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
      });
    });
    const client = await connect(port);
    assert.deepEqual(await Promise.all(["a", "日本", ""].map((line) => client.send(line))), ["a Zoë", "日本 Zoë", "Zoë"]);
  });

  it("iterates over every incoming line and ends when the server closes", async () => {
    const server = await startServer();
    const client = await connect(server.address!);
    const received: string[] = [];
    const reading = (async () => {
      for await (const line of client) received.push(line);
    })();
    await Promise.all(["one", "two", "three"].map((line) => client.send(line)));
    await server.close();
    await reading;
    assert.deepEqual(received, ["one Ali", "two Ali", "three Ali", "closing: the server is shutting down"]);
  });

  it("hears the server's closing notice: owed and later sends fail with its words", async () => {
    const server = await startServer();
    const client = await connect(server.address!);
    const notice = once(client, "notice");
    const closing = server.close();
    assert.deepEqual(await notice, ["closing: the server is shutting down"]);
    await rejectsWith(client.send("too late"), "ERR_CONNECTION_CLOSED", /shutting down/);
    await closing; // our client ends its side when the server does, so this is quick
    assert.equal(client.state, "closed");
  });

  it("tells a client turned away by a full server: ERR_SERVER_FULL", async () => {
    const server = await startServer({ maxConnections: 1 });
    const first = await connect(server.address!);
    assert.equal(await first.send("in"), "in Ali");
    const second = await connect(server.address!);
    await rejectsWith(second.send("me too"), "ERR_SERVER_FULL", /server is full/);
  });

  it("tells a client turned away for want of file descriptors: ERR_SERVER_FULL, and the notice event", async () => {
    const port = await rawServer((socket) => socket.end(outOfDescriptorsNotice()));
    const client = await connect({ port });
    const notice = once(client, "notice");
    await rejectsWith(client.send("hello"), "ERR_SERVER_FULL", /out of capacity \(file descriptors\)/);
    assert.deepEqual(await notice, ["error: server is out of capacity (file descriptors); try again later"]);
  });

  it("tells notices from replies by kind: an unknown error stands in for the oldest reply, an unknown closing ends the rest", async () => {
    const port = await rawServer((socket) => {
      let seen = "";
      socket.on("data", (chunk: Buffer) => {
        seen += chunk.toString("latin1");
        if (seen.split("\n").length - 1 === 3) socket.write("error: disk on fire\r\nclosing: for a reason of its own\r\n");
      });
    });
    const client = await connect({ port });
    const notices: string[] = [];
    client.on("notice", (text) => notices.push(text));
    const sends = [client.send("one"), client.send("two"), client.send("three")];
    await rejectsWith(sends[0]!, "ERR_SERVER_ERROR", /disk on fire/);
    await rejectsWith(sends[1]!, "ERR_CONNECTION_CLOSED", /for a reason of its own/);
    await rejectsWith(sends[2]!, "ERR_CONNECTION_CLOSED");
    assert.deepEqual(notices, ["error: disk on fire", "closing: for a reason of its own"]);
  });
});

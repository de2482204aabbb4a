import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import * as os from "node:os";
import { afterEach, describe, test } from "node:test";
import { Endpoint, NameEchoError, NameEchoServer, TcpConnection, type NameEchoServerOptions } from "../../src/index.js";
import { RawClient } from "../helpers/net.js";
import { TRANSPORTS } from "../helpers/transports.js";
import { waitFor } from "../helpers/wait.js";

const servers: NameEchoServer[] = [];
const clients: RawClient[] = [];

async function startOn(transport: string, options: NameEchoServerOptions = {}): Promise<{ server: NameEchoServer; port: number }> {
  const server = new NameEchoServer({ port: 0, transport: transport as NameEchoServerOptions["transport"], ...options });
  assert.equal(server.transport, transport);
  servers.push(server);
  const { port } = await server.listen();
  return { server, port };
}

async function connect(port: number, options?: { read?: boolean }): Promise<RawClient> {
  const client = await RawClient.connect(port, "127.0.0.1", options);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(servers.splice(0).map((server) => server.destroy()));
});

for (const transport of TRANSPORTS)
  describe(`NameEchoServer on real sockets (${transport} transport)`, { timeout: 60_000 }, () => {
    const start = (options: NameEchoServerOptions = {}) => startOn(transport, options);
    test("listen() resolves to the bound address; port 0 picks a free port", async () => {
      const { server, port } = await start();
      assert.ok(port > 0);
      assert.ok(server.address instanceof Endpoint);
      assert.deepEqual(server.address.toJSON(), { address: "127.0.0.1", port, family: "IPv4" });
    });

    test("replies to each line with the name added, and sends nothing unasked", async () => {
      const { port } = await start();
      const client = await connect(port);
      client.send("Hello\r\n");
      await client.waitForText("\r\n");
      assert.equal(client.text, "Hello Ali\r\n");
    });

    test("every line end, empty lines, and bytes that are not UTF-8", async () => {
      const { port } = await start({ name: "Zoë" });
      const client = await connect(port);
      // 0xFF is telnet's IAC and has its own tests; every other byte is data.
      client.send("a\nb\r\nc\r\0d\re\n\n\xfe\x80\xc3\x28\n");
      const expected = Buffer.concat([
        Buffer.from("a Zoë\r\nb Zoë\r\nc Zoë\r\nd Zoë\r\ne Zoë\r\nZoë\r\n"),
        Buffer.from([0xfe, 0x80, 0xc3, 0x28]),
        Buffer.from(" Zoë\r\n"),
      ]);
      await client.waitForBytes(expected.length);
      assert.deepEqual(client.received, expected);
    });

    test("a CR ending one read and an LF starting the next are one line end", async () => {
      const { port } = await start();
      const client = await connect(port);
      // Each step waits for a reply, so the server has surely read the previous bytes on their own.
      client.send("first\nHel");
      await client.waitForText("first Ali\r\n");
      client.send("lo\r");
      await client.waitForText("Hello Ali\r\n");
      client.send("\nnext\n");
      await client.waitForText("next Ali\r\n");
      assert.equal(client.text, "first Ali\r\nHello Ali\r\nnext Ali\r\n");
    });

    test("partial lines of several clients never mix (the handle transport reads all into one buffer)", async () => {
      const { server, port } = await start();
      const accepted: TcpConnection[] = [];
      server.on("connection", (connection) => accepted.push(connection));
      const a = await connect(port);
      const b = await connect(port);
      // Server-side state has no event per read: polled.
      const until = async (done: () => boolean, what: string): Promise<void> => {
        await waitFor(done, what, { timeoutMs: 5000 });
      };
      const connectionOf = async (client: RawClient): Promise<TcpConnection> => {
        const mine = (c: TcpConnection): boolean => c.remote.port === client.socket.localPort;
        await until(() => accepted.some(mine), "the server to accept");
        return accepted.find(mine)!;
      };
      const [serverA, serverB] = [await connectionOf(a), await connectionOf(b)];
      const hasRead = (connection: TcpConnection, bytes: number): Promise<void> =>
        until(() => connection.stats.bytesIn === bytes, `the server to read ${bytes} bytes`);
      a.send("hel");
      await hasRead(serverA, 3);
      b.send("XYZW\r");
      await hasRead(serverB, 5);
      a.send("lo\r");
      await hasRead(serverA, 6);
      b.send("\nnext\n");
      await b.waitForText("next Ali\r\n");
      a.send("\n");
      await a.waitForText("hello Ali\r\n");
      assert.equal(a.text, "hello Ali\r\n");
      assert.equal(
        b.text,
        "XYZW Ali\r\nnext Ali\r\n",
        "a CR at the end of one read and LF at the start of the next, with another client's read between",
      );
    });

    test("a multi-byte character split across writes comes back intact", async () => {
      const { port } = await start();
      const client = await connect(port);
      const snowman = Buffer.from("☃");
      client.send(Buffer.concat([Buffer.from("sync\n"), snowman.subarray(0, 1)]));
      await client.waitForText("sync Ali\r\n");
      client.send(Buffer.concat([snowman.subarray(1), Buffer.from("\n")]));
      await client.waitForBytes(Buffer.byteLength("sync Ali\r\n☃ Ali\r\n"));
      assert.equal(client.received.toString("utf8"), "sync Ali\r\n☃ Ali\r\n");
    });

    test("a final line without a line end is answered after the client half-closes, then the server closes", async () => {
      const { port } = await start();
      const client = await connect(port);
      client.send("one\nlast");
      client.socket.end();
      await client.waitForEnd();
      assert.equal(client.text, "one Ali\r\nlast Ali\r\n");
    });

    test("10,000 pipelined lines are answered in order", async () => {
      const { port } = await start();
      const client = await connect(port);
      const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i}`);
      client.send(lines.join("\n") + "\n");
      const expected = lines.map((line) => `${line} Ali\r\n`).join("");
      await client.waitForBytes(expected.length, 20_000);
      assert.equal(client.text, expected);
    });

    test("three clients interleaving each get only their own replies, in order", async () => {
      const { port } = await start();
      const trio = await Promise.all([connect(port), connect(port), connect(port)]);
      for (let round = 0; round < 20; round++) {
        trio.forEach((client, who) => client.send(`client ${who} line ${round}\n`));
      }
      await Promise.all(
        trio.map(async (client, who) => {
          const expected = Array.from({ length: 20 }, (_, round) => `client ${who} line ${round} Ali\r\n`).join("");
          await client.waitForBytes(expected.length);
          assert.equal(client.text, expected);
        }),
      );
    });

    test("200 clients at once are all served", async () => {
      const { server, port } = await start();
      const many = await Promise.all(Array.from({ length: 200 }, () => connect(port)));
      many.forEach((client, i) => client.send(`hi ${i}\nbye ${i}\n`));
      await Promise.all(
        many.map(async (client, i) => {
          const expected = `hi ${i} Ali\r\nbye ${i} Ali\r\n`;
          await client.waitForBytes(expected.length, 20_000);
          assert.equal(client.text, expected);
        }),
      );
      assert.equal(server.connections.size, 200, "all 200 are open at the same time");
    });

    test("a client that never reads is paused and does not slow another", async () => {
      const { server, port } = await start({ maxUnsentBytes: 64 * 1024 });
      const accepted = once(server, "connection") as Promise<[TcpConnection]>;
      const stuck = await connect(port, { read: false });
      const [stuckConnection] = await accepted;
      const line = Buffer.from("x".repeat(1000) + "\n");
      const burst = Buffer.concat(Array.from({ length: 1000 }, () => line)); // 1 MB per write
      // Keep writing until the server stops reading this client. Our own writes
      // may stall first (TCP pushes back), so wait for whichever comes first.
      const paused = once(stuckConnection, "paused");
      let isPaused = false;
      void paused.then(() => (isPaused = true));
      for (let i = 0; i < 200 && !isPaused; i++) {
        if (!stuck.socket.write(burst)) await Promise.race([once(stuck.socket, "drain"), paused]);
      }
      assert.equal(stuckConnection.isPausedForBackpressure, true, "the server paused the client that does not read");
      assert.ok(stuckConnection.unsentBytes <= 64 * 1024 + 2 * burst.length, `unsent ${stuckConnection.unsentBytes}`);

      const other = await connect(port);
      for (let i = 0; i < 100; i++) {
        other.send(`ping ${i}\n`);
        await other.waitForText(`ping ${i} Ali\r\n`);
      }
      assert.equal(stuckConnection.isPausedForBackpressure, true, "still paused while the other client was served");
    });

    test("a paused client that takes nothing for a whole idle period is dropped without waiting another", async () => {
      const { server, port } = await start({ maxUnsentBytes: 64 * 1024, idleTimeout: 1 });
      const accepted = once(server, "connection") as Promise<[TcpConnection]>;
      const stuck = await connect(port, { read: false });
      const [stuckConnection] = await accepted;
      const closed = once(stuckConnection, "close");
      const paused = once(stuckConnection, "paused");
      let isPaused = false;
      void paused.then(() => (isPaused = true));
      const burst = Buffer.alloc(1_000_000, "y\n");
      for (let i = 0; i < 200 && !isPaused; i++) {
        if (!stuck.socket.write(burst)) await Promise.race([once(stuck.socket, "drain"), paused]);
      }
      assert.equal(isPaused, true);
      const pausedAt = Date.now();
      await closed;
      const after = (Date.now() - pausedAt) / 1000;
      // One idle period (plus a sweep interval), not two.
      assert.ok(after < 1.9, `dropped ${after.toFixed(2)} s after the pause`);
      assert.equal(server.connections.size, 0);
    });

    test("a 'connection' event carries a TcpConnection with both endpoints", async () => {
      const { server, port } = await start();
      const accepted = once(server, "connection") as Promise<[TcpConnection]>;
      const client = await connect(port);
      const [connection] = await accepted;
      assert.ok(connection instanceof TcpConnection);
      assert.equal(connection.local.port, port);
      assert.equal(connection.local.address, "127.0.0.1");
      assert.equal(connection.remote.port, client.socket.localPort);
      assert.equal(connection.remote.family, "IPv4");
      assert.equal(String(connection), `127.0.0.1:${client.socket.localPort} -> 127.0.0.1:${port}`);
    });

    test("captureEndpoints: true keeps a closed connection's endpoints; false leaves them to first use even with listeners", async () => {
      for (const capture of [true, false]) {
        const { server, port } = await start({ captureEndpoints: capture });
        const accepted = once(server, "connection") as Promise<[TcpConnection]>;
        const gone = once(server, "disconnect") as Promise<[TcpConnection]>;
        const client = await connect(port);
        const clientPort = client.socket.localPort;
        const [connection] = await accepted;
        // Nothing is read while it is open: only a capture at accept can tell the endpoints after the close.
        client.socket.destroy();
        await gone;
        if (capture) {
          assert.equal(connection.remote.port, clientPort);
          assert.equal(connection.local.port, port);
        } else {
          assert.notEqual(connection.remote.port, clientPort, "looked up at accept although captureEndpoints is false");
        }
      }
    });

    test("IPv6 loopback works and shows as [::1]:port", { skip: !hasIPv6Loopback() && "no IPv6 loopback" }, async () => {
      const { server, port } = await start({ host: "::1" });
      const accepted = once(server, "connection") as Promise<[TcpConnection]>;
      const client = await RawClient.connect(port, "::1");
      clients.push(client);
      const [connection] = await accepted;
      assert.equal(String(connection.local), `[::1]:${port}`);
      client.send("six\n");
      await client.waitForText("six Ali\r\n");
    });

    test("a line over the limit gets an error line; the connection and the next lines carry on", async () => {
      const { port } = await start({ maxLineLength: 16 });
      const client = await connect(port);
      client.send("short\n" + "y".repeat(100) + "\nafter\n");
      await client.waitForText("after Ali\r\n");
      assert.equal(client.text, "short Ali\r\nerror: line longer than 16 bytes; the rest of it was discarded\r\nafter Ali\r\n");
    });

    test("past max-connections a new client is told and closed; the others are untouched", async () => {
      const { server, port } = await start({ maxConnections: 2 });
      const first = await connect(port);
      const second = await connect(port);
      const rejected = once(server, "rejected");
      const third = await connect(port);
      await third.waitForEnd();
      await rejected;
      assert.equal(third.text, "error: server is full (2 connections); try again later\r\n");
      for (const client of [first, second]) {
        client.send("still here\n");
        await client.waitForText("still here Ali\r\n");
      }
    });

    test("an idle client is told and closed", async () => {
      const { port } = await start({ idleTimeout: 0.2 });
      const client = await connect(port);
      client.send("hi\n");
      await client.waitForEnd();
      assert.equal(client.text, "hi Ali\r\nclosing: no input for 0.2 seconds\r\n");
    });

    test("an idle client that never closes its side is dropped after the linger", async () => {
      const { server, port } = await start({ idleTimeout: 0.2, lingerTimeout: 0.3 });
      const accepted = once(server, "connection");
      // allowHalfOpen: the server's FIN does not make this client end its side.
      const client = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      let text = "";
      client.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
      client.on("error", () => {});
      const [connection] = (await accepted) as [TcpConnection];
      const started = Date.now();
      // The client never ends its side: only the linger after the notice can free the connection.
      const [, error] = (await once(server, "disconnect")) as [TcpConnection, Error | undefined];
      const elapsed = Date.now() - started;
      assert.equal(error, undefined);
      assert.equal(connection.state, "closed");
      assert.equal(text, "closing: no input for 0.2 seconds\r\n");
      client.destroy();
      // The idle period (0.2 s) and the linger (0.3 s), each noticed within one sweep (50 ms) of its end.
      assert.ok(elapsed >= 450 && elapsed < 2000, `closed after ${elapsed} ms`);
    });

    test("a client told to go by close() gets the whole linger, counted from the notice, to close its side", async () => {
      const { server, port } = await start({ idleTimeout: 0.4, lingerTimeout: 0.4, shutdownTimeout: 10 });
      const accepted = once(server, "connection");
      const client = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      client.on("error", () => {});
      await accepted;
      // Quiet for most of an idle period before the server is stopped.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      const closed = server.close();
      await once(server, "disconnect");
      const elapsed = Date.now() - started;
      client.destroy();
      await closed;
      assert.ok(elapsed >= 350 && elapsed < 5000, `dropped ${elapsed} ms after close(): not the linger of 400 ms`);
    });

    test("activity keeps an idle timeout from firing", async () => {
      const { port } = await start({ idleTimeout: 0.3 });
      const client = await connect(port);
      for (let i = 0; i < 6; i++) {
        client.send(`tick ${i}\n`);
        await client.waitForText(`tick ${i} Ali\r\n`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(!client.text.includes("closing"), client.text);
      await client.waitForEnd();
      assert.ok(client.text.endsWith("tick 5 Ali\r\nclosing: no input for 0.3 seconds\r\n"), client.text);
    });

    test("close() answers owed lines, tells each client, closes them and frees the port", async () => {
      const { server, port } = await start();
      const a = await connect(port);
      const b = await connect(port);
      a.send("one\n");
      await a.waitForText("one Ali\r\n");
      await server.close();
      await Promise.all([a.waitForEnd(), b.waitForEnd()]);
      assert.equal(a.text, "one Ali\r\nclosing: the server is shutting down\r\n");
      assert.equal(b.text, "closing: the server is shutting down\r\n");
      assert.equal(server.state, "closed");
      // The port is free again.
      const again = new NameEchoServer({ port });
      servers.push(again);
      await again.listen();
    });

    test("close() drops clients that stay after shutdownTimeout", async () => {
      const { server, port } = await start({ shutdownTimeout: 0.2 });
      const lingering = await connect(port, { read: false });
      const started = Date.now();
      await server.close();
      assert.ok(Date.now() - started < 5000);
      await lingering.waitFor((c) => c.socket.destroyed || c.ended || c.socket.readableLength > 0, "the socket to close");
      assert.equal(server.connections.size, 0);
    });

    test("a port already in use is reported as ERR_ADDRESS_IN_USE with a hint", async () => {
      const { port } = await start();
      const second = new NameEchoServer({ port });
      await assert.rejects(second.listen(), (error: NodeJS.ErrnoException) => {
        assert.equal(error.code, "ERR_ADDRESS_IN_USE");
        // The library names its option, not a flag: the CLI says --port itself.
        assert.match(error.message, new RegExp(`^port ${port} is already in use.*choose another port`));
        assert.doesNotMatch(error.message, /--/);
        return true;
      });
    });

    test("bad options are refused with the option's name", () => {
      assert.throws(() => new NameEchoServer({ port: 70000 }), /port must be a whole number from 0 to 65535/);
      assert.throws(() => new NameEchoServer({ name: "a\nb" }), /name must not contain control characters/);
      assert.throws(() => new NameEchoServer({ name: "x".repeat(257) }), /name is 257 bytes long; the limit is 256/);
      assert.throws(() => new NameEchoServer({ maxLineLength: 0 }), /maxLineLength must be a whole number from 1/);
    });

    test("a name with text-direction or invisible format characters is refused like a control character", () => {
      // Each end of each range: overrides and embeddings, isolates, zero-width characters and direction marks.
      for (const char of ["\u202A", "\u202E", "\u2066", "\u2069", "\u200B", "\u200F"]) {
        const found = `U+${char.codePointAt(0)!.toString(16).toUpperCase()}`;
        assert.throws(
          () => new NameEchoServer({ name: `Ali${char}ceh` }),
          (error: NameEchoError) =>
            error.code === "ERR_INVALID_OPTION" &&
            error.message ===
              `name must not contain invisible or text-direction characters (found ${found}), which reorder or hide text; use printable text`,
          found,
        );
      }
      // Letters of right-to-left scripts are text, not format characters.
      assert.equal(new NameEchoServer({ name: "علي" }).options.name, "علي");
    });
  });

function hasIPv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((list) => (list ?? []).some((entry) => entry.family === "IPv6" && entry.internal));
}

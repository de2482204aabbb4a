/** GET /connections and /status with real clients on 127.0.0.1: each field follows what the clients do. */
import * as assert from "node:assert/strict";
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { describe, it } from "node:test";
import type { ConnectionInfo } from "../../src/ops/connections.js";
import { previewText } from "../../src/ops/connections.js";
import { OpsHttpServer } from "../../src/ops/http-server.js";
import type { ServerStatus } from "../../src/ops/status.js";
import { LocalView } from "../../src/ops/view.js";
import { NameEchoServer } from "../../src/server/server.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { RawClient } from "../helpers/net.js";
import { TRANSPORTS } from "../helpers/transports.js";
import type { TransportName } from "../../src/server/transport/transport.js";
import { waitFor } from "../helpers/wait.js";

const IAC = 0xff;
const DO = 0xfd;
const ECHO = 1;

async function getJson<T>(port: number, path: string): Promise<{ body: T; headers: Headers }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  return { body: (await response.json()) as T, headers: response.headers };
}

const cleanups = cleanupsAfterEach();

async function start(
  transport: TransportName,
  options: ConstructorParameters<typeof NameEchoServer>[0] = {},
): Promise<{ server: NameEchoServer; port: number; httpPort: number }> {
  const server = new NameEchoServer({ port: 0, transport, ...options });
  const { port } = await server.listen();
  const http = new OpsHttpServer(new LocalView(server), { port: 0 });
  const { port: httpPort } = await http.listen();
  cleanups.push(
    () => server.destroy(),
    () => http.close(),
  );
  return { server, port, httpPort };
}

/** Polls /connections until `predicate` holds (the server's view of a socket trails the client's by an event-loop turn). */
async function connectionsWhen(httpPort: number, predicate: (list: ConnectionInfo[]) => boolean, what: string): Promise<ConnectionInfo[]> {
  let body: ConnectionInfo[] = [];
  return waitFor<ConnectionInfo[]>(
    async () => {
      body = (await getJson<ConnectionInfo[]>(httpPort, "/connections")).body;
      return predicate(body) && body;
    },
    what,
    { timeoutMs: 5000, intervalMs: 20, seen: () => `/connections says ${JSON.stringify(body)}` },
  );
}

for (const transport of TRANSPORTS)
  describe(`GET /connections (${transport} transport)`, { timeout: 30_000 }, () => {
    it("lists each open connection with its endpoints, traffic, telnet mode and what it is typing", async () => {
      const { server, port, httpPort } = await start(transport, { idleTimeout: 60 });
      assert.deepEqual((await getJson<ConnectionInfo[]>(httpPort, "/connections")).body, []);

      const lineClient = await RawClient.connect(port);
      cleanups.push(() => lineClient.destroy());
      lineClient.send("Hello\r\nWorld\r\n");
      await lineClient.waitForText("World Ali\r\n");
      lineClient.send("half a li");

      const telnet = await RawClient.connect(port);
      cleanups.push(() => telnet.destroy());
      telnet.send(Buffer.from([IAC, DO, ECHO]));
      await telnet.waitFor((c) => c.received.includes(Buffer.from([IAC, 0xfb, ECHO])), "IAC WILL ECHO");

      const list = await connectionsWhen(httpPort, (l) => l.length === 2 && l[0]!.pendingBytes === 9, "two connections, one typing");
      const [first, second] = list as [ConnectionInfo, ConnectionInfo];
      assert.ok(first.id < second.id, "ids in order of arrival");
      assert.deepEqual(first.remote, { address: "127.0.0.1", port: lineClient.socket.localPort, family: "IPv4" });
      assert.deepEqual(first.local, { address: "127.0.0.1", port, family: "IPv4" });
      assert.equal(first.transport, transport);
      assert.equal(first.tls, false);
      assert.equal(first.state, "open");
      assert.deepEqual(first.telnet, { mode: "line", echo: "client" });
      assert.equal(first.lines, 2);
      assert.equal(first.bytesIn, "Hello\r\nWorld\r\n".length + "half a li".length);
      assert.equal(first.bytesOut, "Hello Ali\r\nWorld Ali\r\n".length);
      assert.equal(first.unsentBytes, 0);
      assert.equal(first.typing, "half a li");
      assert.ok(first.connectedForMs >= 0 && first.connectedForMs < 10_000);
      assert.equal(typeof first.idleForMs, "number");

      assert.equal(second.remote.port, telnet.socket.localPort);
      assert.deepEqual(second.telnet, { mode: "character", echo: "server" });
      assert.equal(second.lines, 0);

      const { body: status } = await getJson<ServerStatus>(httpPort, "/status");
      assert.equal(status.name, "Ali");
      assert.equal(status.address, `127.0.0.1:${port}`);
      assert.equal(status.totals.connectionsOpen, 2);
      assert.equal(status.totals.connectionsTotal, 2);
      assert.equal(status.totals.lines, 2);
      assert.equal(status.limits.idleTimeoutSeconds, 60);

      // One leaves (its unfinished line is answered on the way out): its row
      // goes, the other keeps its id; the totals keep its lines.
      const gone = once(server, "disconnect");
      lineClient.socket.end();
      await gone;
      const after = await connectionsWhen(httpPort, (l) => l.length === 1, "one connection");
      assert.equal(after[0]!.id, second.id);
      assert.equal((await getJson<ServerStatus>(httpPort, "/status")).body.totals.lines, 3);
    });

    it("shows what a character-mode client (server echo) is typing, key by key, as the editor holds it", async () => {
      const { port, httpPort } = await start(transport);
      const telnet = await RawClient.connect(port);
      cleanups.push(() => telnet.destroy());
      telnet.send(Buffer.from([IAC, DO, ECHO]));
      await telnet.waitFor((c) => c.received.includes(Buffer.from([IAC, 0xfb, ECHO])), "IAC WILL ECHO");
      const typed = Buffer.from("Hi theGrüße 日本");
      for (const byte of typed) telnet.send(Buffer.from([byte]));
      // Left three times, then DEL: the line as edited (the e before the space gone), not the bytes as sent.
      telnet.send("\x1b[D\x1b[D\x1b[D\x7f");
      const list = await connectionsWhen(httpPort, (l) => l.length === 1 && l[0]!.typing === "Hi theGrüß 日本", "the edited half line");
      assert.deepEqual(list[0]!.telnet, { mode: "character", echo: "server" });
      assert.equal(list[0]!.pendingBytes, Buffer.byteLength("Hi theGrüß 日本"));
    });

    it("shows a client that does not read its replies as paused, and one being told to go as closing", async () => {
      const { server, port, httpPort } = await start(transport, { maxUnsentBytes: 1024 });
      const reader = await RawClient.connect(port);
      const stalled = await RawClient.connect(port, "127.0.0.1", { read: false });
      cleanups.push(
        () => stalled.destroy(),
        () => reader.destroy(),
      );
      // Far more replies than the kernel buffers and the 1 KiB bound hold.
      const line = `${"x".repeat(1000)}\n`;
      const flood = setInterval(() => stalled.send(line.repeat(64)), 5);
      cleanups.push(() => clearInterval(flood));
      const paused = await connectionsWhen(httpPort, (l) => l.some((c) => c.state === "paused"), "a paused connection");
      clearInterval(flood);
      const info = paused.find((c) => c.state === "paused")!;
      assert.equal(info.remote.port, stalled.socket.localPort);
      assert.ok(info.unsentBytes >= 1024, `unsent ${info.unsentBytes} is past the bound`);
      assert.equal(paused.find((c) => c.remote.port === reader.socket.localPort)!.state, "open");

      // A graceful stop: the stalled client cannot take its goodbye, so it stays, closing.
      void server.close();
      await reader.waitForText("closing");
      await connectionsWhen(httpPort, (l) => l.some((c) => c.remote.port === stalled.socket.localPort && c.state === "closing"), "closing");
      const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(5000) });
      assert.equal(ready.status, 503);
    });

    it("?limit=N returns the first N and says how many there are", async () => {
      const { port, httpPort } = await start(transport);
      const clients = await Promise.all([1, 2, 3].map(() => RawClient.connect(port)));
      cleanups.push(() => clients.forEach((c) => c.destroy()));
      await connectionsWhen(httpPort, (l) => l.length === 3, "three connections");
      const { body, headers } = await getJson<ConnectionInfo[]>(httpPort, "/connections?limit=2");
      assert.equal(body.length, 2);
      assert.equal(headers.get("x-total-count"), "3");
    });

    it("idle time is null when the idle timeout is off (no sweep measures it)", async () => {
      const { port, httpPort } = await start(transport, { idleTimeout: 0 });
      const client = await RawClient.connect(port);
      cleanups.push(() => client.destroy());
      const [info] = await connectionsWhen(httpPort, (l) => l.length === 1, "one connection");
      assert.equal(info!.idleForMs, null);
    });
  });

describe("the HTTP port on loopback", { timeout: 10_000 }, () => {
  /** A GET with a chosen Host header (fetch does not let a page, or us, choose it). */
  function getWithHost(port: number, host: string, path = "/connections"): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = httpRequest({ host: "127.0.0.1", port, path, headers: { host } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on("error", reject);
      request.end();
    });
  }

  it("answers loopback names only, so DNS rebinding cannot read it", async () => {
    const { httpPort } = await start("handle");
    for (const host of [`127.0.0.1:${httpPort}`, `localhost:${httpPort}`, `[::1]:${httpPort}`, "127.0.0.1"]) {
      assert.equal(await getWithHost(httpPort, host), 200, host);
    }
    for (const host of [`evil.example:${httpPort}`, "10.0.0.1", `127.0.0.1.evil.example:${httpPort}`]) {
      assert.equal(await getWithHost(httpPort, host), 403, host);
    }
    // HTTP/1.0 without a Host (a script, a health checker) is no browser: answered.
    const raw = await RawClient.connect(httpPort);
    cleanups.push(() => raw.destroy());
    raw.send("GET /connections HTTP/1.0\r\n\r\n");
    await raw.waitForEnd();
    assert.match(raw.text, /^HTTP\/1\.1 200 /);
    // Health checks answer whatever the Host (a load balancer's is its own business).
    assert.equal(await getWithHost(httpPort, "10.0.0.1", "/readyz"), 200);
    assert.equal(await getWithHost(httpPort, "10.0.0.1", "/healthz"), 200);
  });
});

describe("previewText", () => {
  const cases: Array<[name: string, bytes: Buffer, text: string]> = [
    ["plain text", Buffer.from("Hello"), "Hello"],
    ["UTF-8 stays", Buffer.from("héllo ✓"), "héllo ✓"],
    ["controls escaped", Buffer.from("a\x1b[2Jb\x07"), "a\\x1b[2Jb\\x07"],
    ["text-direction and invisible characters escaped", Buffer.from("a\u202eb\u2066c\u200b"), "a\\u202eb\\u2066c\\u200b"],
    ["invalid UTF-8 becomes U+FFFD", Buffer.from([0x61, 0xff, 0x62]), "a\ufffdb"],
    ["markup is just text", Buffer.from("<script>x</script>"), "<script>x</script>"],
    ["cut at 80 characters", Buffer.from("y".repeat(100)), `${"y".repeat(80)}…`],
  ];
  for (const [name, bytes, text] of cases) {
    it(name, () => assert.equal(previewText(bytes), text));
  }
});

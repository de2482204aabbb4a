/** PROXY protocol and TLS on a real NameEchoServer, over loopback. */
import * as assert from "node:assert/strict";
import { once } from "node:events";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { NameEchoServer, type NameEchoServerOptions } from "../../src/server/server.js";
import type { TcpConnection } from "../../src/server/connection.js";
import { encodeProxyV1, encodeProxyV2 } from "../../src/protocol/proxy-protocol.js";
import { closed, collect, connect } from "../helpers/net.js";
import { makeCertificate, opensslSaysHello, type TestCertificate } from "../helpers/tls.js";
import { skipUnless } from "../helpers/tools.js";
import { TRANSPORTS } from "../helpers/transports.js";

async function withServerOn(options: NameEchoServerOptions, body: (server: NameEchoServer, port: number) => Promise<void>): Promise<void> {
  const server = new NameEchoServer({ port: 0, ...options });
  if (options.transport) assert.equal(server.transport, options.transport);
  const { port } = await server.listen();
  try {
    await body(server, port);
  } finally {
    await server.destroy();
  }
}

const SOURCE = { address: "203.0.113.7", port: 41234, family: "IPv4" as const };
const DEST = { address: "127.0.0.1", port: 8888, family: "IPv4" as const };

type WithServer = (options: NameEchoServerOptions, body: (server: NameEchoServer, port: number) => Promise<void>) => Promise<void>;

/** A header that never comes right: the same outcome and the same words through a transport and, before TLS, through the raw socket. */
function headerFailures(withServer: WithServer): void {
  it("a client without a header is closed unanswered and reported, never served", async () => {
    await withServer({ proxyProtocol: true }, async (server, port) => {
      let served = false;
      server.on("connection", () => (served = true));
      const rejected = once(server, "rejected");
      const socket = await connect(port);
      const clientPort = socket.localPort;
      const replies = collect(socket);
      socket.on("error", () => {});
      socket.write("Hello\x1b[2J\r\n");
      const [remote, reason, detail] = await rejected;
      await closed(socket);
      assert.equal(reason, "proxy-header");
      assert.match(detail, /did not start with a PROXY/);
      assert.match(detail, /Hello\\x1b\[2J/, "client bytes are escaped in the detail");
      assert.equal(String(remote), `127.0.0.1:${clientPort}`);
      assert.equal(replies.text, "");
      assert.equal(served, false);
    });
  });

  it("a silent connection is dropped after the handshake timeout", async () => {
    await withServer({ proxyProtocol: true, handshakeTimeout: 0.2 }, async (server, port) => {
      const rejected = once(server, "rejected");
      const socket = await connect(port);
      socket.on("error", () => {});
      const started = Date.now();
      const [, reason, detail] = await rejected;
      await closed(socket);
      assert.equal(reason, "proxy-header");
      assert.match(detail, /within 0.2 s/);
      assert.ok(Date.now() - started < 2000);
    });
  });

  it("a peer that half-closes mid-header is rejected", async () => {
    await withServer({ proxyProtocol: true }, async (server, port) => {
      const rejected = once(server, "rejected");
      const socket = await connect(port);
      socket.on("error", () => {});
      socket.end("PROXY TCP4 1.2.3.4");
      const [, reason, detail] = await rejected;
      assert.equal(reason, "proxy-header");
      assert.match(detail, /closed before/);
      await closed(socket);
    });
  });
}

// A PROXY header alone is read on either transport; with TLS (below) it is the stream transport's.
for (const transport of TRANSPORTS)
  describe(`--proxy-protocol (${transport} transport)`, { timeout: 30_000 }, () => {
    const withServer = (options: NameEchoServerOptions, body: (server: NameEchoServer, port: number) => Promise<void>): Promise<void> =>
      withServerOn({ transport, ...options }, body);
    for (const [name, header] of [
      ["v1", encodeProxyV1(SOURCE, DEST)],
      ["v2", encodeProxyV2(SOURCE, DEST)],
    ] as const) {
      it(`${name}: the header's client becomes connection.remote, and data in the same segment is answered`, async () => {
        await withServer({ proxyProtocol: true }, async (server, port) => {
          const connected = once(server, "connection") as Promise<[TcpConnection]>;
          const socket = await connect(port);
          const replies = collect(socket);
          socket.write(Buffer.concat([header, Buffer.from("Hello\r\nWorld\n")]));
          const [connection] = await connected;
          assert.equal(connection.remote.toString(), "203.0.113.7:41234");
          await replies.until("World Ali\r\n");
          assert.equal(replies.text, "Hello Ali\r\nWorld Ali\r\n");
          socket.destroy();
        });
      });
    }

    it("header split byte by byte, then lines", async () => {
      await withServer({ proxyProtocol: true }, async (_server, port) => {
        const socket = await connect(port);
        socket.setNoDelay(true);
        const replies = collect(socket);
        for (const byte of encodeProxyV2(SOURCE, DEST)) {
          socket.write(Buffer.from([byte]));
          await new Promise((resolve) => setImmediate(resolve));
        }
        socket.write("Hello\n");
        await replies.until("Hello Ali\r\n");
        socket.destroy();
      });
    });

    it("a LOCAL (health check) header keeps the socket's own address", async () => {
      await withServer({ proxyProtocol: true }, async (server, port) => {
        const connected = once(server, "connection") as Promise<[TcpConnection]>;
        const socket = await connect(port);
        socket.write(encodeProxyV2(undefined, undefined, { local: true }));
        const [connection] = await connected;
        assert.equal(connection.remote.address, "127.0.0.1");
        assert.equal(connection.remote.port, socket.localPort);
        socket.destroy();
      });
    });

    headerFailures(withServer);

    it("pending headers count against maxConnections and close() drops them at once", async () => {
      const server = new NameEchoServer({ port: 0, proxyProtocol: true, maxConnections: 1, handshakeTimeout: 30, transport });
      const { port } = await server.listen();
      const first = await connect(port);
      first.on("error", () => {});
      // No wait for the first to be pending: the kernel's accept queue is first
      // in, first out, so the server accepts it (and starts reading its header)
      // before it accepts the second, which connected after it.
      const rejected = once(server, "rejected");
      const second = await connect(port);
      second.on("error", () => {});
      const [remote, reason] = await rejected;
      assert.equal(reason, "max-connections");
      assert.equal((remote as { port: number }).port, second.localPort, "the second client is the one turned away");
      // (A turned-away client is given up to 5 s to read its notice; not what this test is about.)
      second.destroy();
      const started = Date.now();
      await server.close();
      assert.ok(Date.now() - started < 1000, "close() did not wait for a pending header");
      await closed(first);
    });
  });

describe("TLS", { timeout: 60_000 }, () => {
  const withServer = withServerOn;
  let certificate: TestCertificate | undefined;
  const skip = skipUnless("openssl");
  before(() => {
    if (!skip) certificate = makeCertificate();
  });
  after(() => certificate?.remove());

  it("openssl s_client gets Hello Ali back", { skip, timeout: 20_000 }, async () => {
    await withServer({ tls: { cert: certificate!.cert, key: certificate!.key } }, async (_server, port) => {
      await opensslSaysHello(port);
    });
  });

  it("a Node TLS client is served, and the connection reports the client's address", { skip }, async () => {
    await withServer({ tls: { cert: certificate!.cert, key: certificate!.key } }, async (server, port) => {
      assert.equal(server.transport, "stream", "TLS is the stream transport's");
      const connected = once(server, "connection") as Promise<[TcpConnection]>;
      const socket = tls.connect({ host: "127.0.0.1", port, ca: certificate!.cert, servername: "localhost" });
      await once(socket, "secureConnect");
      const replies = collect(socket);
      socket.write("Hello\r\nWorld\r\n");
      await replies.until("World Ali\r\n");
      const [connection] = await connected;
      assert.equal(connection.remote.port, socket.localPort);
      // Half-close: the final unterminated line is still answered over TLS.
      socket.end("Last");
      await replies.until("Last Ali\r\n");
      await closed(socket as never);
    });
  });

  describe("a PROXY header before TLS, read from the raw socket", { skip }, () => {
    headerFailures((options, body) => withServer({ ...options, tls: { cert: certificate!.cert, key: certificate!.key } }, body));

    it("a header, then no TLS handshake: dropped when what the header left of the deadline is over", async () => {
      await withServer(
        { proxyProtocol: true, handshakeTimeout: 0.3, tls: { cert: certificate!.cert, key: certificate!.key } },
        async (server, port) => {
          let served = false;
          server.on("connection", () => (served = true));
          const rejected = once(server, "rejected");
          const socket = await connect(port);
          socket.on("error", () => {});
          const started = Date.now();
          socket.write(encodeProxyV1(SOURCE, DEST));
          const [remote, reason, detail] = await rejected;
          await closed(socket);
          assert.equal(reason, "tls-handshake");
          assert.equal(detail, "no TLS handshake within 0.3 s");
          assert.equal(String(remote), "203.0.113.7:41234", "the header's client is the one reported");
          assert.ok(Date.now() - started < 2000);
          assert.equal(served, false);
        },
      );
    });
  });

  it("PROXY header in the clear, then TLS (HAProxy passing TLS through)", { skip }, async () => {
    await withServer({ proxyProtocol: true, tls: { cert: certificate!.cert, key: certificate!.key } }, async (server, port) => {
      const connected = once(server, "connection") as Promise<[TcpConnection]>;
      const raw = await connect(port);
      raw.write(encodeProxyV1(SOURCE, DEST));
      const socket = tls.connect({ socket: raw, ca: certificate!.cert, servername: "localhost" });
      await once(socket, "secureConnect");
      const replies = collect(socket);
      socket.write("Hello\n");
      await replies.until("Hello Ali\r\n");
      const [connection] = await connected;
      assert.equal(String(connection.remote), "203.0.113.7:41234");
      socket.destroy();
    });
  });

  it("a plain-text client on a TLS port is rejected as a failed handshake", { skip }, async () => {
    await withServer({ tls: { cert: certificate!.cert, key: certificate!.key } }, async (server, port) => {
      const rejected = once(server, "rejected");
      const socket = await connect(port);
      socket.on("error", () => {});
      socket.write("Hello\r\n");
      const [, reason] = await rejected;
      assert.equal(reason, "tls-handshake");
      await closed(socket);
    });
  });

  it("a key that does not fit is an option error at construction", { skip }, () => {
    assert.throws(() => new NameEchoServer({ tls: { cert: certificate!.cert, key: "not a key" } }), { code: "ERR_INVALID_OPTION" });
    assert.throws(() => new NameEchoServer({ tls: { cert: certificate!.cert } }), /needs both/);
  });
});

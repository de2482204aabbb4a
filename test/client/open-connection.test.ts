/**
 * openConnection(), the one client-side connect (NameEchoClient, `name-echo
 * connect`, --raw, bench), plain TCP and TLS, against real servers on 127.0.0.1.
 */
import * as assert from "node:assert/strict";
import type * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { openConnection } from "../../src/client/open-connection.js";
import { Endpoint } from "../../src/endpoint.js";
import { NameEchoServer } from "../../src/server/server.js";
import { collect, freePort } from "../helpers/net.js";
import { makeCertificate, type TestCertificate } from "../helpers/tls.js";
import { skipUnless } from "../helpers/tools.js";

describe("openConnection (the client side of every connect, TCP and TLS)", { timeout: 30_000 }, () => {
  const skip = skipUnless("openssl");
  let certificate: TestCertificate | undefined;
  let tlsServer: NameEchoServer | undefined;
  let plainServer: NameEchoServer | undefined;
  let tlsPort = 0;
  let plainPort = 0;
  before(async () => {
    plainServer = new NameEchoServer({ port: 0 });
    plainPort = (await plainServer.listen()).port;
    if (skip) return;
    certificate = makeCertificate();
    tlsServer = new NameEchoServer({ port: 0, tls: { cert: certificate.cert, key: certificate.key } });
    tlsPort = (await tlsServer.listen()).port;
  });
  after(async () => {
    await tlsServer?.destroy();
    await plainServer?.destroy();
    certificate?.remove();
  });

  async function roundTrip(socket: net.Socket): Promise<void> {
    const replies = collect(socket);
    socket.write("Hello\n");
    await replies.until("Hello Ali\r\n");
    socket.destroy();
  }

  it("plain TCP", async () => {
    await roundTrip(await openConnection(new Endpoint("127.0.0.1", plainPort)));
  });

  it("TLS, verified against the given CA and the name it was issued for", { skip }, async () => {
    await roundTrip(await openConnection(new Endpoint("localhost", tlsPort), { tls: { ca: certificate!.cert } }));
  });

  it("TLS to a self-signed server without its CA fails with a clear ERR_TLS", { skip }, async () => {
    await assert.rejects(openConnection(new Endpoint("127.0.0.1", tlsPort), { tls: true }), { code: "ERR_TLS", message: /not trusted/ });
  });

  it("TLS to a plain server fails, not hangs", async () => {
    await assert.rejects(openConnection(new Endpoint("127.0.0.1", plainPort), { tls: true, timeoutMs: 1000 }), (error: Error & { code?: string }) => {
      return error.code === "ERR_TLS" || error.code === "ERR_TIMEOUT";
    });
  });

  it("nothing listening: ERR_CONNECTION_REFUSED, in the same words over TCP and TLS, the system's error kept as the cause", async () => {
    const target = new Endpoint("127.0.0.1", await freePort());
    const refused = { code: "ERR_CONNECTION_REFUSED", message: `cannot connect to ${target}: connection refused; is a server running there?` };
    await assert.rejects(openConnection(target), refused);
    await assert.rejects(openConnection(target, { tls: true }), refused);
    await assert.rejects(openConnection(target, { timeoutMs: 0 }), (error: Error) => (error.cause as NodeJS.ErrnoException).code === "ECONNREFUSED");
  });

  it("half-open only when asked (raw mode): after the server's FIN, our side stays open to send", async () => {
    const plain = await openConnection(new Endpoint("127.0.0.1", plainPort));
    const halfOpen = await openConnection(new Endpoint("127.0.0.1", plainPort), { allowHalfOpen: true });
    assert.equal(plain.allowHalfOpen, false);
    assert.equal(halfOpen.allowHalfOpen, true);
    plain.destroy();
    halfOpen.destroy();
  });
});

import * as assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { NameEchoServer } from "../../src/server/server.js";
import { openSocket } from "../../src/transport.js";
import { collect, freePort } from "../helpers/net.js";
import { makeCertificate, type TestCertificate } from "../helpers/tls.js";
import { skipUnless } from "../helpers/tools.js";

describe("openSocket (client side of --tls)", { timeout: 30_000 }, () => {
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

  async function roundTrip(socket: import("node:net").Socket): Promise<void> {
    const replies = collect(socket);
    socket.write("Hello\n");
    await replies.until("Hello Ali\r\n");
    socket.destroy();
  }

  it("plain TCP", async () => {
    await roundTrip(await openSocket("127.0.0.1", plainPort));
  });

  it("TLS, verified against the given CA and the name it was issued for", { skip }, async () => {
    await roundTrip(await openSocket("localhost", tlsPort, { tls: { ca: certificate!.cert } }));
  });

  it("TLS to a self-signed server without its CA fails with a clear ERR_TLS", { skip }, async () => {
    await assert.rejects(openSocket("127.0.0.1", tlsPort, { tls: true }), { code: "ERR_TLS", message: /not trusted/ });
  });

  it("TLS to a plain server fails, not hangs", async () => {
    await assert.rejects(openSocket("127.0.0.1", plainPort, { tls: true, timeoutMs: 1000 }), (error: Error & { code?: string }) => {
      return error.code === "ERR_TLS" || error.code === "ERR_TIMEOUT";
    });
  });

  it("nothing listening: ERR_CONNECTION_REFUSED", async () => {
    await assert.rejects(openSocket("127.0.0.1", await freePort()), { code: "ERR_CONNECTION_REFUSED" });
  });
});

/**
 * TLS end to end with name-echo's own client: the library's `tls` option and
 * `name-echo connect --tls --tls-ca`, against a NameEchoServer serving a
 * throwaway self-signed certificate made by the real openssl.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NameEchoClient } from "../../src/client/client.js";
import { NameEchoServer } from "../../src/server/server.js";
import { runCli } from "../helpers/cli.js";
import { makeCertificate, type TestCertificate } from "../helpers/tls.js";
import { skipUnless } from "../helpers/tools.js";

const skip = skipUnless("openssl");

describe("TLS with name-echo's own client", { timeout: 30_000, skip }, () => {
  let certificate: TestCertificate;
  let server: NameEchoServer;
  let port: number;

  before(async () => {
    certificate = makeCertificate();
    server = new NameEchoServer({ port: 0, tls: { cert: certificate.cert, key: certificate.key } });
    port = (await server.listen()).port;
  });

  after(async () => {
    await server?.destroy();
    certificate?.remove();
  });

  it("NameEchoClient with { tls: { ca } } gets its reply over TLS", async () => {
    const client = await NameEchoClient.connect({ host: "127.0.0.1", port }, { tls: { ca: certificate.cert } });
    try {
      assert.equal(await client.send("Hello"), "Hello Ali");
    } finally {
      await client.close();
    }
  });

  it("NameEchoClient without trusting the certificate fails with ERR_TLS", async () => {
    await assert.rejects(NameEchoClient.connect({ host: "127.0.0.1", port }, { tls: true }), { code: "ERR_TLS" });
  });

  it("name-echo connect --tls --tls-ca prints the replies and exits 0", async () => {
    const result = await runCli(["connect", "--tls", "--tls-ca", certificate.certPath, "127.0.0.1", String(port)], {
      input: "Hello\nWorld\n",
    }).finished;
    assert.equal(result.stdout, "Hello Ali\nWorld Ali\n");
    assert.equal(result.code, 0);
  });

  it("name-echo connect --tls to an untrusted certificate fails with one line", async () => {
    const result = await runCli(["connect", "--tls", "127.0.0.1", String(port)], { input: "Hello\n" }).finished;
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});

describe("name-echo connect --tls-ca naming something that is not a regular file", { timeout: 30_000 }, () => {
  it("a FIFO: one line, exit 2, no hang (reading it would wait for a writer)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "name-echo-tls-ca-"));
    try {
      const fifo = join(dir, "ca.fifo");
      execFileSync("mkfifo", [fifo]);
      const result = await runCli(["connect", "--tls", "--tls-ca", fifo, "127.0.0.1", "1"], { input: "Hello\n" }).finished;
      assert.equal(result.code, 2);
      assert.match(result.stderr, /^name-echo: cannot read --tls-ca ".*ca\.fifo": it is a FIFO \(named pipe\), not a regular file\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** `name-echo serve` with the operations flags and variables, as a real process. */
import * as assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { instancesOfSuite } from "../helpers/instance.js";
import { collect, connect } from "../helpers/net.js";
import { makeCertificate, opensslSaysHello, type TestCertificate } from "../helpers/tls.js";
import { skipUnless } from "../helpers/tools.js";

async function hello(port: number): Promise<string> {
  const socket = await connect(port);
  const replies = collect(socket);
  socket.end("Hello\n");
  await once(socket, "close");
  return replies.text;
}

describe("serve: environment, metrics, TLS", { timeout: 60_000 }, () => {
  const start = instancesOfSuite();

  it("NAME_ECHO_* configures every flag, and a flag on the command line wins", async () => {
    const fromEnv = start([], { NAME_ECHO_PORT: "0", NAME_ECHO_NAME: "Zed", NAME_ECHO_METRICS_PORT: "0" });
    const port = await fromEnv.listening();
    assert.equal(await hello(port), "Hello Zed\r\n");
    const started = await fromEnv.waitFor("start log", () => fromEnv.logs.find((r) => r.event === "start"));
    assert.match(String(started.metrics), /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    // The counters moved for the client above.
    const body = await (await fetch(String(started.metrics), { signal: AbortSignal.timeout(5000) })).text();
    assert.match(body, /^name_echo_lines_total 1$/m);
    fromEnv.child.kill("SIGTERM");
    assert.equal(await fromEnv.exited(), 0);

    const flagWins = start(["--name", "Ali"], { NAME_ECHO_PORT: "0", NAME_ECHO_NAME: "Zed" });
    assert.equal(await hello(await flagWins.listening()), "Hello Ali\r\n");
    flagWins.child.kill("SIGTERM");
    assert.equal(await flagWins.exited(), 0);
  });

  it("--offer-echo (or NAME_ECHO_OFFER_ECHO=1): every client is offered echo, suppress-go-ahead and NAWS at connect; without it, only replies", async () => {
    const offer = Buffer.from([0xff, 0xfb, 1, 0xff, 0xfb, 3, 0xff, 0xfd, 31]);
    for (const [args, env] of [
      [["--port", "0", "--offer-echo"], {}],
      [["--port", "0"], { NAME_ECHO_OFFER_ECHO: "1" }],
    ] as const) {
      const instance = start([...args], env);
      assert.deepEqual(Buffer.from(await hello(await instance.listening()), "latin1"), Buffer.concat([offer, Buffer.from("Hello Ali\r\n")]));
      instance.child.kill("SIGTERM");
      assert.equal(await instance.exited(), 0);
    }
    const plain = start(["--port", "0"]);
    assert.equal(await hello(await plain.listening()), "Hello Ali\r\n");
    plain.child.kill("SIGTERM");
    assert.equal(await plain.exited(), 0);
  });

  it("a bad value from the environment names the variable and exits 2", async () => {
    const bad = start([], { NAME_ECHO_MAX_LINE_LENGTH: "lots" });
    assert.equal(await bad.exited(), 2);
    assert.match(bad.stderr, /^name-echo: NAME_ECHO_MAX_LINE_LENGTH must be .*"lots"\n$/);
  });

  it("--log-level warn writes no line per connection", async () => {
    const quiet = start(["--port", "0", "--log-level", "warn"]);
    assert.equal(await hello(await quiet.listening()), "Hello Ali\r\n");
    quiet.child.kill("SIGTERM");
    assert.equal(await quiet.exited(), 0);
    assert.deepEqual(
      quiet.logs.filter((r) => r.event === "connect" || r.event === "disconnect"),
      [],
    );
  });

  describe("TLS", () => {
    const skip = skipUnless("openssl");
    let certificate: TestCertificate | undefined;
    before(() => {
      if (!skip) certificate = makeCertificate();
    });
    after(() => certificate?.remove());

    it("--tls-cert/--tls-key: openssl s_client gets Hello Ali back", { skip }, async () => {
      const server = start(["--port", "0", "--tls-cert", certificate!.certPath, "--tls-key", certificate!.keyPath]);
      const port = await server.listening();
      await opensslSaysHello(port);
      server.child.kill("SIGTERM");
      assert.equal(await server.exited(), 0);
    });

    it("--tls-cert without --tls-key is a usage error", { skip }, async () => {
      const bad = start(["--tls-cert", certificate!.certPath]);
      assert.equal(await bad.exited(), 2);
      assert.match(bad.stderr, /--tls-cert needs --tls-key/);
    });
  });
});

/**
 * `name-echo connect` as a user runs it: piped input, --raw against a web
 * server, an unreachable server, bad arguments. The server is a real
 * NameEchoServer on 127.0.0.1 port 0.
 */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { runCli, waitForOutput, type Running } from "../helpers/cli.js";
import { freePort } from "../helpers/net.js";
import { startInProcessServer } from "../helpers/server.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";

const cleanups = cleanupsAfterEach();

async function startServer(): Promise<number> {
  return (await startInProcessServer(cleanups)).address!.port;
}

function cli(args: string[], input?: string): Running {
  const running = runCli(args, input === undefined ? {} : { input });
  cleanups.push(() => running.kill());
  return running;
}

describe("name-echo connect", { timeout: 30_000 }, () => {
  it("piped: prints every reply and exits 0 (the issue's 'done when')", async () => {
    const port = await startServer();
    const result = await cli(["connect", "127.0.0.1", String(port)], "Hello\nWorld\n").finished;
    assert.equal(result.stdout, "Hello Ali\nWorld Ali\n");
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
  });

  it("piped: 10,000 lines all answered, in order, quickly", async () => {
    const port = await startServer();
    const lines = Array.from({ length: 10_000 }, (_, i) => `line number ${i}`);
    const started = Date.now();
    const result = await cli(["connect", String(port)], `${lines.join("\n")}\n`).finished;
    const elapsed = Date.now() - started;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, lines.map((line) => `${line} Ali\n`).join(""));
    // Pipelined, this is well under a second; one round trip per line would be far slower.
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  });

  it("piped: a last line without a line end and CR LF input are answered too", async () => {
    const port = await startServer();
    const result = await cli(["connect", "127.0.0.1", String(port)], "one\r\ntwo\r\nlast").finished;
    assert.equal(result.stdout, "one Ali\ntwo Ali\nlast Ali\n");
    assert.equal(result.code, 0);
  });

  it("an unreachable server: one clear line on stderr, nothing on stdout, exit 1", async () => {
    const port = await freePort();
    const result = await cli(["connect", "127.0.0.1", String(port)], "Hello\n").finished;
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, new RegExp(`^name-echo: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`));
  });

  it("--raw talks plain TCP: an HTTP request to a web server on loopback, answer printed until it closes", async () => {
    const web = http.createServer((request, response) => {
      response.setHeader("Content-Type", "text/plain");
      response.end(`you asked for ${request.method} ${request.url}\n`);
    });
    await new Promise<void>((resolve) => web.listen({ host: "127.0.0.1", port: 0 }, resolve));
    cleanups.push(() => new Promise((resolve) => web.close(resolve)));
    const { port } = web.address() as AddressInfo;
    const result = await cli(["connect", "--raw", "127.0.0.1", String(port)], "GET /lab HTTP/1.0\r\nHost: localhost\r\n\r\n").finished;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(result.stdout, /\r\n\r\nyou asked for GET \/lab\n$/);
  });

  it("--raw passes bytes through untouched, CR LF and all", async () => {
    const port = await startServer();
    const result = await cli(["connect", "--raw", "127.0.0.1", String(port)], "a\r\nb\n").finished;
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "a Ali\r\nb Ali\r\n");
  });

  it("--raw says on stderr that it connected, before the server has said anything", async () => {
    // A server that says nothing: all the user sees is what connect prints itself.
    const port = await startServer();
    const running = cli(["connect", "--raw", "127.0.0.1", String(port)]);
    await waitForOutput(
      running,
      running.stderr,
      new RegExp(`^connected to 127\\.0\\.0\\.1:${port} \\(raw TCP\\): what you type is sent as it is; Ctrl-D ends it\n$`),
      10_000,
    );
    assert.equal(running.stdout(), "");
  });

  it("an unreachable server: bench says it in the same words as connect", async () => {
    const port = await freePort();
    const connect = await cli(["connect", "127.0.0.1", String(port)], "Hello\n").finished;
    const bench = await cli(["bench", "--connect", `127.0.0.1:${port}`, "--duration", "0.2", "--clients", "1"]).finished;
    const refused = `name-echo: cannot connect to 127.0.0.1:${port}: connection refused; is a server running there?\n`;
    assert.equal(connect.stderr, refused);
    assert.equal(bench.stderr, refused);
    assert.equal(bench.code, 1);
  });

  it("a port out of range: the range, without serve's hint about port 0", async () => {
    for (const args of [["127.0.0.1", "99999"], ["127.0.0.1:99999"]]) {
      const result = await cli(["connect", ...args]).finished;
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        /^name-echo: PORT must be a whole number from 0 to 65535 \(the port the server listens on\), not 99999; see 'name-echo connect --help'\n$/,
      );
      assert.doesNotMatch(result.stderr, /free port/);
    }
  });

  it("rejects bad arguments with exit 2 and a hint", async () => {
    const tooMany = await cli(["connect", "a", "1", "extra"]).finished;
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /unexpected argument 'extra'/);
    const badPort = await cli(["connect", "localhost", "http"]).finished;
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /PORT must be a whole number from 0 to 65535/);
    const help = await cli(["connect", "--help"]).finished;
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: name-echo connect \[HOST\] \[PORT\]/);
  });
});

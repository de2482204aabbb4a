/** The metrics endpoint watched while a real client talks: the counters move. */
import * as assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { instrumentServer, StatusServer } from "../../src/metrics.js";
import { NameEchoError } from "../../src/errors.js";
import { NameEchoServer } from "../../src/server/server.js";
import { closed, collect, connect } from "../helpers/net.js";

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text() };
}

function value(body: string, metric: string): number {
  const line = body.split("\n").find((l) => l.startsWith(`${metric} `));
  assert.ok(line, `${metric} is exported`);
  return Number(line.split(" ")[1]);
}

describe("metrics and health", { timeout: 30_000 }, () => {
  it("counts idle timeouts, from the server's one 'limit' event", async () => {
    const server = new NameEchoServer({ port: 0, idleTimeout: 0.1 });
    const { port } = await server.listen();
    const metrics = new StatusServer(server, instrumentServer(server), { port: 0 });
    const { port: metricsPort } = await metrics.listen();
    try {
      assert.equal(value((await get(metricsPort, "/metrics")).body, 'name_echo_limit_rejections_total{kind="idle-timeout"}'), 0);
      const socket = await connect(port);
      const replies = collect(socket);
      await replies.until("closing: no input for");
      assert.equal(value((await get(metricsPort, "/metrics")).body, 'name_echo_limit_rejections_total{kind="idle-timeout"}'), 1);
      socket.destroy();
    } finally {
      await metrics.close();
      await server.destroy();
    }
  });

  it("counters move as a client talks, and /readyz turns 503 while stopping", async () => {
    const server = new NameEchoServer({ port: 0, maxLineLength: 10, shutdownTimeout: 5 });
    const { port } = await server.listen();
    const metrics = new StatusServer(server, instrumentServer(server), { port: 0 });
    const { port: metricsPort } = await metrics.listen();
    try {
      let body = (await get(metricsPort, "/metrics")).body;
      assert.equal(value(body, "name_echo_connections_open"), 0);
      assert.equal(value(body, "name_echo_lines_total"), 0);
      assert.match(body, /nodejs_eventloop_lag_seconds /);
      assert.equal((await get(metricsPort, "/healthz")).status, 200);
      assert.equal((await get(metricsPort, "/readyz")).status, 200);

      const socket = await connect(port);
      const replies = collect(socket);
      socket.write("Hello\nWorld\n");
      await replies.until("World Ali\r\n");
      body = (await get(metricsPort, "/metrics")).body;
      assert.equal(value(body, "name_echo_connections_open"), 1);
      assert.equal(value(body, "name_echo_connections_total"), 1);
      assert.equal(value(body, "name_echo_lines_total"), 2);
      assert.equal(value(body, "name_echo_received_bytes_total"), 12);
      assert.equal(value(body, "name_echo_sent_bytes_total"), "Hello Ali\r\nWorld Ali\r\n".length);

      socket.write("this line is too long\n");
      await replies.until("error: line longer");
      body = (await get(metricsPort, "/metrics")).body;
      assert.equal(value(body, 'name_echo_limit_rejections_total{kind="line-too-long"}'), 1);

      // After the client leaves the totals stay (counters never go down).
      socket.end();
      await once(server, "disconnect");
      body = (await get(metricsPort, "/metrics")).body;
      assert.equal(value(body, "name_echo_connections_open"), 0);
      assert.equal(value(body, "name_echo_lines_total"), 2);
      assert.equal(value(body, "name_echo_received_bytes_total"), 12 + 22);

      // A client still connected keeps the server in "closing": not ready.
      const accepted = once(server, "connection");
      const lingering = await connect(port);
      lingering.on("data", () => {}); // reads the notice but does not close
      await accepted;
      const closing = server.close();
      const ready = await get(metricsPort, "/readyz");
      assert.equal(ready.status, 503);
      assert.match(ready.body, /closing/);
      assert.equal(value((await get(metricsPort, "/metrics")).body, "name_echo_ready"), 0);
      assert.equal((await get(metricsPort, "/healthz")).status, 200);
      lingering.end();
      await closing;
      await closed(lingering);
      assert.equal((await get(metricsPort, "/nope")).status, 404);
    } finally {
      await server.destroy();
      await metrics.close();
    }
  });

  it("counts turned-away clients by kind", async () => {
    const server = new NameEchoServer({ port: 0, maxConnections: 1, proxyProtocol: true });
    const { port } = await server.listen();
    const registry = instrumentServer(server, { defaultMetrics: false });
    try {
      const bad = await connect(port);
      bad.on("error", () => {});
      bad.write("no header\n");
      await once(server, "rejected");
      await closed(bad);
      const body = await registry.metrics();
      assert.equal(value(body, 'name_echo_limit_rejections_total{kind="proxy-header"}'), 1);
      assert.equal(value(body, 'name_echo_limit_rejections_total{kind="max-connections"}'), 0);
    } finally {
      await server.destroy();
    }
  });

  it("a metrics port in use is one clear error", async () => {
    const server = new NameEchoServer({ port: 0 });
    const first = new StatusServer(server, instrumentServer(server, { defaultMetrics: false }), { port: 0 });
    const { port } = await first.listen();
    try {
      const second = new StatusServer(server, instrumentServer(server, { defaultMetrics: false }), { port });
      // In the library's words (its option, port), with no flag in them: the CLI says --http-port itself.
      const error = await second.listen().then(
        () => assert.fail("the second listen succeeded"),
        (error: unknown) => error as NameEchoError,
      );
      assert.ok(error instanceof NameEchoError);
      assert.equal(error.code, "ERR_ADDRESS_IN_USE");
      assert.equal(error.option, "port");
      assert.match(
        error.message,
        new RegExp(
          `^the HTTP port cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} is already in use on 127\\.0\\.0\\.1: stop the other server or choose another port`,
        ),
      );
      assert.ok(!error.message.includes("--"), error.message);
      await second.close();
    } finally {
      await first.close();
    }
  });

  it("a host that is not this machine's is said as such, not as a port in use", async () => {
    const server = new NameEchoServer({ port: 0 });
    // 192.0.2.1 (TEST-NET-1) is never an address of this machine.
    const http = new StatusServer(server, instrumentServer(server, { defaultMetrics: false }), { host: "192.0.2.1", port: 0 });
    try {
      await assert.rejects(http.listen(), {
        code: "ERR_ADDRESS_NOT_AVAILABLE",
        option: "host",
        message: /^the HTTP port cannot listen on 192\.0\.2\.1:0: host 192\.0\.2\.1 is not an address of this machine/,
      });
    } finally {
      await http.close();
    }
  });
});

/** `serve --http-port` as a real process: the page, /connections, and the old --metrics-port name. */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConnectionInfo } from "../../src/ops/connections.js";
import { instancesOfSuite } from "../helpers/instance.js";
import { RawClient } from "../helpers/net.js";

async function get(url: string): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(5000) });
}

describe("serve --http-port", { timeout: 60_000 }, () => {
  const start = instancesOfSuite();

  for (const [how, args, env] of [
    ["--http-port", ["--port", "0", "--http-port", "0"], {}],
    ["--metrics-port (the old name)", ["--port", "0", "--metrics-port", "0"], {}],
    ["NAME_ECHO_HTTP_PORT", ["--port", "0"], { NAME_ECHO_HTTP_PORT: "0" }],
  ] as const) {
    it(`${how} serves the page, /connections and /metrics on loopback`, async () => {
      const server = start([...args], env);
      const port = await server.listening();
      const started = await server.waitFor("start log", () => server.logs.find((r) => r.event === "start"));
      const page = String(started.page);
      assert.match(page, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const client = await RawClient.connect(port);
      try {
        client.send("Hello\n");
        await client.waitForText("Hello Ali\r\n");
        const html = await get(page);
        assert.equal(html.status, 200);
        assert.match(html.headers.get("content-security-policy") ?? "", /default-src 'none'/);
        assert.match(await html.text(), /<title>name-echo status<\/title>/);
        const list = (await (await get(`${page}connections`)).json()) as ConnectionInfo[];
        assert.equal(list.length, 1);
        assert.equal(list[0]!.remote.port, client.socket.localPort);
        assert.equal(list[0]!.lines, 1);
        assert.match(await (await get(String(started.metrics))).text(), /^name_echo_lines_total 1$/m);
      } finally {
        client.destroy();
      }
      server.child.kill("SIGTERM");
      assert.equal(await server.exited(), 0);
    });
  }

  it("--http-port and --metrics-port that disagree are a usage error", async () => {
    const server = start(["--port", "0", "--http-port", "9100", "--metrics-port", "9101"]);
    assert.equal(await server.exited(), 2);
    assert.match(server.stderr, /--http-port 9100 and --metrics-port 9101 name the same thing; give one of them/);
  });

  it("--http-host without --http-port is a usage error", async () => {
    const server = start(["--port", "0", "--http-host", "::1"]);
    assert.equal(await server.exited(), 2);
    assert.match(server.stderr, /--http-host needs --http-port/);
  });
});

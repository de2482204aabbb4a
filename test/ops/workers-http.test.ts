/** `serve --workers 2 --http-port`: the primary's HTTP port shows every worker's connections and summed metrics. */
import * as assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { ConnectionInfo } from "../../src/ops/connections.js";
import type { ServerStatus } from "../../src/ops/status.js";
import { BALANCES } from "../helpers/balances.js";
import { Instance } from "../helpers/instance.js";
import { RawClient } from "../helpers/net.js";
import { waitFor } from "../helpers/wait.js";

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  assert.equal(response.status, 200, url);
  return (await response.json()) as T;
}

/** Polls until `predicate` holds for the JSON at `url`. */
async function when<T>(url: string, predicate: (value: T) => boolean, what: string): Promise<T> {
  let value: T | undefined;
  await waitFor(
    async () => {
      value = await getJson<T>(url);
      return predicate(value);
    },
    what,
    { timeoutMs: 10_000, intervalMs: 50, seen: () => JSON.stringify(value).slice(0, 500) },
  );
  return value!;
}

/** The first `update` event of the status page's feed. */
async function firstUpdate(url: string): Promise<{ total: number; status: ServerStatus; connections: ConnectionInfo[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  try {
    const response = await fetch(url, { signal: controller.signal });
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of response.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      const match = /event: update\ndata: (.*)\n\n/.exec(text);
      if (match) return JSON.parse(match[1]!);
    }
    throw new Error(`the feed ended without an update: ${text}`);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

describe("serve --workers with --http-port", { timeout: 90_000 }, () => {
  const instances: Instance[] = [];
  after(async () => {
    for (const instance of instances) await instance.kill();
  });

  // Enough that the kernel's spread (reuseport, shared) leaves both workers some, as round-robin always does.
  const CLIENTS = 16;
  for (const balance of BALANCES)
    it(`${balance}: the primary joins the workers' connections and aggregates their metrics`, async () => {
      const server = new Instance(["--port", "0", "--workers", "2", "--http-port", "0", "--balance", balance]);
      instances.push(server);
      const port = await server.listening();
      const http = await server.waitFor("the HTTP port's log line", () => server.logs.find((r) => r.event === "http"));
      const page = String(http.page);
      assert.match(page, /^http:\/\/127\.0\.0\.1:\d+\/$/);

      const clients: RawClient[] = [];
      try {
        // One after another, each answered before the next: a burst of connects on a shared socket is all taken by the first worker awake.
        for (let i = 0; i < CLIENTS; i++) {
          const client = await RawClient.connect(port);
          clients.push(client);
          client.send(`Hello ${i}\n`);
          await client.waitForText(`Hello ${i} Ali\r\n`);
        }
        const list = await when<ConnectionInfo[]>(`${page}connections`, (l) => l.length === CLIENTS, `${CLIENTS} connections`);
        assert.deepEqual(list.map((c) => c.remote.port).sort(), clients.map((c) => c.socket.localPort).sort());
        // Both workers serve some; each row says which.
        assert.deepEqual(new Set(list.map((c) => c.worker)).size, 2);
        assert.ok(list.every((c) => c.lines === 1));

        const status = await getJson<ServerStatus>(`${page}status`);
        assert.equal(status.workers, 2);
        assert.equal(status.totals.connectionsOpen, CLIENTS);
        assert.equal(status.totals.lines, CLIENTS);
        assert.equal(status.address, `127.0.0.1:${port}`);

        const metrics = await (await fetch(`${page}metrics`, { signal: AbortSignal.timeout(5000) })).text();
        assert.match(metrics, new RegExp(`^name_echo_connections_open ${CLIENTS}$`, "m"));
        assert.match(metrics, new RegExp(`^name_echo_lines_total ${CLIENTS}$`, "m"));
        assert.match(metrics, /^name_echo_ready 1$/m);
        assert.equal((await fetch(`${page}readyz`, { signal: AbortSignal.timeout(5000) })).status, 200);

        const update = await firstUpdate(`${page}events`);
        assert.equal(update.total, CLIENTS);
        assert.equal(update.status.workers, 2);
        assert.equal(update.connections.length, CLIENTS);

        clients[0]!.destroy();
        await when<ConnectionInfo[]>(`${page}connections`, (l) => l.length === CLIENTS - 1, `${CLIENTS - 1} connections`);
        assert.match(await (await fetch(`${page}`, { signal: AbortSignal.timeout(5000) })).text(), /name-echo status/);
      } finally {
        for (const client of clients) client.destroy();
      }
      server.child.kill("SIGTERM");
      assert.equal(await server.exited(), 0);
    });
});

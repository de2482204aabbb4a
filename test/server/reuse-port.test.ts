/**
 * The reusePort option: two servers of one process listening on one port
 * with SO_REUSEPORT both serve it (the kernel spreads the connections), on
 * each transport; where this Node has no reusePort the option is refused
 * rather than ignored. And which Node versions have it.
 */
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { NameEchoServer } from "../../src/server/server.js";
import { reusePortUnavailable } from "../../src/server/reuse-port.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { LineClient } from "../helpers/fault.js";
import { startInProcessServer } from "../helpers/server.js";
import { TRANSPORTS } from "../helpers/transports.js";
import { waitFor } from "../helpers/wait.js";

describe("reusePortUnavailable", () => {
  it("knows the Node versions and platforms that have reusePort", () => {
    assert.equal(reusePortUnavailable("22.12.0", "linux"), null);
    assert.equal(reusePortUnavailable("23.1.0", "linux"), null);
    assert.equal(reusePortUnavailable("26.10.0", "freebsd"), null);
    assert.match(reusePortUnavailable("22.11.0", "linux")!, /^Node 22\.11\.0 has no reusePort/);
    assert.match(reusePortUnavailable("23.0.0", "linux")!, /^Node 23\.0\.0 has no reusePort/);
    assert.match(reusePortUnavailable("20.19.0", "linux")!, /^Node 20\.19\.0 has no reusePort/);
    assert.match(reusePortUnavailable("24.0.0", "darwin")!, /^darwin has no SO_REUSEPORT/);
  });
});

describe("the reusePort option", () => {
  const cleanups = cleanupsAfterEach();
  const unavailable = reusePortUnavailable();

  it("is refused where this Node cannot listen with it", { skip: unavailable === null ? "this Node has reusePort" : false }, () => {
    assert.throws(
      () => new NameEchoServer({ port: 0, reusePort: true }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "ERR_INVALID_OPTION");
        assert.match(error.message, /reusePort cannot be used here: Node [\d.]+ has no reusePort/);
        return true;
      },
    );
  });

  for (const transport of TRANSPORTS) {
    it(`${transport}: two servers on one port both serve it`, { skip: unavailable ?? false }, async () => {
      const first = await startInProcessServer(cleanups, { reusePort: true, transport, name: "One" });
      const second = await startInProcessServer(cleanups, { reusePort: true, transport, name: "Two", port: first.address!.port });
      assert.equal(second.address!.port, first.address!.port);
      assert.equal(second.transport, transport);
      const names = new Set<string>();
      const clients: LineClient[] = [];
      cleanups.push(() => clients.forEach((client) => client.destroy()));
      // The kernel's hash picks the server: new clients until both have answered.
      await waitFor(
        async () => {
          const client = await LineClient.connect(first.address!.port);
          clients.push(client);
          names.add((await client.roundTrip("hi")).reply);
          return names.size === 2;
        },
        "both servers to answer",
        { timeoutMs: 10_000, intervalMs: 1 },
      );
      assert.deepEqual([...names].sort(), ["hi One", "hi Two"]);
    });
  }
});

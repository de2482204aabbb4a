/**
 * `serve --workers 2`: 1,000 connections opened one after another (each
 * answered before the next) end up spread over the workers, each holding
 * between half and one and a half times its fair share, and the primary
 * holding none, in every balance mode this Node has. Who holds which
 * socket is what `ss -tnp` says.
 */
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AUTO_BALANCE, BALANCES } from "../helpers/balances.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { childPids, startServe } from "../helpers/cli.js";
import { LineClient } from "../helpers/fault.js";
import { connectionsByProcess } from "../helpers/net.js";
import { skipUnless } from "../helpers/tools.js";

const CONNECTIONS = 1000;
const WORKERS = 2;

describe("serve --workers: the spread of connections over the workers", { timeout: 180_000, skip: skipUnless("ss") }, () => {
  const cleanups = cleanupsAfterEach();

  for (const balance of BALANCES) {
    const label = balance === AUTO_BALANCE ? `${balance} (auto here)` : balance;
    test(`${label}: ${CONNECTIONS} connections one after another, each worker holds 0.5 to 1.5 times its share, the primary none`, {
      timeout: 60_000,
    }, async (t) => {
      const server = await startServe(["--workers", String(WORKERS), "--balance", balance, "--quiet"]);
      cleanups.push(() => server.kill());
      const workers = childPids(server.pid);
      assert.equal(workers.length, WORKERS, `two workers, got ${workers.join(", ")}`);
      const clients: LineClient[] = [];
      cleanups.push(() => clients.forEach((client) => client.destroy()));
      for (let i = 0; i < CONNECTIONS; i++) {
        const client = await LineClient.connect(server.port);
        clients.push(client);
        // Answered, so a worker has accepted it: nothing is left in a listen queue.
        assert.equal((await client.roundTrip(`n${i}`)).reply, `n${i} Ali`);
      }

      const held = connectionsByProcess(server.port);
      const figures = workers.map((pid) => held.get(pid) ?? 0);
      t.diagnostic(`${balance}: workers hold ${figures.join(" and ")} of ${CONNECTIONS}`);
      assert.equal(held.get(server.pid) ?? 0, 0, "the primary holds no client");
      assert.equal(held.get(0) ?? 0, 0, "every connection is held by a process");
      assert.equal(
        figures.reduce((sum, count) => sum + count, 0),
        CONNECTIONS,
        `every connection is a worker's: ${JSON.stringify([...held])}`,
      );
      const fair = CONNECTIONS / WORKERS;
      for (const [i, count] of figures.entries()) {
        assert.ok(
          count >= fair * 0.5 && count <= fair * 1.5,
          `worker ${i + 1} holds ${count}, outside ${fair * 0.5}..${fair * 1.5} (others: ${figures.join(", ")})`,
        );
      }
      assert.equal(await server.stop(), 0, server.stderr());
    });
  }
});

/**
 * The fault suite, part two: each limit hit for real, on a real server
 * process. The client must be told why before anything is closed, the other
 * clients must not notice, and the operator's log must say so once.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { inParallel, LineClient, startFaultServe, type ServerProcess } from "../helpers/fault.js";
import { TRANSPORTS } from "../helpers/transports.js";

for (const transport of TRANSPORTS)
  describe(`a flood past --max-connections (${transport} transport)`, { timeout: 30_000 }, () => {
    const LIMIT = 20;
    let server: ServerProcess;
    const existing: LineClient[] = [];

    before(async () => {
      server = await startFaultServe(["--max-connections", String(LIMIT)], { transport });
    });

    after(async () => {
      for (const client of existing) client.destroy();
      await server?.stop();
    });

    test("each extra client gets the error line and is closed; existing clients are untouched", { timeout: 25_000 }, async () => {
      for (let i = 0; i < LIMIT; i++) {
        const client = await LineClient.connect(server.port);
        existing.push(client);
        assert.equal((await client.roundTrip(`member ${i}`)).reply, `member ${i} Ali`);
      }
      let turnedAway = 0;
      await inParallel(
        Array.from({ length: 300 }, (_, i) => i),
        100,
        async () => {
          const client = await LineClient.connect(server.port);
          try {
            assert.equal(await client.nextLine(), `error: server is full (${LIMIT} connections); try again later`);
            await client.closed();
            turnedAway++;
          } finally {
            client.destroy();
          }
        },
      );
      assert.equal(turnedAway, 300);
      // Everyone already in is still served, in order, on the same connection.
      for (const [i, client] of existing.entries()) {
        assert.equal((await client.roundTrip(`still member ${i}`)).reply, `still member ${i} Ali`);
      }
      // 300 rejections, one log line (the rest are summarised when the window ends). The log is
      // asynchronous: the line may reach us after the last client was turned away.
      await server.waitForLogCount(/rejected/, 1);
      assert.equal(server.log.filter((line) => /rejected/.test(line)).length, 1, server.log.join("\n"));

      // A place frees up: the next client is served.
      existing.pop()!.socket.end();
      await server.waitForLogCount(/ disconnect /, 1);
      const next = await LineClient.connect(server.port);
      existing.push(next);
      assert.equal((await next.roundTrip("my turn")).reply, "my turn Ali");

      // The other 299 rejections are not lost: a graceful stop writes their summary.
      assert.equal(await server.stop(), 0);
      assert.equal(server.log.filter((line) => /rejected/.test(line)).length, 2, server.log.join("\n"));
      assert.match(
        server.log.find((line) => /repeated/.test(line)) ?? "",
        /warn  rejected: server full \(--max-connections 20\): repeated 299 times in the last 10 s \(latest: rejected 127\.0\.0\.1:\d+: server full/,
      );
    });
  });

for (const transport of TRANSPORTS)
  describe(`--idle-timeout and a slowloris client (${transport} transport)`, { timeout: 30_000 }, () => {
    let server: ServerProcess;

    before(async () => {
      server = await startFaultServe(["--idle-timeout", "1"], { transport });
    });

    after(async () => {
      await server?.stop();
    });

    test("a silent client is told, then closed", { timeout: 10_000 }, async () => {
      const client = await LineClient.connect(server.port);
      try {
        const started = performance.now();
        assert.equal(await client.nextLine(3000), "closing: no input for 1 second");
        await client.closed(3000);
        assert.ok(performance.now() - started >= 900, "closed before the idle timeout");
      } finally {
        client.destroy();
      }
    });

    test("one byte every 300 ms is slow but alive; it costs others nothing, and it is closed once it stops", { timeout: 15_000 }, async () => {
      const slow = await LineClient.connect(server.port);
      const other = await LineClient.connect(server.port);
      try {
        const bytes = Buffer.from("Hello, slowly\n");
        let slowest = 0;
        for (const byte of bytes) {
          slow.socket.write(Buffer.of(byte));
          // The pause between bytes is the point of the test (a slowloris), and
          // it is spent on another client's round trips, which must stay fast.
          const until = performance.now() + 300;
          while (performance.now() < until) {
            slowest = Math.max(slowest, (await other.roundTrip("meanwhile")).ms);
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
        // 14 bytes over ~4 s, longer than the 1 s idle timeout: every byte reset it.
        assert.equal(await slow.nextLine(), "Hello, slowly Ali");
        assert.ok(slowest < 1000, `another client's round trip took ${slowest.toFixed(0)} ms`);
        // Then it goes quiet: notice, close.
        assert.equal(await slow.nextLine(3000), "closing: no input for 1 second");
        await slow.closed(3000);
      } finally {
        slow.destroy();
        other.destroy();
      }
    });
  });

for (const transport of TRANSPORTS)
  describe(`running out of file descriptors (ulimit -n 64, ${transport} transport)`, { timeout: 40_000 }, () => {
    let server: ServerProcess;
    const served: LineClient[] = [];

    before(async () => {
      server = await startFaultServe([], { fdLimit: 64, transport });
    });

    after(async () => {
      for (const client of served) client.destroy();
      await server?.stop();
    });

    test("keeps serving existing clients, tells new ones why, says so once, accepts again when descriptors free up", {
      timeout: 35_000,
    }, async (t) => {
      // Fill up until the server turns someone away.
      let refused: string | null = null;
      for (let i = 0; i < 100 && refused === null; i++) {
        const client = await LineClient.connect(server.port);
        client.socket.write(`client ${i}\n`);
        const first = await client.nextLine();
        if (first === `client ${i} Ali`) {
          served.push(client);
        } else {
          refused = first;
          await client.closed();
          client.destroy();
        }
      }
      t.diagnostic(`${served.length} clients served under ulimit -n 64 before the first refusal`);
      assert.equal(refused, "error: server is out of capacity (file descriptors); try again later");
      assert.ok(served.length >= 10, `only ${served.length} clients fitted`);

      // More knocking: every one is told why (not a silent close), none is
      // served. A turned-away socket holds its descriptor until the client has
      // read the notice, so the knocks come a few at a time (fewer than the
      // 16 descriptors the server keeps spare).
      await inParallel(
        Array.from({ length: 60 }, (_, i) => i),
        4,
        async () => {
          const client = await LineClient.connect(server.port);
          try {
            assert.equal(await client.nextLine(), "error: server is out of capacity (file descriptors); try again later");
            await client.closed();
          } finally {
            client.destroy();
          }
        },
      );

      // A burst larger than the spare: libuv's own last resort (accept and
      // close at once) takes over for some of them. Nobody is served, the
      // server stays up, and nobody already in notices.
      let told = 0;
      await inParallel(
        Array.from({ length: 100 }, (_, i) => i),
        100,
        async () => {
          const client = await LineClient.connect(server.port).catch(() => null);
          if (client === null) return;
          try {
            const first = await client.nextLine().catch(() => null);
            if (first !== null) {
              assert.equal(first, "error: server is out of capacity (file descriptors); try again later");
              told++;
            }
            await client.closed();
          } finally {
            client.destroy();
          }
        },
      );
      t.diagnostic(`burst of 100 at once: ${told} told why, ${100 - told} closed silently by libuv`);

      // The clients already in are still served.
      for (const [i, client] of served.entries()) {
        assert.equal((await client.roundTrip(`still here ${i}`)).reply, `still here ${i} Ali`);
      }

      // Some leave: descriptors free up and new clients are accepted again.
      for (const client of served.splice(0, 5)) client.socket.end();
      await server.waitForLogCount(/ disconnect /, 5);
      const newcomer = await LineClient.connect(server.port);
      served.push(newcomer);
      assert.equal((await newcomer.roundTrip("let me in")).reply, "let me in Ali");

      // 160 refusals, one warning; one line when it recovered.
      assert.equal(server.log.filter((line) => /out of file descriptors/.test(line)).length, 1, server.log.join("\n"));
      const recovered = await server.waitForLog(/file descriptors available again/);
      assert.match(recovered, /\(\d+ turned away meanwhile\)/);
      assert.equal(server.log.filter((line) => /available again/.test(line)).length, 1);
    });
  });

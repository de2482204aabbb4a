/**
 * The fault suite, output amplification: a few bytes of telnet that make the
 * server say a lot. A client asks for echo (`IAC DO ECHO`), types an
 * 8,000-byte line of control characters, then sends 32,768 × `IAC AYT`
 * (about 73 KB in all) and never reads. Each AYT answer is due to it, but the
 * server must stop taking its input once about --max-unsent-bytes are owed
 * (a server that answered the whole flood at once queued over 500 MB for
 * it), so its memory stays bounded and other clients stay fast; and when the
 * client does read, every answer still comes, in order.
 */
import * as assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AYT, DO, IAC, OPT_ECHO } from "../../src/protocol/telnet-parser.js";
import { LineClient, MiB, startFaultServe, type ServerProcess } from "../helpers/fault.js";
import { connect } from "../helpers/net.js";
import { TRANSPORTS } from "../helpers/transports.js";

/** A well-behaved client's round trip while the attack sits in the server; far above the usual ~1 ms. */
const FAST_MS = 1000;
const AYT_COUNT = 32_768;
const AYT_ANSWER = "[yes, name-echo is here]\r\n";

for (const transport of TRANSPORTS)
  describe(`fault suite: output amplification through telnet (${transport} transport)`, { timeout: 90_000 }, () => {
    let server: ServerProcess;
    let good: LineClient;

    before(async () => {
      server = await startFaultServe(["--max-unsent-bytes", String(MiB)], { transport });
      good = await LineClient.connect(server.port);
      for (let i = 0; i < 100; i++) assert.equal((await good.roundTrip(`warm ${i}`)).reply, `warm ${i} Ali`);
    });

    after(async () => {
      good?.destroy();
      await server?.stop();
    });

    test("DO ECHO, 8,000 control characters and 32,768 AYT from a client that never reads: bounded, and every answer comes later", {
      timeout: 60_000,
    }, async (t) => {
      const attacker = await connect(server.port);
      attacker.on("error", () => {});
      try {
        attacker.pause();
        const rssBefore = server.rss();
        const attack = Buffer.concat([
          Buffer.from([IAC, DO, OPT_ECHO]),
          Buffer.alloc(8000, 0x01),
          Buffer.from(Array.from({ length: AYT_COUNT }, () => [IAC, AYT]).flat()),
        ]);
        // Into the kernel on our side: from here on the server has it to read.
        await new Promise<void>((resolve, reject) => attacker.write(attack, (error) => (error ? reject(error) : resolve())));

        let slowest = 0;
        let peakGrowth = 0;
        for (let i = 0; i < 40; i++) {
          slowest = Math.max(slowest, (await good.roundTrip(`during the attack ${i}`)).ms);
          peakGrowth = Math.max(peakGrowth, server.rss() - rssBefore);
        }
        t.diagnostic(`attack: server RSS growth ${(peakGrowth / MiB).toFixed(1)} MiB; slowest other round trip ${slowest.toFixed(1)} ms`);
        // What the server may hold for it: about 1 MiB owed (plus one bounded
        // step), the input it has not taken, and read buffers the collector
        // has not freed yet. An unbounded server queued 500 MB here.
        assert.ok(peakGrowth < 64 * MiB, `server RSS grew by ${(peakGrowth / MiB).toFixed(1)} MiB for 73 KB of telnet`);
        assert.ok(slowest < FAST_MS, `another client's round trip took ${slowest.toFixed(0)} ms during the attack`);

        // The client reads at last: the server takes the rest of its input as
        // it catches up, and every AYT gets its answer, then the line its reply.
        let tail = "";
        let answers = 0;
        const done = new Promise<void>((resolve) => {
          attacker.on("data", (chunk: Buffer) => {
            // The tail keeps less than one answer, so an answer cut across chunks is counted once.
            const text = tail + chunk.toString("latin1");
            for (let at = text.indexOf(AYT_ANSWER); at !== -1; at = text.indexOf(AYT_ANSWER, at + 1)) answers++;
            if (/ Ali\r\n$|\nAli\r\n$/.test(text)) resolve();
            tail = text.slice(-(AYT_ANSWER.length - 1));
          });
        });
        attacker.resume();
        attacker.write("\r\n");
        await done;
        assert.equal(answers, AYT_COUNT);
      } finally {
        attacker.destroy();
      }
      const { reply } = await good.roundTrip("still there?");
      assert.equal(reply, "still there? Ali");
    });
  });

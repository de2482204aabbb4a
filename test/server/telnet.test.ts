/**
 * Telnet over real sockets (127.0.0.1, port 0): a raw client speaking IAC
 * sequences gets the right answers in the right order, and a plain client,
 * even one that sends a byte per segment, never sees a telnet byte.
 */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, test } from "node:test";
import { NameEchoServer } from "../../src/index.js";
import { AYT, DO, DONT, IAC, IP, OPT_ECHO, OPT_NAWS, OPT_SGA, OPT_TIMING_MARK, SB, SE, WILL, WONT } from "../../src/protocol/telnet-parser.js";
import { TRANSPORTS } from "../helpers/transports.js";
import { Changes, waitFor } from "../helpers/wait.js";

const AYT_LINE = "[yes, name-echo is here]\r\n";
const iac = (...bytes: number[]): Buffer => Buffer.from([IAC, ...bytes]);

/** A raw TCP client that keeps every byte it receives and can wait for more. */
class RawClient {
  readonly socket: net.Socket;
  private received = Buffer.alloc(0);
  private ended = false;
  private readonly changes = new Changes();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.changes.changed();
    });
    socket.on("end", () => {
      this.ended = true;
      this.changes.changed();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Sends bytes as their own write (with Nagle off, their own segment) and waits until the kernel has them. */
  send(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  /** Waits (bounded) for the next bytes and checks they are exactly `expected`. */
  async expect(expected: Buffer | string, timeoutMs = 3000): Promise<void> {
    const want = typeof expected === "string" ? Buffer.from(expected, "latin1") : expected;
    await this.until(() => this.received.length >= want.length || this.ended, timeoutMs);
    const got = this.received.subarray(0, want.length);
    this.received = this.received.subarray(want.length);
    assert.deepEqual([...got], [...want], `expected ${JSON.stringify(want.toString("latin1"))}, got ${JSON.stringify(got.toString("latin1"))}`);
  }

  /** Half-closes and returns every byte still to come, up to the server's FIN. */
  async endAndCollect(timeoutMs = 3000): Promise<Buffer> {
    this.socket.end();
    await this.until(() => this.ended, timeoutMs);
    const rest = this.received;
    this.received = Buffer.alloc(0);
    return rest;
  }

  private async until(ready: () => boolean, timeoutMs: number): Promise<void> {
    await waitFor(ready, "the server's bytes", {
      timeoutMs,
      changes: this.changes,
      seen: () => `received so far: ${JSON.stringify(this.received.toString("latin1"))}`,
    });
  }
}

for (const transport of TRANSPORTS)
  describe(`telnet over a real socket (${transport} transport)`, () => {
    let server: NameEchoServer;
    let port: number;
    const clients: RawClient[] = [];
    const connect = async (): Promise<RawClient> => {
      const client = await RawClient.connect(port);
      clients.push(client);
      return client;
    };

    before(async () => {
      server = new NameEchoServer({ port: 0, name: "Ali", transport });
      port = (await server.listen()).port;
    });

    after(async () => {
      for (const client of clients) client.socket.destroy();
      await server.destroy();
    });

    test("character-mode negotiation, echo, editing, Ctrl-C, AYT and TIMING-MARK", { timeout: 10000 }, async () => {
      const client = await connect();
      // What Linux telnet sends on `mode character`.
      await client.send(Buffer.concat([iac(DO, OPT_SGA), iac(DO, OPT_ECHO)]));
      await client.expect(Buffer.concat([iac(WILL, OPT_SGA), iac(WILL, OPT_ECHO)]));
      for (const key of "Helpx") {
        await client.send(key);
        await client.expect(key);
      }
      for (let i = 0; i < 2; i++) {
        await client.send("\x7f");
        await client.expect("\b \b");
      }
      for (const key of "lo") {
        await client.send(key);
        await client.expect(key);
      }
      await client.send("\r\0");
      await client.expect("\r\nHello Ali\r\n");
      await client.send("zz\x03");
      await client.expect("zz^C\r\n");
      await client.send(iac(AYT));
      await client.expect(AYT_LINE);
      await client.send(Buffer.concat([iac(IP), iac(DO, OPT_TIMING_MARK)]));
      // While echoing, an interrupt shows as a tty shows it; then the timing mark.
      await client.expect(Buffer.concat([Buffer.from("^C\r\n"), iac(WILL, OPT_TIMING_MARK)]));
      // `mode line`: echo off again, acknowledged.
      await client.send(Buffer.concat([iac(DONT, OPT_SGA), iac(DONT, OPT_ECHO)]));
      await client.expect(Buffer.concat([iac(WONT, OPT_SGA), iac(WONT, OPT_ECHO)]));
      await client.send("bye\r\n");
      assert.equal((await client.endAndCollect()).toString("latin1"), "bye Ali\r\n");
    });

    test("a negotiating client's IAC bytes never leak into its first line", { timeout: 10000 }, async () => {
      const client = await connect();
      await client.send(Buffer.concat([iac(WILL, 31), iac(WILL, 24), Buffer.from("Hi"), iac(DO, OPT_ECHO), Buffer.from("\r\n")]));
      const answers = Buffer.concat([iac(DO, 31), iac(WILL, OPT_ECHO), iac(WILL, OPT_SGA), iac(DONT, 24)]);
      await client.expect(answers);
      // "Hi" came before the DO ECHO that turned echo on: not echoed; the line end is.
      await client.expect("\r\nHi Ali\r\n");
    });

    test("offerEcho: the server speaks first, echo, suppress-go-ahead and NAWS; a telnet client's answers put it in character mode", {
      timeout: 10000,
    }, async () => {
      const offering = new NameEchoServer({ port: 0, name: "Ali", transport, offerEcho: true });
      const offeringPort = (await offering.listen()).port;
      try {
        const client = await RawClient.connect(offeringPort);
        clients.push(client);
        // Before the client says a word.
        await client.expect(Buffer.concat([iac(WILL, OPT_ECHO), iac(WILL, OPT_SGA), iac(DO, OPT_NAWS)]));
        // inetutils telnet's answer (captured), then UTF-8 typed a key at a time: echoed whole, answered whole.
        await client.send(Buffer.concat([iac(DO, OPT_ECHO), iac(DO, OPT_SGA), iac(WILL, OPT_NAWS), iac(SB, OPT_NAWS, 0, 80, 0, 24), iac(SE)]));
        for (const character of ["日", "本", "語"]) {
          await client.send(character);
          await client.expect(Buffer.from(character));
        }
        await client.send("\r\0");
        await client.expect(Buffer.from("\r\n日本語 Ali\r\n"));
        // A client that speaks no telnet (nc) gets the offer too: that is what the option is for, and why it is off by default.
        const plain = await RawClient.connect(offeringPort);
        clients.push(plain);
        await plain.send("Grüße\r\n");
        assert.deepEqual(
          [...(await plain.endAndCollect())],
          [...Buffer.concat([iac(WILL, OPT_ECHO), iac(WILL, OPT_SGA), iac(DO, OPT_NAWS), Buffer.from("Grüße Ali\r\n")])],
        );
      } finally {
        await offering.destroy();
      }
    });

    test("a plain client sending one byte per segment gets only its replies", { timeout: 10000 }, async () => {
      const client = await connect();
      const input = "Hello\r\nab\x7fc\r\n\xc3\xa9\r\nlast";
      for (const byte of Buffer.from(input, "latin1")) await client.send(Buffer.from([byte]));
      const all = await client.endAndCollect();
      assert.equal(all.toString("latin1"), "Hello Ali\r\nac Ali\r\n\xc3\xa9 Ali\r\nlast Ali\r\n");
      assert.equal(all.indexOf(IAC), -1);
    });
  });

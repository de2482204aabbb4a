/**
 * TcpConnection over a fake Transport: the seam of transport.ts, as Twisted
 * tests its protocols over StringTransport. No socket, no timer, no wait:
 * the test plays the transport (bytes in, the kernel taking bytes or not,
 * FIN, drain, close) through the TransportSink symbols, and the server's
 * sweep with its own clock, and checks what the connection writes and does.
 * The same behaviours over real sockets, on both transports, are in
 * server.test.ts, lifecycle.test.ts and bounds.test.ts.
 */
import * as assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";
import { Endpoint } from "../../src/endpoint.js";
import {
  kClosed,
  kConnectionClosed,
  kConnectionLimit,
  kDrained,
  kEvict,
  kFailed,
  kHeldBytes,
  kOfferEcho,
  kReceive,
  kReceiveEnd,
  kSweepIdle,
} from "../../src/internal.js";
import { clientMemoryNotice, idleNotice, lineTooLongNotice, SHUTDOWN_NOTICE } from "../../src/protocol/notices.js";
import { ReplyEncoder } from "../../src/protocol/reply.js";
import { DO, IAC, OPT_ECHO, OPT_SGA, WILL } from "../../src/protocol/telnet-parser.js";
import { ClientMemoryBudget, type EvictionReport } from "../../src/server/client-memory.js";
import { type ConnectionLimitKind, type ConnectionLimits, type ConnectionOwner, TcpConnection } from "../../src/server/connection.js";
import type { Transport, TransportSink } from "../../src/server/transport/transport.js";

/**
 * A transport whose kernel takes `kernelRoom` bytes of what is written (all
 * of it unless told otherwise), as the handle transport's does: write()
 * returns false once `maxUnsentBytes` or more are unsent, and drain() is the
 * kernel taking the rest. Written bytes are copied, as the kernel copies them.
 */
class FakeTransport implements Transport {
  readonly name = "handle" as const;
  sink: TransportSink | null = null;
  /** Each write(), copied. */
  readonly writes: Buffer[] = [];
  /** What the transport was asked, in order: pause, resume, end, destroy. */
  readonly calls: string[] = [];
  /** Bytes the kernel will still take at once; the rest stays unsent. */
  kernelRoom = Number.POSITIVE_INFINITY;
  unsentBytes = 0;
  reading = true;
  ended = false;
  destroyed = false;
  private needDrain = false;

  constructor(private readonly maxUnsentBytes: number) {}

  start(sink: TransportSink): void {
    this.sink = sink;
  }

  write(bytes: Buffer): boolean {
    assert.ok(this.writable, "written after end() or destroy()");
    this.writes.push(Buffer.from(bytes));
    const taken = Math.min(this.kernelRoom, bytes.length);
    this.kernelRoom -= taken;
    this.unsentBytes += bytes.length - taken;
    if (this.unsentBytes < this.maxUnsentBytes) return true;
    this.needDrain = true;
    return false;
  }

  pauseReading(): void {
    this.reading = false;
    this.calls.push("pause");
  }

  resumeReading(): void {
    this.reading = true;
    this.calls.push("resume");
  }

  end(): void {
    this.ended = true;
    this.calls.push("end");
  }

  destroy(): void {
    this.destroyed = true;
    this.unsentBytes = 0;
    this.calls.push("destroy");
  }

  readonly holdsLastWrite = false;

  get heldOutputBytes(): number {
    return this.unsentBytes;
  }

  readonly bufferedInputBytes = 0;

  takeBufferedInput(): null {
    return null;
  }

  get writable(): boolean {
    return !this.ended && !this.destroyed;
  }

  localEndpoint(): Endpoint {
    return new Endpoint("127.0.0.1", 8888, "IPv4");
  }

  remoteEndpoint(): Endpoint {
    return new Endpoint("127.0.0.1", 40000, "IPv4");
  }

  // The test's side: the client and the kernel.

  /** Bytes from the client. */
  receive(text: string | Buffer): void {
    this.sink![kReceive](typeof text === "string" ? Buffer.from(text, "latin1") : text);
  }

  /** The kernel takes every unsent byte, and `room` more from now on; a write that returned false is told. */
  drain(room = Number.POSITIVE_INFINITY): void {
    this.unsentBytes = 0;
    this.kernelRoom = room;
    if (!this.needDrain) return;
    this.needDrain = false;
    this.sink![kDrained]();
  }

  /** The socket is closed, as the transport reports it once both ends are done or it was destroyed. */
  close(error?: Error): void {
    if (error !== undefined) this.sink![kFailed](error);
    this.sink![kClosed]();
  }

  /** Everything written since the last call, as text. */
  take(): string {
    const text = Buffer.concat(this.writes).toString("latin1");
    this.writes.length = 0;
    return text;
  }
}

/** Records what the connection told its owner. */
class Owner implements ConnectionOwner {
  readonly closed: Array<Error | undefined> = [];
  readonly limits: ConnectionLimitKind[] = [];
  [kConnectionClosed](_connection: TcpConnection, error: Error | undefined): void {
    this.closed.push(error);
  }
  [kConnectionLimit](_connection: TcpConnection, kind: ConnectionLimitKind): void {
    this.limits.push(kind);
  }
}

interface Wired {
  connection: TcpConnection;
  transport: FakeTransport;
  owner: Owner;
  /** The connection's events, in order. */
  events: string[];
}

function connect(limits: Partial<ConnectionLimits> = {}): Wired {
  const full: ConnectionLimits = {
    maxLineLength: 8192,
    idleTimeoutSeconds: 1,
    maxUnsentBytes: 1024 * 1024,
    lingerMs: 1000,
    memoryBudget: null,
    ...limits,
  };
  const transport = new FakeTransport(full.maxUnsentBytes);
  const owner = new Owner();
  const connection = new TcpConnection(transport, { context: { encoder: new ReplyEncoder("Ali"), limits: full, owner }, captureEndpoints: false });
  const events: string[] = [];
  for (const name of ["close", "lineTooLong", "idle", "paused", "resumed"] as const) connection.on(name, () => events.push(name));
  return { connection, transport, owner, events };
}

const replies = (...lines: string[]): string => lines.map((line) => `${line} Ali\r\n`).join("");

describe("TcpConnection over a fake transport: lines in, replies out", () => {
  test("the connection starts its transport, and each read's replies leave in one write", () => {
    const { connection, transport } = connect();
    assert.equal(transport.sink, connection);
    transport.receive("Hello\r\nWorld\n\r\n");
    assert.equal(transport.writes.length, 1);
    assert.equal(transport.take(), replies("Hello", "World") + "Ali\r\n");
    assert.deepEqual(connection.stats, { bytesIn: 15, bytesOut: 27, lines: 3, linesTooLong: 0 });
    assert.equal(connection.state, "open");
    assert.equal(connection.toString(), "127.0.0.1:40000 -> 127.0.0.1:8888");
  });

  test("a line cut by the byte stream is answered once it ends, a CR LF split across reads is one line end", () => {
    const { connection, transport } = connect();
    transport.receive("Hel");
    assert.equal(transport.writes.length, 0);
    assert.equal(connection.pendingInput().toString(), "Hel");
    assert.equal(connection[kHeldBytes], 3);
    transport.receive("lo\r");
    assert.equal(transport.take(), replies("Hello"));
    transport.receive("\nnext\n");
    assert.equal(transport.take(), replies("next"));
    assert.equal(connection.stats.lines, 2);
  });

  test("a line over the limit gets the notice through the telnet session, and the connection carries on", () => {
    const { connection, transport, owner, events } = connect({ maxLineLength: 4 });
    transport.receive("ok\nabcdefg\nfine\n");
    assert.equal(transport.take(), replies("ok") + lineTooLongNotice(4).toString() + replies("fine"));
    assert.equal(connection.stats.linesTooLong, 1);
    assert.deepEqual(owner.limits, ["line-too-long"]);
    assert.deepEqual(events, ["lineTooLong"]);
  });

  test("telnet negotiation is answered in the same write as the replies around it; once the client agrees, what it types is echoed", () => {
    const { connection, transport } = connect();
    transport.receive(Buffer.from([...Buffer.from("a\n"), IAC, DO, OPT_SGA, ...Buffer.from("b\n")]));
    assert.equal(transport.writes.length, 1);
    // DO SGA is agreed to, and echo offered: the client speaks telnet.
    assert.deepEqual(
      [...transport.writes[0]!],
      [...Buffer.from(replies("a")), IAC, WILL, OPT_SGA, IAC, WILL, OPT_ECHO, ...Buffer.from(replies("b"))],
    );
    transport.take();
    assert.equal(connection.echoing, false);
    transport.receive(Buffer.from([IAC, DO, OPT_ECHO, ...Buffer.from("c\r")]));
    assert.equal(connection.echoing, true);
    assert.equal(transport.take(), "c\r\n" + replies("c"));
  });

  test("the offer of echo (the server's offerEcho) goes out before the client says a word", () => {
    const { connection, transport } = connect();
    connection[kOfferEcho]();
    assert.deepEqual([...transport.writes[0]!].slice(0, 6), [IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA]);
  });
});

describe("TcpConnection over a fake transport: backpressure", () => {
  test("input is fed only as far as its replies fit under maxUnsentBytes; the rest is held, reading paused, and fed after the drain", () => {
    const { connection, transport, events } = connect({ maxUnsentBytes: 16 });
    transport.kernelRoom = 0;
    transport.receive("a\nb\nc\nd\ne\n");
    // Each reply is 7 bytes: the third passes the bound of 16, and feeding stops after it.
    assert.equal(transport.take(), replies("a", "b", "c"));
    assert.equal(transport.reading, false);
    assert.equal(connection.isPausedForBackpressure, true);
    assert.deepEqual(events, ["paused"]);
    // A chunk the transport had in hand already is held behind the rest, not answered ahead of it.
    transport.receive("f\n");
    assert.equal(transport.writes.length, 0);
    assert.equal(connection[kHeldBytes], 21 + "d\ne\nf\n".length);
    transport.drain();
    assert.equal(transport.take(), replies("d", "e", "f"));
    assert.equal(transport.reading, true);
    assert.equal(connection.isPausedForBackpressure, false);
    assert.deepEqual(events, ["paused", "resumed"]);
    assert.deepEqual(transport.calls, ["pause", "resume"]);
    assert.equal(connection.stats.lines, 6);
  });

  test("a drain whose held input fills the bound again waits for the next drain, still paused", () => {
    // One 7-byte reply fills the bound.
    const { connection, transport, events } = connect({ maxUnsentBytes: 7 });
    transport.kernelRoom = 0;
    transport.receive("a\nb\nc\n");
    assert.equal(transport.take(), replies("a"));
    transport.drain(0);
    assert.equal(transport.take(), replies("b"));
    assert.equal(connection.isPausedForBackpressure, true);
    assert.deepEqual(events, ["paused"]);
    transport.drain();
    assert.equal(transport.take(), replies("c"));
    assert.deepEqual(events, ["paused", "resumed"]);
  });

  test("the client half-closes with input held: all of it is answered whatever the bound, then our FIN", () => {
    const { connection, transport } = connect({ maxUnsentBytes: 7 });
    transport.kernelRoom = 0;
    transport.receive("a\nb\nc\nlast");
    assert.equal(transport.take(), replies("a"));
    transport.sink![kReceiveEnd]();
    assert.equal(transport.take(), replies("b", "c", "last"));
    assert.equal(connection.state, "ending");
    assert.equal(transport.ended, true);
  });
});

describe("TcpConnection over a fake transport: the end of a connection", () => {
  test("the half-close is answered: the last unterminated line gets its reply, then our FIN; the close is told to the owner, then the listeners", () => {
    const { connection, transport, owner, events } = connect();
    transport.receive("one\ntwo");
    assert.equal(transport.take(), replies("one"));
    transport.sink![kReceiveEnd]();
    assert.equal(transport.take(), replies("two"));
    assert.equal(connection.state, "ending");
    assert.deepEqual(transport.calls, ["end"]);
    // Input after the FIN cannot come; anything a transport still hands over is not answered.
    transport.receive("three\n");
    assert.equal(transport.writes.length, 0);
    transport.close();
    assert.equal(connection.state, "closed");
    assert.deepEqual(owner.closed, [undefined]);
    assert.deepEqual(events, ["close"]);
  });

  test("a failure is the close's error", () => {
    const { connection, transport, owner } = connect();
    const reset = new Error("read ECONNRESET");
    let heard: Error | undefined;
    connection.on("close", (error) => (heard = error));
    transport.close(reset);
    assert.equal(owner.closed[0], reset);
    assert.equal(heard, reset);
  });

  test("shutdown(): the replies owed, input held back answered first, then the notice and our FIN; reading goes on for the client's FIN", () => {
    const { connection, transport } = connect({ maxUnsentBytes: 7 });
    transport.kernelRoom = 0;
    transport.receive("a\nb\nc\n");
    assert.equal(transport.take(), replies("a"));
    assert.equal(transport.reading, false);
    connection.shutdown();
    assert.equal(transport.take(), replies("b", "c") + SHUTDOWN_NOTICE.toString());
    assert.equal(connection.state, "closing");
    assert.deepEqual(transport.calls, ["pause", "end", "resume"]);
    assert.equal(transport.reading, true);
    // Said once.
    connection.shutdown();
    assert.equal(transport.writes.length, 0);
    // What the client sends now is read and dropped.
    transport.receive("d\n");
    assert.equal(transport.writes.length, 0);
  });

  test("a client told to go that takes none of its bytes for lingerMs is dropped; taking some buys another lingerMs", () => {
    const { connection, transport } = connect({ lingerMs: 1000, idleTimeoutSeconds: 0 });
    transport.kernelRoom = 0;
    transport.receive("a\n");
    // The linger starts inside shutdown(), by the clock: no later than this.
    const before = Date.now();
    connection.shutdown();
    assert.equal(connection[kSweepIdle](before + 999, 0), false);
    // It took a few bytes: the linger starts again from this sweep.
    transport.unsentBytes -= 3;
    assert.equal(connection[kSweepIdle](before + 999, 0), false);
    assert.equal(connection[kSweepIdle](before + 1998, 0), false);
    // What it sends buys nothing.
    transport.receive("more\n");
    assert.equal(transport.destroyed, false);
    assert.equal(connection[kSweepIdle](before + 1999, 0), true);
    assert.equal(transport.destroyed, true);
  });

  test("eviction: held input dropped, not answered; the notice says how much it held; then the linger", () => {
    const { connection, transport, owner } = connect({ maxUnsentBytes: 7 });
    transport.kernelRoom = 0;
    transport.receive("a\nb\nc\n");
    assert.equal(transport.take(), replies("a"));
    connection[kEvict](1234);
    assert.equal(transport.take(), clientMemoryNotice(1234).toString());
    assert.equal(connection.state, "closing");
    assert.equal(transport.ended, true);
    assert.equal(connection[kHeldBytes], 7 + clientMemoryNotice(1234).length, "the held input is gone, the unsent bytes stay");
    assert.deepEqual(owner.limits, []);
    const told = Date.now();
    assert.equal(connection[kSweepIdle](told + 1000, 1000), true);
  });

  test("eviction by the client memory budget: the biggest open client is told when what open clients hold passes the limit, and released at its close", () => {
    const connections = new Set<TcpConnection>();
    const reports: EvictionReport[] = [];
    const budget = new ClientMemoryBudget(20, connections, (report) => reports.push(report));
    const small = connect({ maxUnsentBytes: 16, memoryBudget: budget });
    const big = connect({ maxUnsentBytes: 16, memoryBudget: budget });
    connections.add(small.connection).add(big.connection);
    small.transport.kernelRoom = 0;
    small.transport.receive("x\n");
    assert.equal(budget.heldBytes, 7);
    assert.equal(reports.length, 0);
    big.transport.kernelRoom = 0;
    // 21 unsent (three replies) and "d\ne\n" held: 25, and 32 with the small one's 7.
    big.transport.receive("a\nb\nc\nd\ne\n");
    assert.deepEqual(reports, [{ told: 1, dropped: 0, heldBytes: 32, limit: 20 }]);
    assert.equal(big.transport.take(), replies("a", "b", "c") + clientMemoryNotice(25).toString());
    assert.equal(big.connection.state, "closing");
    assert.equal(small.connection.state, "open");
    big.transport.destroy();
    big.transport.close();
    assert.equal(budget.heldBytes, 7);
    // The kernel took the small one's bytes with no event to say so: the sweep brings the budget up to date.
    small.transport.drain();
    assert.equal(small.connection[kSweepIdle](Date.now(), 0), false);
    assert.equal(budget.heldBytes, 0);
  });
});

describe("TcpConnection over a fake transport: its events", () => {
  test("an EventEmitter whose listener map is made at the first listener: none on a connection nobody listens to", () => {
    const transport = new FakeTransport(1024);
    const limits: ConnectionLimits = { maxLineLength: 8192, idleTimeoutSeconds: 0, maxUnsentBytes: 1024, lingerMs: 1000, memoryBudget: null };
    const connection = new TcpConnection(transport, { context: { encoder: new ReplyEncoder("Ali"), limits }, captureEndpoints: false });
    assert.ok(connection instanceof EventEmitter);
    // What most connections cost: no listener map, and no emitter fields of their own.
    assert.deepEqual(
      Object.keys(connection).filter((key) => key.startsWith("_")),
      [],
    );
    assert.equal(connection.emit("idle"), false);
    const heard: string[] = [];
    const onIdle = (): number => heard.push("idle");
    connection.on("idle", onIdle);
    connection.once("close", (error) => heard.push(`close ${error?.message}`));
    assert.equal(connection.listenerCount("idle"), 1);
    assert.equal(connection.emit("idle"), true);
    connection.off("idle", onIdle);
    assert.equal(connection.emit("idle"), false);
    transport.close(new Error("reset"));
    transport.close();
    assert.deepEqual(heard, ["idle", "close reset"]);
    assert.equal(connection.listenerCount("close"), 0);
  });
});

describe("TcpConnection over a fake transport: the idle sweep", () => {
  test("no input and no output for idleMs: the idle notice and a goodbye; activity in between starts the period again", () => {
    const { connection, transport, owner, events } = connect({ idleTimeoutSeconds: 1 });
    const start = Date.now();
    assert.equal(connection[kSweepIdle](start + 500, 1000), false);
    transport.receive("hi\n");
    transport.take();
    // Activity since the last sweep: the quiet period starts at this one.
    assert.equal(connection[kSweepIdle](start + 900, 1000), false);
    assert.equal(connection.idleForMs(start + 900), 0);
    assert.equal(connection[kSweepIdle](start + 1899, 1000), false);
    assert.equal(connection.idleForMs(start + 1899), 999);
    assert.equal(transport.writes.length, 0);
    assert.equal(connection[kSweepIdle](start + 1900, 1000), false);
    assert.equal(transport.take(), idleNotice(1).toString());
    assert.equal(connection.state, "closing");
    assert.equal(transport.ended, true);
    assert.deepEqual(owner.limits, ["idle-timeout"]);
    assert.deepEqual(events, ["idle"]);
  });

  test("a client paused for a whole idle period, not one reply taken, is dropped without a notice", () => {
    const { connection, transport, events } = connect({ idleTimeoutSeconds: 1, maxUnsentBytes: 8 });
    transport.kernelRoom = 0;
    transport.receive("a\nb\n");
    transport.take();
    const start = Date.now();
    assert.equal(connection[kSweepIdle](start, 1000), false);
    assert.equal(connection[kSweepIdle](start + 1000, 1000), false);
    assert.equal(transport.writes.length, 0);
    assert.equal(transport.destroyed, true);
    assert.deepEqual(events, ["paused", "idle"]);
  });

  test("a client whose unsent bytes shrink is taking its replies: not idle", () => {
    const { connection, transport } = connect({ idleTimeoutSeconds: 1, maxUnsentBytes: 1000 });
    transport.kernelRoom = 0;
    transport.receive("a\nb\n");
    const start = Date.now();
    assert.equal(connection[kSweepIdle](start, 1000), false);
    transport.unsentBytes -= 7;
    assert.equal(connection[kSweepIdle](start + 1000, 1000), false);
    assert.equal(connection.state, "open");
    assert.equal(connection[kSweepIdle](start + 2000, 1000), false);
    assert.equal(connection.state, "closing");
  });
});

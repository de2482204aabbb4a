import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  AYT,
  DO,
  DONT,
  IAC,
  IP,
  MAX_SUBNEGOTIATION_BYTES,
  NOP,
  SB,
  SE,
  TelnetParser,
  type TelnetEventSink,
  WILL,
  WONT,
} from "../../src/protocol/telnet-parser.js";

type Event = ["data", number[]] | ["command", number] | ["negotiation", number, number] | ["sb", number, number[], boolean];

/** Records events, merging adjacent data runs (how data is split into runs is not part of the contract). */
class Recorder implements TelnetEventSink {
  readonly events: Event[] = [];
  data(chunk: Buffer, from: number, to: number): number {
    const bytes = chunk.subarray(from, to);
    const last = this.events.at(-1);
    if (last !== undefined && last[0] === "data") last[1].push(...bytes);
    else this.events.push(["data", [...bytes]]);
    return to;
  }
  command(command: number): boolean {
    this.events.push(["command", command]);
    return true;
  }
  negotiation(command: number, option: number): boolean {
    this.events.push(["negotiation", command, option]);
    return true;
  }
  subnegotiation(option: number, payload: Buffer, truncated: boolean): boolean {
    this.events.push(["sb", option, [...payload], truncated]);
    return true;
  }
}

function parse(chunks: Buffer[]): Event[] {
  const recorder = new Recorder();
  const parser = new TelnetParser(recorder);
  for (const chunk of chunks) parser.push(chunk);
  return recorder.events;
}

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const text = (s: string): number[] => [...Buffer.from(s, "latin1")];

const cases: { name: string; input: Buffer; events: Event[] }[] = [
  { name: "plain data", input: Buffer.from("Hello\r\n"), events: [["data", text("Hello\r\n")]] },
  { name: "IAC IAC is one literal 0xFF", input: b(0x61, IAC, IAC, 0x62), events: [["data", [0x61, 0xff, 0x62]]] },
  { name: "IAC IAC at the very end", input: b(0x61, IAC, IAC), events: [["data", [0x61, 0xff]]] },
  { name: "IAC IAC IAC IAC", input: b(IAC, IAC, IAC, IAC), events: [["data", [0xff, 0xff]]] },
  {
    name: "commands between data, in order",
    input: b(0x61, IAC, IP, 0x62, IAC, AYT, 0x63),
    events: [
      ["data", [0x61]],
      ["command", IP],
      ["data", [0x62]],
      ["command", AYT],
      ["data", [0x63]],
    ],
  },
  {
    name: "negotiation",
    input: b(IAC, DO, 1, IAC, WILL, 3, IAC, WONT, 34, IAC, DONT, 6),
    events: [
      ["negotiation", DO, 1],
      ["negotiation", WILL, 3],
      ["negotiation", WONT, 34],
      ["negotiation", DONT, 6],
    ],
  },
  {
    name: "subnegotiation with an escaped 0xFF",
    input: b(0x61, IAC, SB, 24, 0, 0x78, IAC, IAC, 0x79, IAC, SE, 0x62),
    events: [
      ["data", [0x61]],
      ["sb", 24, [0, 0x78, 0xff, 0x79], false],
      ["data", [0x62]],
    ],
  },
  { name: "empty subnegotiation", input: b(IAC, SB, 31, IAC, SE), events: [["sb", 31, [], false]] },
  {
    name: "subnegotiation ended by another command (client forgot IAC SE)",
    input: b(IAC, SB, 24, 1, IAC, NOP, 0x61),
    events: [
      ["sb", 24, [1], false],
      ["command", NOP],
      ["data", [0x61]],
    ],
  },
  { name: "IAC SE outside a subnegotiation is a (meaningless) command", input: b(IAC, SE), events: [["command", SE]] },
  {
    name: "IAC then a non-command byte",
    input: b(IAC, 0x41, 0x42),
    events: [
      ["command", 0x41],
      ["data", [0x42]],
    ],
  },
  { name: "data bytes that are not IAC pass as they are", input: b(0, 3, 8, 0x7f, 0xfe, 0xc3), events: [["data", [0, 3, 8, 0x7f, 0xfe, 0xc3]]] },
];

describe("TelnetParser", () => {
  for (const { name, input, events } of cases) {
    test(`${name}: whole, and split at every point`, { timeout: 5000 }, () => {
      assert.deepEqual(parse([input]), events);
      for (let cut = 1; cut < input.length; cut++) {
        assert.deepEqual(parse([input.subarray(0, cut), input.subarray(cut)]), events, `split at ${cut}`);
      }
      assert.deepEqual(parse([...input].map((byte) => b(byte))), events, "one byte at a time");
    });
  }

  test("a chunk with no IAC is handed over as the same buffer (no copy)", { timeout: 5000 }, () => {
    const chunk = Buffer.from("Hello world\r\n");
    let seen: Buffer | undefined;
    const parser = new TelnetParser({
      data: (bytes, from, to) => ((seen = bytes), assert.deepEqual([from, to], [0, bytes.length]), to),
      command: () => assert.fail("no command"),
      negotiation: () => assert.fail("no negotiation"),
      subnegotiation: () => assert.fail("no subnegotiation"),
    });
    parser.push(chunk);
    assert.equal(seen, chunk);
  });

  test("an endless subnegotiation is capped, and the parser recovers at IAC SE", { timeout: 5000 }, () => {
    const recorder = new Recorder();
    const parser = new TelnetParser(recorder);
    parser.push(b(IAC, SB, 24));
    const junk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 64; i++) {
      parser.push(junk);
      assert.ok(parser.bufferedByteCount <= MAX_SUBNEGOTIATION_BYTES);
    }
    assert.deepEqual(recorder.events, []);
    parser.push(b(IAC, SE, 0x7a));
    assert.equal(recorder.events.length, 2);
    assert.deepEqual(recorder.events, [
      ["sb", 24, new Array<number>(MAX_SUBNEGOTIATION_BYTES).fill(0x41), true],
      ["data", [0x7a]],
    ]);
    assert.equal(parser.bufferedByteCount, 0);
  });

  test("property: any chunking gives the same events", { timeout: 30000 }, () => {
    // Bytes biased towards the interesting ones so IAC sequences are common.
    const byte = fc.oneof(fc.constantFrom(IAC, IAC, SB, SE, DO, WILL, WONT, DONT, IP, AYT, 1, 3), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 17 })), (bytes, sizes) => {
        const input = Buffer.from(bytes);
        const chunks: Buffer[] = [];
        for (let at = 0, k = 0; at < input.length; k++) {
          const size = sizes.length === 0 ? 1 : sizes[k % sizes.length]!;
          chunks.push(input.subarray(at, at + size));
          at += size;
        }
        assert.deepEqual(parse(chunks), parse([input]));
      }),
      { numRuns: 500 },
    );
  });

  test("property: a sink that stops after every event (and every data byte) and feeds the rest again gets the same events", {
    timeout: 30000,
  }, () => {
    const byte = fc.oneof(fc.constantFrom(IAC, IAC, SB, SE, DO, WILL, IP, AYT, 1), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 17 })), (bytes, sizes) => {
        const input = Buffer.from(bytes);
        const recorder = new Recorder();
        const literalNotFirst: number[] = [];
        const stopper: TelnetEventSink = {
          // One byte per call, then stop: a stop inside a run, and inside a run that starts with a literal 0xFF.
          data: (chunk, from, to) => {
            for (let i = from + 1; i < to; i++) if (chunk[i] === IAC) literalNotFirst.push(i);
            return recorder.data(chunk, from, from + 1);
          },
          command: (command) => !recorder.command(command),
          negotiation: (command, option) => !recorder.negotiation(command, option),
          subnegotiation: (option, payload, truncated) => !recorder.subnegotiation(option, payload, truncated),
        };
        const parser = new TelnetParser(stopper);
        for (let at = 0, k = 0; at < input.length; k++) {
          const chunk = input.subarray(at, at + (sizes.length === 0 ? 1 : sizes[k % sizes.length]!));
          at += chunk.length;
          for (let from = 0; from < chunk.length; ) {
            const stop = parser.push(chunk, from);
            assert.ok(stop > from, "progress");
            from = stop;
          }
        }
        assert.deepEqual(recorder.events, parse([input]));
        assert.deepEqual(literalNotFirst, [], "a literal 0xFF is only ever the first byte of a data run");
      }),
      { numRuns: 3000 },
    );
  });

  test("property: data without IAC comes out exactly as it went in", { timeout: 30000 }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
        const input = Buffer.from(raw.filter((x) => x !== IAC));
        const events = parse([input]);
        assert.deepEqual(events, input.length === 0 ? [] : [["data", [...input]]]);
      }),
    );
  });

  test("property: doubling every 0xFF makes any bytes pass through as data", { timeout: 30000 }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
        const escaped = Buffer.from([...raw].flatMap((x) => (x === IAC ? [IAC, IAC] : [x])));
        const events = parse([escaped]);
        assert.deepEqual(events, raw.length === 0 ? [] : [["data", [...raw]]]);
      }),
    );
  });
});

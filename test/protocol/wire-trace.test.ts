import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { MAX_SHOWN_PAYLOAD, WireTrace } from "../../src/protocol/wire-trace.js";

const IAC = 0xff;
const DONT = 0xfe;
const DO = 0xfd;
const WONT = 0xfc;
const WILL = 0xfb;
const SB = 0xfa;
const SE = 0xf0;
const AYT = 0xf6;
const IP = 0xf4;
const NOP = 0xf1;
const ECHO = 1;
const SGA = 3;
const NAWS = 31;

const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part, "latin1") : Buffer.from(part))));

function traceOf(direction: "<" | ">", chunks: Buffer[], maxDataBytes?: number): string[] {
  const trace = new WireTrace(direction, maxDataBytes === undefined ? {} : { maxDataBytes });
  return chunks.flatMap((chunk) => trace.push(chunk));
}

/**
 * The trace with chunk boundaries taken out: consecutive data lines joined.
 * Escaping is per byte, so this is the same for every chunking of the same bytes.
 */
function canonical(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const data = /^([<>]) "(.*)"$/.exec(line);
    const last = out.length > 0 ? /^([<>]) "(.*)"$/.exec(out[out.length - 1]!) : null;
    if (data && last && data[1] === last[1]) out[out.length - 1] = `${last[1]} "${last[2]}${data[2]}"`;
    else out.push(line);
  }
  return out;
}

// [what, bytes, the trace of those bytes in one chunk]
const CASES: Array<[string, Buffer, string[]]> = [
  ["a line", bytes("Hello\r\n"), ['< "Hello\\r\\n"']],
  ["two lines in one segment: one trace line each", bytes("Hello\r\nWorld\n"), ['< "Hello\\r\\n"', '< "World\\n"']],
  ["an unfinished line", bytes("Hel"), ['< "Hel"']],
  ["negotiation named", bytes([IAC, DO, ECHO]), ["< IAC DO ECHO"]],
  [
    "all four verbs",
    bytes([IAC, WILL, SGA, IAC, WONT, ECHO, IAC, DONT, NAWS, IAC, DO, 24]),
    ["< IAC WILL SUPPRESS-GO-AHEAD", "< IAC WONT ECHO", "< IAC DONT NAWS", "< IAC DO TERMINAL-TYPE"],
  ],
  ["an option without a name is its number", bytes([IAC, WILL, 200]), ["< IAC WILL 200"]],
  ["commands named", bytes([IAC, AYT, IAC, IP, IAC, NOP, IAC, 0x80]), ["< IAC AYT", "< IAC IP", "< IAC NOP", "< IAC 128"]],
  ["a command inside a line splits it where it was", bytes("He", [IAC, NOP], "llo\n"), ['< "He"', "< IAC NOP", '< "llo\\n"']],
  ["IAC IAC is a 0xFF data byte", bytes("a", [IAC, IAC], "b\n"), ['< "a\\xffb\\n"']],
  ["subnegotiation with its payload", bytes([IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE]), ["< IAC SB NAWS 0 80 0 24 IAC SE"]],
  ["IAC IAC inside a subnegotiation is one 255", bytes([IAC, SB, NAWS, 0, IAC, IAC, 0, 24, IAC, SE]), ["< IAC SB NAWS 0 255 0 24 IAC SE"]],
  ["terminal escapes cannot reach the operator's terminal", bytes('\x1b[2J\x07\x00\t"\\\n'), ['< "\\x1b[2J\\x07\\0\\t\\"\\\\\\n"']],
  ["bytes above 0x7e escaped", bytes([0x68, 0xc3, 0xa9, 0x7f, 0x0a]), ['< "h\\xc3\\xa9\\x7f\\n"']],
  [
    "telnet and data as Linux telnet sends them",
    bytes([IAC, DO, SGA, IAC, WILL, 24], "Hi\r\n"),
    ["< IAC DO SUPPRESS-GO-AHEAD", "< IAC WILL TERMINAL-TYPE", '< "Hi\\r\\n"'],
  ],
];

describe("WireTrace", () => {
  for (const [what, input, expected] of CASES) {
    test(what, () => assert.deepEqual(traceOf("<", [input]), expected));
  }

  test("the server's direction is marked >", () => {
    assert.deepEqual(traceOf(">", [bytes([IAC, WILL, ECHO], "Hello Ali\r\n")]), ["> IAC WILL ECHO", '> "Hello Ali\\r\\n"']);
  });

  test("one keystroke per segment (character mode): one line per segment", () => {
    assert.deepEqual(traceOf("<", [bytes("H"), bytes("i"), bytes("\r\0")]), ['< "H"', '< "i"', '< "\\r\\0"']);
  });

  for (const [what, input, expected] of CASES) {
    test(`split at every point: ${what}`, () => {
      for (let at = 0; at <= input.length; at++) {
        const lines = traceOf("<", [input.subarray(0, at), input.subarray(at)]);
        assert.deepEqual(canonical(lines), canonical(expected), `split at ${at}`);
      }
    });
  }

  test("an IAC sequence split over three segments is still named once", () => {
    assert.deepEqual(traceOf("<", [bytes([IAC]), bytes([SB, NAWS, 0]), bytes([80, 0, 24, IAC]), bytes([SE], "x")]), [
      "< IAC SB NAWS 0 80 0 24 IAC SE",
      '< "x"',
    ]);
    assert.deepEqual(traceOf("<", [bytes("ok", [IAC]), bytes([DO]), bytes([ECHO])]), ['< "ok"', "< IAC DO ECHO"]);
  });

  test("a long line shows maxDataBytes and counts the rest", () => {
    const line = bytes("x".repeat(200), "\n", "short\n");
    assert.deepEqual(traceOf("<", [line], 120), [`< "${"x".repeat(120)}" …(+81 bytes)`, '< "short\\n"']);
    // Counted across the segments of one chunk's run, and reset by the next line.
    assert.deepEqual(traceOf("<", [bytes("a".repeat(10), [IAC, IAC], "b".repeat(10), "\n")], 5), ['< "aaaaa" …(+17 bytes)']);
  });

  test("a long subnegotiation shows its first bytes and its size", () => {
    const payload = Array.from({ length: 40 }, (_, i) => i);
    const [line] = traceOf("<", [bytes([IAC, SB, 24], payload, [IAC, SE])]);
    assert.equal(line, `< IAC SB TERMINAL-TYPE ${payload.slice(0, MAX_SHOWN_PAYLOAD).join(" ")} …(40 bytes) IAC SE`);
    const [endless] = traceOf("<", [bytes([IAC, SB, 24], new Array(1000).fill(65), [IAC, SE])]);
    assert.match(endless!, /…\(more than 256 bytes\) IAC SE$/);
  });

  const telnetish = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(IAC, IAC, SB, SE, DO, WILL, WONT, DONT, IP, AYT, NOP, ECHO, SGA, NAWS, 0x0a, 0x0d, 0x00) },
    { weight: 2, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );

  test("property: any chunking gives the same trace, once chunk boundaries are taken out", () => {
    fc.assert(
      fc.property(fc.array(telnetish, { maxLength: 300 }), fc.array(fc.integer({ min: 1, max: 23 }), { minLength: 1 }), (raw, sizes) => {
        const input = Buffer.from(raw);
        const whole = traceOf("<", [input], 100_000);
        const chunks: Buffer[] = [];
        for (let at = 0, k = 0; at < input.length; k++) {
          const size = sizes[k % sizes.length]!;
          chunks.push(input.subarray(at, at + size));
          at += size;
        }
        assert.deepEqual(canonical(traceOf("<", chunks, 100_000)), canonical(whole));
      }),
    );
  });

  test("property: no input makes a trace line longer than its bound", () => {
    const maxDataBytes = 16;
    // 4 characters per escaped byte at most, plus the quotes, arrow and the count.
    const dataBound = 4 * maxDataBytes + 40;
    const commandBound = "< IAC SB TOGGLE-FLOW-CONTROL".length + 4 * MAX_SHOWN_PAYLOAD + " …(more than 256 bytes) IAC SE".length;
    fc.assert(
      fc.property(fc.array(telnetish, { maxLength: 600 }), fc.integer({ min: 1, max: 600 }), (raw, size) => {
        const input = Buffer.from(raw);
        const chunks: Buffer[] = [];
        for (let at = 0; at < input.length; at += size) chunks.push(input.subarray(at, at + size));
        for (const line of traceOf("<", chunks, maxDataBytes)) {
          assert.ok(line.length <= Math.max(dataBound, commandBound), `${line.length}: ${line}`);
          // Nothing but printable ASCII reaches the terminal.
          assert.match(line, /^[\x20-\x7e…]*$/);
        }
      }),
    );
  });
});

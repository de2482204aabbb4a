import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as fc from "fast-check";
import {
  encodeProxyV1,
  encodeProxyV2,
  PROXY_V1_MAX_BYTES,
  PROXY_V2_SIGNATURE,
  ProxyHeaderParser,
  type ProxyParseResult,
} from "../../src/protocol/proxy-protocol.js";
import { Endpoint } from "../../src/endpoint.js";

const v4 = (address: string, port: number): Endpoint => new Endpoint(address, port, "IPv4");
const v6 = (address: string, port: number): Endpoint => new Endpoint(address, port, "IPv6");

/** Feeds bytes in the given chunk sizes; returns the first final result. */
function feed(bytes: Buffer, sizes: number[], max?: number): ProxyParseResult {
  const parser = new ProxyHeaderParser(max);
  let offset = 0;
  let result: ProxyParseResult = { status: "more" };
  for (let i = 0; offset < bytes.length; i++) {
    const size = Math.max(1, sizes.length ? sizes[i % sizes.length]! : bytes.length);
    result = parser.push(bytes.subarray(offset, offset + size));
    offset += size;
    if (result.status !== "more") {
      // What was left after the deciding chunk also belongs to the stream.
      if (result.status === "done") return { ...result, rest: Buffer.concat([result.rest, bytes.subarray(offset)]) };
      return result;
    }
  }
  return result;
}

const bin = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ""), "hex");
const SIG = PROXY_V2_SIGNATURE.toString("hex");

// [name, input, expected: source endpoint | "unknown" | "more" | error-regexp]
const CASES: Array<[string, Buffer, Endpoint | "unknown" | "more" | RegExp]> = [
  ["v1 TCP4", Buffer.from("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"), v4("192.0.2.1", 56324)],
  ["v1 TCP6", Buffer.from("PROXY TCP6 2001:db8::1 2001:db8::2 4000 8888\r\n"), v6("2001:db8::1", 4000)],
  ["v1 UNKNOWN", Buffer.from("PROXY UNKNOWN\r\n"), "unknown"],
  ["v1 UNKNOWN with junk after", Buffer.from("PROXY UNKNOWN ffff::1 whatever 1 2\r\n"), "unknown"],
  ["v1 port 0 and 65535", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n"), v4("1.2.3.4", 0)],
  ["v1 incomplete", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 2"), "more"],
  ["v1 prefix only", Buffer.from("PROX"), "more"],
  ["plain client text", Buffer.from("Hello\r\n"), /did not start with a PROXY/],
  ["CR LF alone (could still be a v2 signature)", Buffer.from("\r\n"), "more"],
  ["lower-case proxy", Buffer.from("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), /did not start/],
  ["P then junk", Buffer.from("PRXY"), /did not start/],
  ["v1 LF without CR", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), /CR LF/],
  ["v1 port 65536", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), /port/],
  ["v1 leading zero port", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n"), /port/],
  ["v1 negative port", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), /port/],
  ["v1 TCP4 with IPv6 address", Buffer.from("PROXY TCP4 ::1 ::1 1 2\r\n"), /not IPv4/],
  ["v1 TCP6 with IPv4 address", Buffer.from("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), /not IPv6/],
  ["v1 bad IPv4", Buffer.from("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), /not IPv4/],
  ["v1 UDP4", Buffer.from("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), /TCP4, TCP6 or UNKNOWN/],
  ["v1 two spaces", Buffer.from("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), /must be/],
  ["v1 missing field", Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), /must be/],
  ["v1 control byte", Buffer.from("PROXY TCP4 1.2.3.4\x1b[2J 5.6.7.8 1 2\r\n"), /printable/],
  ["v1 stray CR", Buffer.from("PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n"), /stray CR/],
  ["v1 too long", Buffer.from(`PROXY TCP6 ${"a".repeat(120)}`), /longer than 107/],
  ["v2 TCP4", bin(`${SIG} 21 11 000c c0000201 c6336402 dc04 01bb`), v4("192.0.2.1", 56324)],
  ["v2 TCP6", bin(`${SIG} 21 21 0024 20010db8000000000000000000000001 20010db8000000000000000000000002 0fa0 22b8`), v6("2001:db8::1", 4000)],
  [
    "v2 IPv4-mapped IPv6",
    bin(`${SIG} 21 21 0024 00000000000000000000ffff7f000001 00000000000000000000ffff7f000001 0001 0002`),
    v6("::ffff:127.0.0.1", 1),
  ],
  ["v2 TCP4 with TLVs", bin(`${SIG} 21 11 0013 01020304 05060708 0001 0002 0100 04 6832 2e30`), v4("1.2.3.4", 1)],
  ["v2 LOCAL", bin(`${SIG} 20 00 0000`), "unknown"],
  ["v2 LOCAL with addresses", bin(`${SIG} 20 11 000c 01020304 05060708 0001 0002`), "unknown"],
  ["v2 UNSPEC family", bin(`${SIG} 21 00 0000`), "unknown"],
  ["v2 UNIX", bin(`${SIG} 21 31 00d8 ${"00".repeat(216)}`), "unknown"],
  ["v2 incomplete fixed part", bin(`${SIG} 21 11`), "more"],
  ["v2 incomplete addresses", bin(`${SIG} 21 11 000c 01020304`), "more"],
  ["v2 version 1", bin(`${SIG} 11 11 000c`), /version 1, not 2/],
  ["v2 command 2", bin(`${SIG} 22 11 000c`), /unknown command/],
  ["v2 family 4", bin(`${SIG} 21 41 000c`), /address family/],
  ["v2 transport 3", bin(`${SIG} 21 13 000c`), /transport/],
  ["v2 UDP", bin(`${SIG} 21 12 000c 01020304 05060708 0001 0002`), /datagram/],
  ["v2 length too short for TCP4", bin(`${SIG} 21 11 0008 01020304 05060708`), /too short/],
  ["v2 over the size limit", bin(`${SIG} 21 11 ffff`), /over the 4096-byte limit/],
  ["v2 bad signature", bin("0d0a0d0a000d0a5155495400"), /did not start/],
  ["CR LF then text (not a v2 signature)", Buffer.from("\r\nHello"), /did not start/],
];

describe("PROXY protocol parser: table", () => {
  for (const [name, input, expected] of CASES) {
    it(name, () => {
      for (const sizes of [[], [1], [2], [3], [7], [16]]) {
        const result = feed(input, sizes);
        if (expected === "more") assert.equal(result.status, "more", `chunk sizes ${sizes}`);
        else if (expected instanceof RegExp) {
          assert.equal(result.status, "error", `chunk sizes ${sizes}`);
          assert.match((result as { reason: string }).reason, expected);
        } else {
          assert.equal(result.status, "done", `chunk sizes ${sizes}: ${JSON.stringify(result)}`);
          const { header, rest } = result as Extract<ProxyParseResult, { status: "done" }>;
          assert.equal(header.length, input.length);
          assert.equal(rest.length, 0);
          if (expected === "unknown") assert.equal(header.source, undefined);
          else assert.deepEqual(header.source, expected);
        }
      }
    });
  }

  it("fails a plain client at its first byte, without waiting for more", () => {
    assert.equal(new ProxyHeaderParser().push(Buffer.from("H")).status, "error");
    assert.equal(new ProxyHeaderParser().push(Buffer.from([0x0d, 0x0a, 0x48])).status, "error");
  });

  it("fails an endless v1 line after exactly 107 bytes", () => {
    const parser = new ProxyHeaderParser();
    const long = Buffer.from(`PROXY ${"x".repeat(200)}`);
    for (let i = 0; i < PROXY_V1_MAX_BYTES - 1; i++) assert.equal(parser.push(long.subarray(i, i + 1)).status, "more");
    assert.equal(parser.push(long.subarray(PROXY_V1_MAX_BYTES - 1, PROXY_V1_MAX_BYTES)).status, "error");
  });

  it("accepts a v1 header of exactly 107 bytes", () => {
    const address = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
    const header = Buffer.from(`PROXY UNKNOWN ${address} ${address} 65535 65535\r\n`);
    assert.equal(header.length, PROXY_V1_MAX_BYTES);
    assert.equal(new ProxyHeaderParser().push(header).status, "done");
  });

  it("refuses a v2 header over the limit as soon as its length is known", () => {
    const parser = new ProxyHeaderParser(200);
    const result = parser.push(bin(`${SIG} 21 11 00c0`));
    assert.equal(result.status, "error");
    assert.ok(parser.heldByteCount === 0);
  });

  it("keeps its answer once decided and leaves later bytes to the caller", () => {
    const parser = new ProxyHeaderParser();
    const first = parser.push(Buffer.from("PROXY UNKNOWN\r\nHello"));
    assert.equal(first.status, "done");
    assert.equal((first as { rest: Buffer }).rest.toString(), "Hello");
    assert.equal(parser.push(Buffer.from("more")), first);
  });
});

describe("PROXY protocol parser: properties", () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
  const ipv6 = fc.ipV6().map((a) => a); // fast-check's text forms; compared after a round trip below
  const port = fc.nat(65535);
  const endpoint4 = fc.record({ address: ipv4, port, family: fc.constant("IPv4" as const) });
  const chunking = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 });
  const payload = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));

  it("v1 and v2 TCP4 headers parse the same at every chunking, and the data after is kept intact", () => {
    fc.assert(
      fc.property(endpoint4, endpoint4, fc.boolean(), payload, chunking, (source, destination, v2, data, sizes) => {
        const header = v2 ? encodeProxyV2(source, destination) : encodeProxyV1(source, destination);
        const result = feed(Buffer.concat([header, data]), sizes);
        assert.equal(result.status, "done");
        const done = result as Extract<ProxyParseResult, { status: "done" }>;
        assert.deepEqual(done.header.source, new Endpoint(source.address, source.port, source.family));
        assert.deepEqual(done.header.destination, new Endpoint(destination.address, destination.port, destination.family));
        assert.equal(done.header.version, v2 ? 2 : 1);
        assert.deepEqual(done.rest, data);
      }),
      { numRuns: 500 },
    );
  });

  it("v2 TCP6 addresses round-trip to the text node:net would show", () => {
    fc.assert(
      fc.property(ipv6, port, chunking, (address, p, sizes) => {
        // Normalise through a v2 round trip: the parser's text is canonical (RFC 5952).
        const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
        if (canonical.includes(".")) return; // dotted forms are not what the encoder takes
        const source = v6(canonical, p);
        const result = feed(encodeProxyV2(source, source), sizes);
        assert.equal(result.status, "done");
        const parsed = (result as Extract<ProxyParseResult, { status: "done" }>).header.source!;
        assert.equal(parsed.address, canonical);
        // and v1 accepts the same text
        assert.equal(new ProxyHeaderParser().push(encodeProxyV1(parsed, parsed)).status, "done");
      }),
      { numRuns: 300 },
    );
  });

  it("arbitrary bytes never crash it, never hold more than the limit, and never pass for a header unless they are one", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), chunking, (bytes, sizes) => {
        const parser = new ProxyHeaderParser(256);
        let offset = 0;
        for (let i = 0; offset < bytes.length; i++) {
          const size = sizes[i % sizes.length]!;
          const result = parser.push(bytes.subarray(offset, offset + size));
          offset += size;
          assert.ok(parser.heldByteCount <= 256 + 40);
          if (result.status === "done") {
            const start = Buffer.from(bytes.subarray(0, 6)).toString("latin1");
            assert.ok(start === "PROXY " || Buffer.from(bytes.subarray(0, 12)).equals(PROXY_V2_SIGNATURE));
          }
          if (result.status !== "more") break;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("any v2 header with the signature and random fields either parses, errors, or waits within its declared length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 80 }), chunking, (tail, sizes) => {
        const bytes = Buffer.concat([PROXY_V2_SIGNATURE, tail]);
        const result = feed(bytes, sizes);
        if (result.status === "more") {
          assert.ok(bytes.length < 16 + bytes.readUInt16BE(14));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * The one `host:port` parser, as each of its callers names the parts:
 * NameEchoClient.connect() (options), `name-echo bench --connect` (the flag)
 * and `name-echo connect [HOST] [PORT]` (the arguments).
 */
import * as assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { parseTarget, resolveTarget, type TargetNames } from "../../src/client/target.js";
import { Endpoint } from "../../src/endpoint.js";
import { NameEchoError } from "../../src/errors.js";

const hostPort = (target: Endpoint): { host: string; port: number } => {
  assert.ok(target instanceof Endpoint);
  return { host: target.address, port: target.port };
};

const BENCH: TargetNames = { target: "--connect", host: "--connect host", port: "--connect port" };
const CONNECT: TargetNames = { target: "HOST", host: "HOST", port: "PORT" };

// [text, host, port]: every spelling, read the same by every caller.
const GOOD: Array<[string, string, number]> = [
  ["example.com:3", "example.com", 3],
  ["10.1.2.3:99", "10.1.2.3", 99],
  ["[::1]:4", "::1", 4],
  ["[::1]", "::1", 8888],
  ["[::1]:", "::1", 8888],
  ["::1", "::1", 8888],
  ["fe80::1", "fe80::1", 8888],
  ["localhost", "localhost", 8888],
  ["localhost:", "localhost", 8888],
  [":7000", "127.0.0.1", 7000],
  ["9000", "127.0.0.1", 9000],
  ["", "127.0.0.1", 8888],
];

// [text, option named, what the problem says]
const BAD: Array<[string, keyof TargetNames, RegExp]> = [
  ["::1:80", "target", /is not clear: write an IPv6 address in brackets, e\.g\. \[::1\]:8888$/],
  ["2001:db8::1:2", "target", /brackets/],
  ["h:99999", "port", /^must be a whole number from 0 to 65535/],
  ["h:http", "port", /^must be a whole number from 0 to 65535 .*, not "http"$/],
  ["my_host:80", "host", /^contains '_'/],
  ["[]:80", "host", /^contains '\['/],
  ["a:b:c", "target", /brackets/],
];

describe("parseTarget", () => {
  for (const [text, host, port] of GOOD) {
    test(`${JSON.stringify(text)} → ${host} ${port}, for the library, bench and connect alike`, () => {
      for (const names of [undefined, BENCH, CONNECT]) assert.deepEqual(hostPort(parseTarget(text, names)), { host, port });
    });
  }

  for (const [text, part, says] of BAD) {
    test(`${JSON.stringify(text)} is refused, naming the ${part} as each caller calls it`, () => {
      for (const names of [{ target: "target", host: "host", port: "port" }, BENCH, CONNECT]) {
        assert.throws(
          () => parseTarget(text, names),
          (error: unknown) => {
            assert.ok(error instanceof NameEchoError);
            assert.equal(error.code, "ERR_INVALID_OPTION");
            assert.equal(error.option, names[part]);
            assert.match(error.problem!, says);
            return true;
          },
        );
      }
    });
  }

  it("prints a target the way it prints a connection's ends", () => {
    assert.equal(String(parseTarget("[::1]:4")), "[::1]:4");
    assert.equal(String(parseTarget("localhost")), "localhost:8888");
    assert.equal(parseTarget("[::1]:4").family, "IPv6");
  });

  it("with the port apart (name-echo connect HOST PORT), the text is the host alone", () => {
    assert.deepEqual(hostPort(parseTarget("::1", CONNECT, "9000")), { host: "::1", port: 9000 });
    assert.deepEqual(hostPort(parseTarget("[::1]", CONNECT, "9000")), { host: "::1", port: 9000 });
    assert.deepEqual(hostPort(parseTarget("1234", CONNECT, "9000")), { host: "1234", port: 9000 });
    assert.throws(() => parseTarget("localhost", CONNECT, "http"), /^NameEchoError: PORT must be a whole number from 0 to 65535/);
    assert.throws(() => parseTarget("h:1", CONNECT, "2"), /^NameEchoError: HOST contains ':'/);
  });

  // Moved from the bench tests: what `--connect` took before it shared this parser.
  it("takes HOST:PORT, [V6]:PORT, HOST and :PORT for --connect", () => {
    const parseConnect = (value: string) => hostPort(parseTarget(value, BENCH));
    assert.deepEqual(parseConnect("10.1.2.3:99"), { host: "10.1.2.3", port: 99 });
    assert.deepEqual(parseConnect("[::1]:8000"), { host: "::1", port: 8000 });
    assert.deepEqual(parseConnect("localhost"), { host: "localhost", port: 8888 });
    assert.deepEqual(parseConnect(":7000"), { host: "127.0.0.1", port: 7000 });
    assert.throws(() => parseConnect("::1:80"), /brackets/);
    assert.throws(() => parseConnect("h:99999"), /port/);
  });
});

describe("resolveTarget (NameEchoClient.connect's target)", () => {
  // Moved from the client tests.
  it("accepts { host, port }, { address, port }, host:port, [v6]:port and a port", () => {
    assert.deepEqual(hostPort(resolveTarget({ host: "localhost", port: 1 })), { host: "localhost", port: 1 });
    assert.deepEqual(hostPort(resolveTarget({ address: "127.0.0.1", port: 2 })), { host: "127.0.0.1", port: 2 });
    assert.deepEqual(hostPort(resolveTarget("example.com:3")), { host: "example.com", port: 3 });
    assert.deepEqual(hostPort(resolveTarget("[::1]:4")), { host: "::1", port: 4 });
    assert.deepEqual(hostPort(resolveTarget(5)), { host: "127.0.0.1", port: 5 });
    assert.throws(() => resolveTarget({ port: 70_000 }), /port must be/);
  });

  it("takes an Endpoint (what listen() resolves to) as it is", () => {
    const bound = new Endpoint("::1", 8123, "IPv6");
    assert.deepEqual(resolveTarget(bound), bound);
  });
});

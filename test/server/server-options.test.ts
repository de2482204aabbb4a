/**
 * NameEchoServer's options as a library caller passes them: every bad value
 * is a NameEchoError with code ERR_INVALID_OPTION, the option's name, and
 * what was wrong in words that name no command-line flag.
 */
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NameEchoError, NameEchoServer, type NameEchoServerOptions } from "../../src/index.js";
import { resolveServerOptions } from "../../src/server/server-options.js";
import { explainListenError } from "../../src/errors.js";
import { nearestName } from "../../src/options.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";

const cleanups = cleanupsAfterEach();

/** Asserts that `run` throws ERR_INVALID_OPTION about `option`, saying `says`, and naming no flag. */
function assertRefused(run: () => unknown, option: string, says: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof NameEchoError, `a NameEchoError, not ${String(error)}`);
    assert.equal(error.code, "ERR_INVALID_OPTION");
    assert.equal(error.option, option);
    assert.match(error.problem!, says);
    assert.equal(error.message, `${option} ${error.problem}`);
    assert.doesNotMatch(error.message, /(^|\s)--[a-z]/, "a library message names no flag");
    assert.doesNotMatch(error.message, /\n/, "one line");
    return true;
  });
}

// Built from `unknown` on purpose: these are what a JavaScript caller (or a config file) can pass.
const refuse = (options: unknown) => () => new NameEchoServer(options as NameEchoServerOptions);

const BAD_OPTIONS: Array<[what: string, options: unknown, option: string, says: RegExp]> = [
  ["a boolean given as a string", { proxyProtocol: "false" }, "proxyProtocol", /^must be true or false, not "false"$/],
  ["a boolean given as a number", { proxyProtocol: 1 }, "proxyProtocol", /^must be true or false, not 1$/],
  ["offerEcho given as a string", { offerEcho: "yes" }, "offerEcho", /^must be true or false, not "yes"$/],
  ["captureEndpoints given as a string", { captureEndpoints: "yes" }, "captureEndpoints", /^must be true or false, not "yes"$/],
  ["an empty name", { name: "" }, "name", /^must not be empty: every reply adds the name/],
  ["a null port", { port: null }, "port", /^is null; leave it out \(or undefined\) for the default, 8888$/],
  ["a null name", { name: null }, "name", /^is null; leave it out/],
  ["a port given as text", { port: "8080" }, "port", /^must be a whole number from 0 to 65535 \(0 picks a free port\), not "8080"$/],
  ["a limit given as text", { maxLineLength: "100" }, "maxLineLength", /^must be a whole number from 1 to \d+, not "100"$/],
  ["a fractional port", { port: 80.5 }, "port", /^must be a whole number from 0 to 65535/],
  ["NaN seconds", { idleTimeout: Number.NaN }, "idleTimeout", /^must be a number of seconds from 0 to \d+, not NaN$/],
  [
    "a misspelled option",
    { maxLineLenght: 100 },
    "maxLineLenght",
    /^is not an option \(did you mean maxLineLength\?\); the options are host, port, name, maxLineLength, /,
  ],
  ["an option in the wrong case", { MaxConnections: 5 }, "MaxConnections", /did you mean maxConnections\?/],
  ["an option like none", { colour: "red" }, "colour", /^is not an option; the options are host, port, /],
  ["tls that is not an object", { tls: "cert.pem" }, "tls", /^must be an object with a PEM certificate \(cert\) and its private key \(key\)/],
  ["a host of 300 characters", { host: "a".repeat(300) }, "host", /^is 300 characters long; a host name has at most 253$/],
  [
    "a host part of 64 characters",
    { host: `${"b".repeat(64)}.example` },
    "host",
    /^has a part of 64 characters; each dot-separated part of a host name has at most 63$/,
  ],
  ["a host with U+202E", { host: "evil\u202Etxt.example" }, "host", /^contains U\+202E; a host name has only letters, digits, '-' and '.'/],
  ["a host with a space", { host: "my host" }, "host", /^contains U\+0020;/],
  ["a host with an underscore", { host: "my_host" }, "host", /^contains '_' \(U\+005F\);/],
  ["a host with an empty part", { host: "a..b" }, "host", /^has an empty part between dots \("a\.\.b"\)$/],
  ["a host part starting with '-'", { host: "-a.example" }, "host", /^has a part that starts or ends with '-' \("-a"\)$/],
  ["an IPv6 host in brackets", { host: "[::1]" }, "host", /^must be written without brackets for an IPv6 address: ::1$/],
  ["an international host name", { host: "bücher.example" }, "host", /^must be written in its ASCII form: xn--bcher-kva\.example$/],
  ["an empty host", { host: "" }, "host", /^must be a host name or an IP address such as 127\.0\.0\.1/],
];

const BAD_ARGUMENTS: Array<[what: string, options: unknown, says: RegExp]> = [
  ["null", null, /^must be an object such as \{ host: … \} \(or left out for the defaults\), not null$/],
  ["a number", 8888, /^must be an object .*, not 8888$/],
  ["an array", [], /^must be an object .*, not an array$/],
];

describe("NameEchoServer options", () => {
  for (const [what, options, option, says] of BAD_OPTIONS) {
    test(`${what}: ERR_INVALID_OPTION naming ${option}`, () => assertRefused(refuse(options), option, says));
  }

  for (const [what, options, says] of BAD_ARGUMENTS) {
    test(`options that are ${what}: ERR_INVALID_OPTION, not a TypeError`, () => assertRefused(refuse(options), "options", says));
  }

  test("a value that reaches the message is escaped: no raw U+202E or control character is printed", () => {
    assert.throws(refuse({ port: "8\u202E0" }), (error: Error) => {
      assert.ok(!error.message.includes("\u202E"), error.message);
      assert.match(error.message, /not "8\\u202E0"$/);
      return true;
    });
  });

  test("left out or undefined means the default; what is given is kept", () => {
    const resolved = resolveServerOptions({ port: undefined, name: "Zoë", proxyProtocol: true, host: "localhost." });
    assert.equal(resolved.port, 8888);
    assert.equal(resolved.name, "Zoë");
    assert.equal(resolved.proxyProtocol, true);
    assert.equal(resolved.host, "localhost.");
    assert.equal(resolveServerOptions().host, "127.0.0.1");
    for (const host of ["::", "0.0.0.0", "fe80::1%lo", "xn--bcher-kva.example", "a-b.c0"]) assert.equal(resolveServerOptions({ host }).host, host);
  });

  test("nearestName suggests only what is close", () => {
    const known = ["host", "port", "name", "maxLineLength", "shutdownTimeout"];
    assert.equal(nearestName("maxLineLenght", known), "maxLineLength");
    assert.equal(nearestName("prot", known), "port");
    assert.equal(nearestName("shutdowntimeout", known), "shutdownTimeout");
    assert.equal(nearestName("colour", known), undefined);
  });
});

describe("NameEchoServer.listen()", { timeout: 20_000 }, () => {
  test("two calls at once: the second rejects with ERR_SERVER_RUNNING, the first listens", async () => {
    const server = new NameEchoServer({ port: 0 });
    cleanups.push(() => server.destroy());
    const first = server.listen();
    const second = server.listen();
    await assert.rejects(second, {
      name: "NameEchoError",
      code: "ERR_SERVER_RUNNING",
      message: /listen\(\) was already called \(server is starting\)/,
    });
    const address = await first;
    assert.ok(address.port > 0);
    assert.equal(server.state, "listening");
    await assert.rejects(server.listen(), { code: "ERR_SERVER_RUNNING", message: /server is listening/ });
  });

  test("a host name the resolver refuses is a NameEchoError about host, not a plain Error", async () => {
    // Well formed by RFC 1123, but not valid punycode: Node 20's getaddrinfo says EINVAL, later ones ENOTFOUND.
    const server = new NameEchoServer({ host: "xn--a", port: 0 });
    cleanups.push(() => server.destroy());
    await assert.rejects(server.listen(), (error: unknown) => {
      assert.ok(error instanceof NameEchoError, `a NameEchoError, not ${String(error)}`);
      assert.ok(["ERR_INVALID_OPTION", "ERR_ADDRESS_NOT_AVAILABLE"].includes(error.code), error.code);
      assert.equal(error.option, "host");
      assert.match(error.message, /^host "?xn--a"? /);
      return true;
    });
  });

  test("getaddrinfo's EINVAL (a name it will not look up) is an option error about host", () => {
    const einval = Object.assign(new Error("getaddrinfo EINVAL xn--a"), { code: "EINVAL", syscall: "getaddrinfo" });
    const explained = explainListenError(einval, "xn--a", 8888);
    assert.ok(explained instanceof NameEchoError);
    assert.equal(explained.code, "ERR_INVALID_OPTION");
    assert.equal(explained.option, "host");
    assert.equal(explained.message, 'host "xn--a" cannot be looked up (EINVAL); use an IP address or a host name');
    assert.equal(explained.cause, einval);
  });

  test("listen errors name the option that fixes them, in the library's words; a failed listen() may be tried again", async () => {
    const holder = new NameEchoServer({ port: 0 });
    cleanups.push(() => holder.destroy());
    const { port } = await holder.listen();
    const second = new NameEchoServer({ port });
    cleanups.push(() => second.destroy());
    await assert.rejects(second.listen(), { code: "ERR_ADDRESS_IN_USE", option: "port", problem: new RegExp(`^${port} is already in use`) });
    assert.equal(second.state, "new");
    await holder.close();
    assert.equal((await second.listen()).port, port);
  });
});

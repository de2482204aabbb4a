/**
 * NameEchoClient.connect()'s options and target as a library caller passes
 * them: a bad one is ERR_INVALID_OPTION naming it, before any connection is
 * tried. The port connected to has nothing listening, so a connect that was
 * tried anyway would fail with ERR_CONNECTION_REFUSED instead.
 */
import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { NameEchoClient, type ClientTarget, type NameEchoClientOptions } from "../../src/client/client.js";
import { NameEchoError } from "../../src/errors.js";
import { freePort } from "../helpers/net.js";

let port: number;
before(async () => {
  port = await freePort();
});

async function assertRefused(connecting: () => Promise<unknown>, option: string, says: RegExp): Promise<void> {
  await assert.rejects(connecting, (error: unknown) => {
    assert.ok(error instanceof NameEchoError, `a NameEchoError, not ${String(error)}`);
    assert.equal(error.code, "ERR_INVALID_OPTION", error.message);
    assert.equal(error.option, option);
    assert.match(error.problem!, says);
    assert.equal(error.message, `${option} ${error.problem}`);
    assert.doesNotMatch(error.message, /(^|\s)--[a-z]/, "a library message names no flag");
    return true;
  });
}

const BAD_OPTIONS: Array<[what: string, options: unknown, option: string, says: RegExp]> = [
  [
    "a misspelled option",
    { replyTimout: 5 },
    "replyTimout",
    /^is not an option \(did you mean replyTimeout\?\); the options are connectTimeout, replyTimeout, maxLineLength, tls$/,
  ],
  ["seconds given as text", { connectTimeout: "5" }, "connectTimeout", /^must be a number of seconds from 0\.001 to \d+, not "5"$/],
  ["a null option", { replyTimeout: null }, "replyTimeout", /^is null; leave it out \(or undefined\) for the default, 30$/],
  ["a line length of 0", { maxLineLength: 0 }, "maxLineLength", /^must be a whole number from 1 to/],
  ["tls given as text", { tls: "yes" }, "tls", /^must be true, false, or tls\.connect\(\) options such as \{ ca \}$/],
  ["options that are null", null, "options", /^must be an object such as \{ connectTimeout: … \}/],
];

const BAD_TARGETS: Array<[what: string, target: unknown, option: string, says: RegExp]> = [
  ["a null port", { host: "127.0.0.1", port: null }, "port", /^is null; leave it out \(or undefined\) for the default, 8888$/],
  ["a port given as text", { port: "8888" }, "port", /^must be a whole number from 0 to 65535/],
  ["a host of 300 characters", { host: "h".repeat(300), port: 1 }, "host", /^is 300 characters long/],
  ["a host with U+202E", "evil\u202Ecom:1", "host", /^contains U\+202E;/],
  ["nothing it can use", null, "target", /^must be \{ host, port \}, "host:port" or a port number, not null$/],
];

describe("NameEchoClient.connect() options", () => {
  for (const [what, options, option, says] of BAD_OPTIONS) {
    test(`${what}: ERR_INVALID_OPTION naming ${option}`, () =>
      assertRefused(() => NameEchoClient.connect(port, options as NameEchoClientOptions), option, says));
  }

  for (const [what, target, option, says] of BAD_TARGETS) {
    test(`a target with ${what}: ERR_INVALID_OPTION naming ${option}`, () =>
      assertRefused(() => NameEchoClient.connect(target as ClientTarget), option, says));
  }

  test("good options pass the check: the connect is tried, and refused in the same words over TCP and TLS", async () => {
    const refused = {
      code: "ERR_CONNECTION_REFUSED",
      message: new RegExp(`^cannot connect to 127\\.0\\.0\\.1:${port}: connection refused; is a server running there\\?$`),
    };
    await assert.rejects(NameEchoClient.connect(port, { connectTimeout: 5, replyTimeout: 0, maxLineLength: 10, tls: false }), refused);
    await assert.rejects(NameEchoClient.connect(port, { tls: true }), refused);
  });
});

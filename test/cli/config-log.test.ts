import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyEnvironment, environmentHelp, environmentName, inCommandLineTerms } from "../../src/cli/config.js";
import { invalidOption, NameEchoError } from "../../src/errors.js";
import { createLogger, escapeClientBytes } from "../../src/cli/log.js";

const SPEC = {
  port: { type: "string" },
  "max-line-length": { type: "string" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

describe("environment configuration", () => {
  it("names: NAME_ECHO_ + the flag in capitals, - as _", () => {
    assert.equal(environmentName("max-line-length"), "NAME_ECHO_MAX_LINE_LENGTH");
  });

  it("fills in what the flags left out; a flag wins; empty means unset", () => {
    const { values, fromEnvironment } = applyEnvironment(
      SPEC,
      { port: "1234" },
      {
        NAME_ECHO_PORT: "9999",
        NAME_ECHO_MAX_LINE_LENGTH: "100",
        NAME_ECHO_QUIET: "yes",
        NAME_ECHO_HELP: "1",
      },
    );
    assert.deepEqual(values, { port: "1234", "max-line-length": "100", quiet: true });
    assert.deepEqual(
      [...fromEnvironment],
      [
        ["max-line-length", "NAME_ECHO_MAX_LINE_LENGTH"],
        ["quiet", "NAME_ECHO_QUIET"],
      ],
    );
    assert.deepEqual(applyEnvironment(SPEC, {}, { NAME_ECHO_PORT: "" }).values, {});
    assert.equal(applyEnvironment(SPEC, {}, { NAME_ECHO_QUIET: "off" }).values.quiet, false);
  });

  it("a boolean variable that is not a boolean is a usage error naming the variable", () => {
    assert.throws(() => applyEnvironment(SPEC, {}, { NAME_ECHO_QUIET: "maybe" }), { code: "ERR_USAGE", message: /NAME_ECHO_QUIET/ });
  });

  it("spells a flag as the user set it: the variable its value came from, else the flag", () => {
    const { spell } = applyEnvironment(SPEC, { port: "1" }, { NAME_ECHO_PORT: "2", NAME_ECHO_MAX_LINE_LENGTH: "x" });
    assert.equal(spell("port"), "--port");
    assert.equal(spell("max-line-length"), "NAME_ECHO_MAX_LINE_LENGTH");
  });

  it("retells a library option error with the flag or variable in the option's place, from its fields", () => {
    const flags = { maxLineLength: "max-line-length", port: "port", tls: ["tls-cert", "tls-key"] };
    const { spell } = applyEnvironment(SPEC, { port: "1" }, { NAME_ECHO_MAX_LINE_LENGTH: "x", NAME_ECHO_TLS_KEY: "k" });
    const retold = inCommandLineTerms(invalidOption("maxLineLength", 'must be a whole number, not "x"'), flags, spell) as NameEchoError;
    assert.equal(retold.message, 'NAME_ECHO_MAX_LINE_LENGTH must be a whole number, not "x"');
    assert.equal(retold.code, "ERR_INVALID_OPTION");
    assert.equal(retold.option, "maxLineLength");
    assert.equal((inCommandLineTerms(invalidOption("port", "is bad"), flags, spell) as Error).message, "--port is bad");
    assert.equal((inCommandLineTerms(invalidOption("tls", "is bad"), flags, (flag) => `--${flag}`) as Error).message, "--tls-cert/--tls-key is bad");
    // Not about an option the CLI has, or not about an option at all: unchanged.
    const backlog = invalidOption("backlog", "is bad");
    assert.equal(inCommandLineTerms(backlog, flags, spell), backlog);
    const plain = new NameEchoError("ERR_TIMEOUT", "port 5 took too long");
    assert.equal(inCommandLineTerms(plain, flags, spell), plain);
  });

  it("--help lists every variable but help itself", () => {
    const help = environmentHelp(SPEC);
    assert.match(help, /NAME_ECHO_MAX_LINE_LENGTH +--max-line-length/);
    assert.doesNotMatch(help, /NAME_ECHO_HELP/);
  });
});

describe("logger", () => {
  it("JSON: one object per line with the message, the level as a word, and the fields", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "info", format: "json", write: (line) => lines.push(line) });
    log.debug("hidden");
    log.info("connect 1.2.3.4:5", { event: "connect", remote: "1.2.3.4:5" });
    log.warn("plain");
    assert.equal(lines.length, 2);
    const first = JSON.parse(lines[0]!);
    assert.equal(first.level, "info");
    assert.equal(first.msg, "connect 1.2.3.4:5");
    assert.equal(first.event, "connect");
    assert.match(first.time, /^\d{4}-\d\d-\d\dT/);
    assert.equal(JSON.parse(lines[1]!).level, "warn");
    assert.equal(log.enabled("debug"), false);
    assert.equal(log.enabled("info"), true);
  });

  it("pretty: TIME LEVEL message, fields not repeated", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "warn", format: "pretty", write: (line) => lines.push(line) });
    log.info("hidden");
    log.warn("rejected 1.2.3.4:5", { event: "limit" });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\S+ warn  rejected 1\.2\.3\.4:5\n$/);
    assert.equal(log.enabled("info"), false);
  });

  it("auto: pretty at a terminal, JSON otherwise", () => {
    const out: string[] = [];
    createLogger({ level: "info", format: "auto", isTTY: true, write: (l) => out.push(l) }).info("a");
    createLogger({ level: "info", format: "auto", isTTY: false, write: (l) => out.push(l) }).info("b");
    assert.match(out[0]!, / info  a\n$/);
    assert.equal(JSON.parse(out[1]!).msg, "b");
  });

  it("client bytes are escaped before they reach either format", () => {
    const escaped = escapeClientBytes(Buffer.from('hi\x1b[2J\r\n"\\'));
    assert.equal(escaped, 'hi\\x1b[2J\\x0d\\x0a\\"\\\\');
    const lines: string[] = [];
    createLogger({ level: "info", format: "json", write: (l) => lines.push(l) }).info(`got ${escaped}`);
    assert.doesNotMatch(lines[0]!, /\x1b/);
  });
});

/**
 * Every bad command-line value: one clear line on stderr, no stack trace, and
 * the right exit code (2 for a usage error, 1 for a port already in use).
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as net from "node:net";
import { describe, test } from "node:test";
import { BIN } from "../helpers/cli.js";

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function serve(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    // A bad value must stop it at once; a server that starts anyway is killed and fails the test.
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function assertOneLine(outcome: Outcome, code: number, pattern: RegExp): void {
  assert.equal(outcome.code, code, `exit code; stderr: ${outcome.stderr}`);
  const lines = outcome.stderr.split("\n");
  assert.equal(lines.pop(), "", "stderr ends with a newline");
  assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${outcome.stderr}`);
  assert.ok(!outcome.stderr.includes("    at "), `a stack trace on stderr:\n${outcome.stderr}`);
  assert.match(lines[0]!, /^name-echo: /);
  assert.match(lines[0]!, pattern);
  assert.equal(outcome.stdout, "", "nothing on stdout (it did not start listening)");
}

const USAGE_ERRORS: Array<[what: string, args: string[], says: RegExp]> = [
  ["port not a number", ["--port", "http"], /--port must be a number from 0 to 65535.*"http"/],
  ["port out of range", ["--port", "65536"], /--port must be a whole number from 0 to 65535/],
  ["negative port", ["--port=-1"], /--port must be a number from 0 to 65535/],
  ["port with a missing value", ["--port"], /option '--port' needs a value/],
  ["a flag where a value belongs", ["--port", "--name", "Bo"], /option '--port' needs a value/],
  ["unknown flag", ["--colour", "red"], /unknown option '--colour'/],
  ["a value for a switch", ["--quiet=yes"], /'--quiet' takes no value/],
  ["stray argument", ["8888"], /unexpected argument '8888'/],
  ["name with a control character", ["--name", "Ali\u001b[2J"], /--name must not contain control characters \(found U\+001B\)/],
  ["empty host", ["--host", ""], /--host must be a host name or an IP address/],
  ["name too long", ["--name", "x".repeat(300)], /--name is 300 bytes long; the limit is 256 bytes/],
  ["negative line length", ["--max-line-length", "-5"], /option '--max-line-length' needs a value \(a value that starts with '-' is written --max-line-length=VALUE\)/],
  ["negative line length, spelled with =", ["--max-line-length=-5"], /--max-line-length must be a whole number from 1 to/],
  ["non-numeric line length", ["--max-line-length", "8k"], /--max-line-length must be a whole number from 1 to .*"8k"/],
  ["zero connections", ["--max-connections", "0"], /--max-connections must be a whole number from 1 to/],
  ["fractional connections", ["--max-connections", "1.5"], /--max-connections must be a whole number/],
  ["negative idle timeout", ["--idle-timeout=-1"], /--idle-timeout must be a number of seconds from 0 to/],
  ["non-numeric idle timeout", ["--idle-timeout", "soon"], /--idle-timeout must be a number of seconds.*"soon"/],
  ["non-numeric shutdown timeout", ["--shutdown-timeout", "NaN"], /--shutdown-timeout must be a number of seconds/],
  ["unsent-bytes bound too small", ["--max-unsent-bytes", "10"], /--max-unsent-bytes must be a whole number from 1024 to/],
  ["non-numeric unsent-bytes bound", ["--max-unsent-bytes", "1MiB"], /--max-unsent-bytes must be a whole number/],
  ["client memory budget too small", ["--max-client-memory", "100"], /--max-client-memory must be 0 \(no bound\) or at least 65536 bytes, not 100/],
  ["non-numeric per-address limit", ["--max-connections-per-ip", "many"], /--max-connections-per-ip must be a whole number from 0 to/],
  ["non-numeric linger", ["--linger-timeout", "soon"], /--linger-timeout must be a number of seconds from 0 to 3600, not "soon"/],
];

describe("name-echo serve with bad values", { timeout: 60_000 }, () => {
  for (const [what, args, says] of USAGE_ERRORS) {
    test(`${what}: exit 2, one line`, { timeout: 10_000 }, async () => {
      assertOneLine(await serve(["--port", "0", ...args]), 2, says);
    });
  }

  test("port already in use: exit 1, one line that says what to do", { timeout: 10_000 }, async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = holder.address() as net.AddressInfo;
      assertOneLine(await serve(["--port", String(port)]), 1, new RegExp(`port ${port} is already in use.*--port`));
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});

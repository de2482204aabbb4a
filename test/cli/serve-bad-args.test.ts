/**
 * Every bad command-line value and every bad NAME_ECHO_* variable: one clear
 * line on stderr naming what the user set (the flag, or the variable), no
 * stack trace, and the right exit code (2 for a usage error, 1 for a port
 * already in use).
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { BIN, REPO, runCli } from "../helpers/cli.js";
import { freePort } from "../helpers/net.js";

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The test's environment without any NAME_ECHO_* of the caller's, plus `env`. */
function environment(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("NAME_ECHO_")));
  return { ...clean, ...env };
}

/** Runs `name-echo serve ARGS`; `uid` runs it as another user (root may read any file, so root tests unreadable files as nobody). */
function serve(args: string[], env: Record<string, string> = {}, uid?: number): Promise<Outcome> {
  const user = uid === undefined ? {} : { uid, gid: uid };
  // A bad value must stop it at once; a server that starts anyway is killed and fails the test.
  return runCli(["serve", ...args], { stdio: ["ignore", "pipe", "pipe"], env: environment(env), timeoutMs: 5000, ...user }).finished;
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
  ["port not a number", ["--port", "http"], /--port must be a whole number from 0 to 65535.*"http"/],
  ["port out of range", ["--port", "65536"], /--port must be a whole number from 0 to 65535/],
  ["negative port", ["--port=-1"], /--port must be a whole number from 0 to 65535.*"-1"/],
  ["port with a missing value", ["--port"], /option '--port' needs a value/],
  ["a flag where a value belongs", ["--port", "--name", "Bo"], /option '--port' needs a value/],
  ["unknown flag", ["--colour", "red"], /unknown option '--colour'/],
  ["misspelled flag", ["--max-line-lenght", "9"], /unknown option '--max-line-lenght' \(did you mean --max-line-length\?\)/],
  ["a value for a switch", ["--quiet=yes"], /'--quiet' takes no value/],
  ["stray argument", ["8888"], /unexpected argument '8888'/],
  ["name with a control character", ["--name", "Ali\u001b[2J"], /--name must not contain control characters \(found U\+001B\)/],
  [
    "name with a right-to-left override",
    ["--name", "Ali\u202Eevil"],
    /^name-echo: --name must not contain invisible or text-direction characters \(found U\+202E\)/,
  ],
  [
    "name with a zero-width space",
    ["--name", "A\u200Bli"],
    /^name-echo: --name must not contain invisible or text-direction characters \(found U\+200B\)/,
  ],
  ["empty host", ["--host", ""], /--host must be a host name or an IP address/],
  ["name too long", ["--name", "x".repeat(300)], /--name is 300 bytes long; the limit is 256 bytes/],
  [
    "negative line length",
    ["--max-line-length", "-5"],
    /option '--max-line-length' needs a value \(a value that starts with '-' is written --max-line-length=VALUE\)/,
  ],
  ["negative line length, spelled with =", ["--max-line-length=-5"], /--max-line-length must be a whole number from 1 to/],
  ["non-numeric line length", ["--max-line-length", "8k"], /--max-line-length must be a whole number from 1 to .*"8k"/],
  ["zero connections", ["--max-connections", "0"], /--max-connections must be a whole number from 1 to/],
  ["fractional connections", ["--max-connections", "1.5"], /--max-connections must be a whole number/],
  ["negative idle timeout", ["--idle-timeout=-1"], /--idle-timeout must be a number of seconds from 0 to/],
  ["non-numeric idle timeout", ["--idle-timeout", "soon"], /--idle-timeout must be a number of seconds.*"soon"/],
  ["non-numeric shutdown timeout", ["--shutdown-timeout", "NaN"], /--shutdown-timeout must be a number of seconds/],
  ["unsent-bytes bound too small", ["--max-unsent-bytes", "10"], /--max-unsent-bytes must be a whole number from 1024 to/],
  ["non-numeric unsent-bytes bound", ["--max-unsent-bytes", "1MiB"], /--max-unsent-bytes must be a whole number/],
  ["host of 300 characters", ["--host", "h".repeat(300)], /^name-echo: --host is 300 characters long; a host name has at most 253$/],
  ["host with U+202E", ["--host", "evil\u202Ecom"], /^name-echo: --host contains U\+202E; a host name has only letters, digits, '-' and '\.'/],
  ["host in brackets", ["--host", "[::1]"], /^name-echo: --host must be written without brackets for an IPv6 address: ::1$/],
  ["empty name", ["--name="], /^name-echo: --name must not be empty: every reply adds the name/],
  ["handshake timeout of 0", ["--handshake-timeout", "0"], /^name-echo: --handshake-timeout must be a number of seconds from 0\.001 to 3600, not 0$/],
  [
    "certificate and key that are not PEM",
    ["--tls-cert", join(REPO, "README.md"), "--tls-key", join(REPO, "README.md")],
    /^name-echo: --tls-cert\/--tls-key certificate or key cannot be used: /,
  ],
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
      assertOneLine(
        await serve(["--port", String(port)]),
        1,
        new RegExp(`--port ${port} is already in use on 127\\.0\\.0\\.1: stop the other server or choose another port`),
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  test("--http-port already in use: exit 1, one line naming the flag (or its variable)", { timeout: 10_000 }, async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = holder.address() as net.AddressInfo;
      assertOneLine(
        await serve(["--port", "0", "--http-port", String(port)]),
        1,
        new RegExp(`^name-echo: --http-port ${port} is already in use on 127\\.0\\.0\\.1: stop the other server or choose another port`),
      );
      assertOneLine(
        await serve(["--port", "0"], { NAME_ECHO_METRICS_PORT: String(port) }),
        1,
        new RegExp(`^name-echo: NAME_ECHO_METRICS_PORT ${port} is already in use on 127\\.0\\.0\\.1`),
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  test("a bad --http-port while --port is taken: the bad value (a usage error, exit 2) before the port in use", { timeout: 10_000 }, async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = holder.address() as net.AddressInfo;
      assertOneLine(
        await serve(["--port", String(port), "--http-port", "abc"]),
        2,
        /^name-echo: --http-port must be a whole number from 0 to 65535.*"abc"/,
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  test("--http-port equal to --port: says they are the same port, exit 2", { timeout: 10_000 }, async () => {
    const port = String(await freePort());
    assertOneLine(
      await serve(["--port", port, "--http-port", port]),
      2,
      new RegExp(`^name-echo: --http-port ${port} is the same port as --port ${port}, where the server listens; give the HTTP port another one`),
    );
  });

  test("--http-port equal to the default port, set by NAME_ECHO_HTTP_PORT: names the variable and the default", { timeout: 10_000 }, async () => {
    assertOneLine(await serve([], { NAME_ECHO_HTTP_PORT: "8888" }), 2, /^name-echo: NAME_ECHO_HTTP_PORT 8888 is the same port as --port 8888/);
  });
});

describe("name-echo serve with a TLS file that is not a readable regular file", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "name-echo-tls-files-"));
  // Open to all, so another user can reach the files in it.
  chmodSync(dir, 0o755);
  after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, "cert.fifo");
  execFileSync("mkfifo", [fifo]);
  const unreadable = join(dir, "unreadable.pem");
  writeFileSync(unreadable, "not read");
  chmodSync(unreadable, 0o000);
  const key = join(REPO, "README.md");

  // Root may read any file: the unreadable file is tried as nobody then, if nobody can run name-echo from here.
  const NOBODY = 65534;
  const asRoot = process.getuid?.() === 0;
  const unreadableAs = asRoot ? NOBODY : undefined;
  const nobodyCanRun =
    !asRoot ||
    spawnSync(process.execPath, ["-e", `require("node:fs").accessSync(${JSON.stringify(BIN)}, 4)`], { uid: NOBODY, gid: NOBODY }).status === 0;

  const FILES: Array<[what: string, path: string, says: RegExp, uid?: number, skip?: string]> = [
    // Reading a FIFO waits for a writer: start-up used to hang with no word.
    ["a FIFO", fifo, /it is a FIFO \(named pipe\), not a regular file$/],
    ["a directory", dir, /it is a directory, not a regular file$/],
    ["a device", "/dev/zero", /it is a device, not a regular file$/],
    ["a missing file", join(dir, "missing.pem"), /no such file$/],
    [
      "an unreadable file",
      unreadable,
      /permission denied$/,
      unreadableAs,
      nobodyCanRun ? undefined : "running as root, and user nobody cannot read bin/name-echo",
    ],
  ];
  for (const [what, path, says, uid, skip] of FILES) {
    test(`--tls-cert naming ${what}: exit 2, one line, no hang`, { timeout: 10_000, skip }, async () => {
      const outcome = await serve(["--port", "0", "--tls-cert", path, "--tls-key", key], {}, uid);
      assertOneLine(outcome, 2, new RegExp(`^name-echo: cannot read --tls-cert "${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}": ${says.source}`));
    });
  }

  test("--tls-key naming a FIFO: exit 2, one line, no hang", { timeout: 10_000 }, async () => {
    assertOneLine(
      await serve(["--port", "0", "--tls-cert", key, "--tls-key", fifo]),
      2,
      /^name-echo: cannot read --tls-key ".*cert\.fifo": it is a FIFO/,
    );
  });
});

/**
 * A bad value for each NAME_ECHO_* variable, with whatever else it needs to
 * be read. Every variable `serve --help` lists must be here, so a new flag
 * cannot go untested.
 */
const BAD_VARIABLES: Record<string, Record<string, string>> = {
  NAME_ECHO_HOST: { NAME_ECHO_HOST: "evil\u202Ecom" },
  NAME_ECHO_PORT: { NAME_ECHO_PORT: "http" },
  NAME_ECHO_NAME: { NAME_ECHO_NAME: "Ali\u001b[2J" },
  NAME_ECHO_MAX_LINE_LENGTH: { NAME_ECHO_MAX_LINE_LENGTH: "8k" },
  NAME_ECHO_MAX_CONNECTIONS: { NAME_ECHO_MAX_CONNECTIONS: "0" },
  NAME_ECHO_IDLE_TIMEOUT: { NAME_ECHO_IDLE_TIMEOUT: "soon" },
  NAME_ECHO_SHUTDOWN_TIMEOUT: { NAME_ECHO_SHUTDOWN_TIMEOUT: "NaN" },
  NAME_ECHO_MAX_UNSENT_BYTES: { NAME_ECHO_MAX_UNSENT_BYTES: "10" },
  NAME_ECHO_QUIET: { NAME_ECHO_QUIET: "maybe" },
  NAME_ECHO_WORKERS: { NAME_ECHO_WORKERS: "many" },
  NAME_ECHO_BALANCE: { NAME_ECHO_BALANCE: "random" },
  NAME_ECHO_LOG_LEVEL: { NAME_ECHO_LOG_LEVEL: "loud" },
  NAME_ECHO_LOG_FORMAT: { NAME_ECHO_LOG_FORMAT: "xml" },
  NAME_ECHO_METRICS_PORT: { NAME_ECHO_METRICS_PORT: "http" },
  NAME_ECHO_METRICS_HOST: { NAME_ECHO_METRICS_HOST: "my_host", NAME_ECHO_METRICS_PORT: "0" },
  NAME_ECHO_HTTP_PORT: { NAME_ECHO_HTTP_PORT: "99999" },
  NAME_ECHO_HTTP_HOST: { NAME_ECHO_HTTP_HOST: "my_host", NAME_ECHO_HTTP_PORT: "0" },
  NAME_ECHO_TRACE: { NAME_ECHO_TRACE: "loud" },
  NAME_ECHO_MAX_CLIENT_MEMORY: { NAME_ECHO_MAX_CLIENT_MEMORY: "100" },
  NAME_ECHO_MAX_CONNECTIONS_PER_IP: { NAME_ECHO_MAX_CONNECTIONS_PER_IP: "-1" },
  NAME_ECHO_LINGER_TIMEOUT: { NAME_ECHO_LINGER_TIMEOUT: "soon" },
  NAME_ECHO_TRANSPORT: { NAME_ECHO_TRANSPORT: "carrier-pigeon" },
  NAME_ECHO_LOG_CONNECTIONS_PER_SECOND: { NAME_ECHO_LOG_CONNECTIONS_PER_SECOND: "lots" },
  NAME_ECHO_PROXY_PROTOCOL: { NAME_ECHO_PROXY_PROTOCOL: "sometimes" },
  NAME_ECHO_OFFER_ECHO: { NAME_ECHO_OFFER_ECHO: "please" },
  NAME_ECHO_HANDSHAKE_TIMEOUT: { NAME_ECHO_HANDSHAKE_TIMEOUT: "0" },
  NAME_ECHO_TLS_CERT: { NAME_ECHO_TLS_CERT: "/nonexistent/cert.pem", NAME_ECHO_TLS_KEY: join(REPO, "README.md") },
  NAME_ECHO_TLS_KEY: { NAME_ECHO_TLS_KEY: join(REPO, "README.md") },
};

describe("name-echo serve with a bad NAME_ECHO_* variable", { timeout: 120_000 }, () => {
  test("every variable --help lists has a bad value here", async () => {
    const help = (await runCli(["serve", "--help"], { env: environment({}), timeoutMs: 10_000 }).finished).stdout;
    const listed = [...help.matchAll(/^ {2}(NAME_ECHO_\w+) +--([\w-]+)$/gm)].map((match) => match[1]!);
    assert.ok(listed.length >= 19, `the variables from --help: ${listed.join(", ")}`);
    assert.deepEqual(
      listed.filter((variable) => !(variable in BAD_VARIABLES)),
      [],
    );
  });

  for (const [variable, env] of Object.entries(BAD_VARIABLES)) {
    const flag = `--${variable.slice("NAME_ECHO_".length).toLowerCase().replace(/_/g, "-")}`;
    test(`${variable}: exit 2, one line naming the variable, not ${flag}`, { timeout: 10_000 }, async () => {
      // --port 0 keeps a server that starts anyway off a real port; a flag would hide NAME_ECHO_PORT.
      const outcome = await serve(variable === "NAME_ECHO_PORT" ? [] : ["--port", "0"], env);
      assertOneLine(outcome, 2, new RegExp(`^name-echo: .*\\b${variable}\\b`));
      assert.ok(!outcome.stderr.includes(`${flag} `) && !outcome.stderr.includes(`${flag}/`), `names ${flag}: ${outcome.stderr}`);
    });
  }

  test("a value from the environment is named by its variable even when the library refuses it", async () => {
    const readme = join(REPO, "README.md");
    const outcome = await serve(["--port", "0"], { NAME_ECHO_TLS_CERT: readme, NAME_ECHO_TLS_KEY: readme });
    assertOneLine(outcome, 2, /^name-echo: NAME_ECHO_TLS_CERT\/NAME_ECHO_TLS_KEY certificate or key cannot be used: /);
  });

  test("a flag on the command line is named as the flag, next to a variable", async () => {
    const outcome = await serve(["--port", "0", "--http-port", "0"], { NAME_ECHO_METRICS_PORT: "1" });
    assertOneLine(outcome, 2, /^name-echo: --http-port 0 and NAME_ECHO_METRICS_PORT 1 name the same thing; give one of them$/);
  });
});

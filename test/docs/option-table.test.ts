/**
 * options.ts's table is the one home of every option: the library's
 * defaults, `serve --help`, the README's flag table and /status all agree
 * with it, so a row added there cannot be missed by any of them.
 */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { environmentName } from "../../src/cli/config.js";
import { SERVE_HELP } from "../../src/cli/serve.js";
import { DEFAULTS } from "../../src/index.js";
import { instrumentServer, StatusServer } from "../../src/metrics.js";
import { COMMAND_OPTION_TABLE, defaultOf, SERVE_FLAG_ROWS, SERVER_OPTION_TABLE, type OptionRow } from "../../src/options.js";
import { statusLimits, type ServerStatus, type StatusLimits } from "../../src/ops/status.js";
import { NameEchoServer } from "../../src/server/server.js";
import { resolveServerOptions } from "../../src/server/server-options.js";
import { REPO } from "../helpers/cli.js";

const serverRows = Object.entries<OptionRow>(SERVER_OPTION_TABLE);

describe("the option table", () => {
  test("the README's serve flag table lists exactly the table's flags", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const section = /^### `name-echo serve \[options\]`[^\n]*\n([\s\S]*?)\n### /m.exec(readme)?.[1];
    assert.ok(section, "README has a `name-echo serve [options]` section");
    const firstCells = [...section.matchAll(/^\| (.*?) \| /gm)].map((match) => match[1]!).filter((cell) => cell.includes("`--"));
    const documented = firstCells.flatMap((cell) => [...cell.matchAll(/`--([a-z-]+)/g)].map((match) => match[1]!));
    // --help is no option, and the README says every command has it.
    assert.deepEqual([...documented].sort(), SERVE_FLAG_ROWS.map((row) => row.flag).sort());
  });

  test("serve --help has a line for every flag, with its value, its default and its variable", () => {
    for (const row of SERVE_FLAG_ROWS) {
      const line = new RegExp(`^  --${row.flag}${row.value === undefined ? "" : ` ${row.value.replace(/\|/g, "\\|")}`}  `, "m");
      assert.match(SERVE_HELP, line, `--${row.flag}`);
      const shown = row.shownDefault ?? (row.value === undefined || row.default === undefined ? undefined : String(defaultOf(row)));
      if (shown !== undefined) assert.ok(SERVE_HELP.includes(`(default ${shown})`), `--${row.flag}'s default, ${shown}`);
      assert.equal(environmentName(row.flag), `NAME_ECHO_${row.flag.toUpperCase().replace(/-/g, "_")}`);
    }
    // Wrapped lines stay within the width a terminal shows.
    for (const line of SERVE_HELP.split("\n")) assert.ok(line.length <= 100, `a help line of ${line.length} characters: ${line}`);
  });

  test("a server started with no options has every row's default", () => {
    const resolved = resolveServerOptions() as unknown as Record<string, unknown>;
    for (const [option, row] of serverRows) assert.equal(resolved[option], defaultOf(row), option);
  });

  test("every numeric server option but the port is a limit /status shows, under a key of its own", () => {
    const keys = serverRows.flatMap(([, row]) => (row.status === undefined ? [] : [row.status]));
    assert.equal(new Set(keys).size, keys.length, "no key twice");
    // A number is a limit, but for the port, which says where (and /status shows in `address`).
    for (const [option, row] of serverRows) {
      const limit = option !== "port" && typeof defaultOf(row) === "number";
      assert.equal(row.status !== undefined, limit, `${option}: a status key exactly when it is a limit`);
    }
    // Every key the type promises; the compiler holds this literal to StatusLimits.
    const promised: Record<keyof StatusLimits, true> = {
      maxLineLength: true,
      maxConnections: true,
      maxConnectionsPerIp: true,
      idleTimeoutSeconds: true,
      maxUnsentBytes: true,
      maxClientMemory: true,
      shutdownTimeoutSeconds: true,
      lingerTimeoutSeconds: true,
      backlog: true,
      handshakeTimeoutSeconds: true,
    };
    assert.deepEqual(keys.sort(), Object.keys(promised).sort());
  });

  test("DEFAULTS: the options' names, and the old names beside them with the same values", () => {
    assert.equal(DEFAULTS.idleTimeout, SERVER_OPTION_TABLE.idleTimeout.default);
    assert.equal(DEFAULTS.idleTimeoutSeconds, DEFAULTS.idleTimeout);
    assert.equal(DEFAULTS.shutdownTimeoutSeconds, DEFAULTS.shutdownTimeout);
    assert.equal(DEFAULTS.lingerTimeoutSeconds, DEFAULTS.lingerTimeout);
    assert.equal(DEFAULTS.handshakeTimeoutSeconds, DEFAULTS.handshakeTimeout);
    assert.equal(DEFAULTS.httpHost, COMMAND_OPTION_TABLE["http-host"].default);
    assert.equal(DEFAULTS.metricsHost, DEFAULTS.httpHost);
    assert.equal(DEFAULTS.httpHost, "127.0.0.1");
    assert.ok(Object.isFrozen(DEFAULTS));
  });
});

describe("/status shows every limit", { timeout: 10_000 }, () => {
  test("as the server was given it, over a real HTTP port", async () => {
    const server = new NameEchoServer({
      port: 0,
      maxConnectionsPerIp: 7,
      lingerTimeout: 1.5,
      handshakeTimeout: 3,
      maxClientMemory: 1 << 20,
      backlog: 128,
    });
    await server.listen();
    const http = new StatusServer(server, instrumentServer(server, { defaultMetrics: false }), { port: 0 });
    try {
      const { port } = await http.listen();
      const response = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(5000) });
      const status = (await response.json()) as ServerStatus;
      assert.deepEqual(status.limits, statusLimits(server));
      assert.deepEqual(status.limits, {
        maxLineLength: 8192,
        maxConnections: 10_000,
        maxConnectionsPerIp: 7,
        idleTimeoutSeconds: 300,
        maxUnsentBytes: 1024 * 1024,
        maxClientMemory: 1 << 20,
        shutdownTimeoutSeconds: 10,
        lingerTimeoutSeconds: 1.5,
        backlog: 128,
        handshakeTimeoutSeconds: 3,
      });
    } finally {
      await http.close();
      await server.destroy();
    }
  });
});

/**
 * `name-echo connect [HOST] [PORT]`: the client, in three shapes.
 *
 * - At a terminal: a prompt with line editing and history (node:readline);
 *   replies are printed above the prompt as they arrive, so typing is never
 *   blocked on the server. Ctrl-D or Esc leaves.
 * - Piped: every line of stdin is sent, every reply printed to stdout in
 *   order, and the command exits 0 once the last reply is in. Lines are
 *   pipelined (up to PIPELINE_WINDOW in flight), not sent one round trip at
 *   a time, so 10,000 lines take milliseconds, not 10,000 round trips.
 * - --raw: plain TCP like nc, for any server: stdin goes to the socket, the
 *   socket goes to stdout, untouched, until the server closes.
 *
 * Status and errors go to stderr, so stdout carries only what the server sent.
 */
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import * as readline from "node:readline";
import { NameEchoClient } from "../client/client.js";
import { openConnection } from "../client/open-connection.js";
import { parseTarget } from "../client/target.js";
import type { Endpoint } from "../endpoint.js";
import { explainClientError, NameEchoError } from "../errors.js";
import { escapeClientText } from "../escape.js";
import { DEFAULTS } from "../options.js";
import { ESCAPE_TIMEOUT_MS } from "../protocol/keys.js";
import { classify, isClosing } from "../protocol/notices.js";
import { parseCommandLine, usageError, type OptionSpec } from "./args.js";
import { readRegularFile } from "./read-file.js";

export const CONNECT_HELP = `Usage: name-echo connect [HOST] [PORT] [options]

Connects to a name-echo server (default ${DEFAULTS.host} ${DEFAULTS.port}) and sends it lines.

  At a terminal: type a line and press Enter; replies appear as they arrive.
  Arrow keys edit the line and recall earlier ones. Ctrl-D or Esc leaves.

  With piped input: sends every line, prints every reply to stdout (messages
  go to stderr), waits for the last reply and exits 0.
      printf 'Hello\\nWorld\\n' | name-echo connect

  One argument that is a number is taken as the port: name-echo connect 9000
  One argument may also be HOST:PORT: name-echo connect [::1]:9000

Options:
  --raw        plain TCP, like nc: send stdin as it is, print whatever the
               server sends until it closes (works with any TCP server)
                   printf 'GET / HTTP/1.0\\r\\n\\r\\n' | name-echo connect --raw example.com 80
  --tls        talk TLS to a server started with --tls-cert/--tls-key; the
               server's certificate is verified (system CAs, NODE_EXTRA_CA_CERTS)
  --tls-ca FILE  trust this CA or self-signed certificate (PEM) for --tls
  -h, --help   show this help

Exit status: 0 when done, 1 when the server cannot be reached or the
connection fails, 2 for a usage error.
`;

const CONNECT_OPTIONS: OptionSpec = {
  raw: { type: "boolean" },
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
  help: { type: "boolean", short: "h" },
};

/**
 * Replies owed at once in piped mode. Enough to keep the connection full
 * (a window of round trips in flight) while bounding memory for an endless
 * input: reading stdin pauses until the oldest reply comes back.
 */
const PIPELINE_WINDOW = 4096;

export async function connect(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine("connect", argv, CONNECT_OPTIONS, 2);
  if (values.help) {
    process.stdout.write(CONNECT_HELP);
    return 0;
  }
  const target = targetFromArgs(positionals);
  const tls = tlsFromArgs(values);
  if (values.raw) {
    if (tls) throw usageError("--tls is not available with --raw; use 'openssl s_client -connect HOST:PORT' for raw TLS");
    return raw(target);
  }
  if (process.stdin.isTTY) return interactive(target, tls);
  return piped(target, tls);
}

function tlsFromArgs(values: Record<string, string | boolean | undefined>): TlsConnectionOptions | undefined {
  const caFile = values["tls-ca"];
  if (typeof caFile === "string") {
    if (!values.tls) throw usageError("--tls-ca needs --tls; see 'name-echo connect --help'");
    return { ca: readRegularFile(caFile, "--tls-ca") };
  }
  return values.tls ? {} : undefined;
}

/** [HOST] [PORT], or one HOST:PORT; a lone number is a port (a host name cannot be all digits in practice). */
function targetFromArgs([first, second]: string[]): Endpoint {
  try {
    return parseTarget(first ?? DEFAULTS.host, { target: "HOST", host: "HOST", port: "PORT" }, second);
  } catch (error) {
    throw usageError(`${(error as Error).message}; see 'name-echo connect --help'`);
  }
}

/** stdout may be a pipe whose reader went away (`| head -1`): that is the end, not a crash. */
function writeOut(text: string): void {
  if (!process.stdout.destroyed) process.stdout.write(text);
}

async function piped(target: Endpoint, tls: TlsConnectionOptions | undefined): Promise<number> {
  const client = await NameEchoClient.connect(target, { tls });
  process.stdout.on("error", () => void client.destroy());
  let failures = 0;
  let lost: NameEchoError | undefined;
  // Replies are gathered and written once per tick: one write for a
  // thousand replies instead of a thousand writes.
  let out: string[] = [];
  const flush = (): void => {
    const text = out.join("");
    out = [];
    writeOut(text);
  };
  const print = (reply: string): void => {
    if (out.length === 0) setImmediate(flush);
    out.push(`${reply}\n`);
  };
  const onFailure = (error: unknown): void => {
    if (!(error instanceof NameEchoError)) throw error;
    if (error.code === "ERR_LINE_TOO_LONG" || error.code === "ERR_SERVER_ERROR" || error.code === "ERR_INVALID_LINE") {
      failures++;
      process.stderr.write(`name-echo: ${error.message}\n`);
    } else {
      lost ??= error;
    }
  };

  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  let inputDone = false;
  input.once("close", () => (inputDone = true));
  // The server going away while we wait on stdin ends the session now, not at stdin's EOF.
  client.once("close", (error) => {
    if (lost === undefined && !inputDone) {
      lost = error ?? new NameEchoError("ERR_CONNECTION_CLOSED", `${client.remote} closed the connection`);
      input.close();
      process.stdin.destroy();
    }
  });
  client.on("notice", (notice) => {
    const kind = classify(notice);
    if (kind !== undefined && isClosing(kind))
      lost ??= new NameEchoError("ERR_CONNECTION_CLOSED", `${client.remote} closed the connection (${notice})`);
  });
  let last: Promise<void> = Promise.resolve();
  const inFlight: Promise<void>[] = [];
  for await (const line of input) {
    if (lost || client.state !== "open") break;
    const done = client.send(line).then(print, onFailure);
    last = done;
    inFlight.push(done);
    if (inFlight.length >= PIPELINE_WINDOW) await inFlight.splice(0, PIPELINE_WINDOW / 2).at(-1);
  }
  input.close();
  process.stdin.pause();
  await last;
  flush();
  await client.close();
  if (lost) {
    process.stderr.write(`name-echo: ${lost.message}\n`);
    return 1;
  }
  return failures > 0 ? 1 : 0;
}

async function interactive(target: Endpoint, tls: TlsConnectionOptions | undefined): Promise<number> {
  const client = await NameEchoClient.connect(target, { tls });
  const stdout = process.stdout;
  const rl = readline.createInterface({
    input: process.stdin,
    output: stdout,
    prompt: "> ",
    terminal: true,
    historySize: 1000,
    // Esc leaves, so a lone Esc must be known quickly; see protocol/keys.ts.
    escapeCodeTimeout: ESCAPE_TIMEOUT_MS,
  });
  /** Prints a line above the prompt, keeping what the user has typed so far. */
  const show = (text: string): void => {
    readline.cursorTo(stdout, 0);
    readline.clearLine(stdout, 0);
    stdout.write(`${text}\n`);
    rl.prompt(true);
  };
  process.stderr.write(`connected to ${client.remote}; type a line and press Enter (Ctrl-D or Esc to leave)\n`);
  rl.prompt();

  return new Promise<number>((resolve) => {
    let leaving = false;
    let exitCode = 0;
    // Everything the server sends is shown, escaped: its bytes must not drive our terminal.
    client.on("line", (line) => show(escapeClientText(line)));
    client.on("close", (error) => {
      if (!leaving) {
        leaving = true;
        show(error ? `name-echo: ${error.message}` : `the server closed the connection (${client.remote})`);
        exitCode = error ? 1 : 0;
        rl.close();
      }
    });
    const leave = (): void => {
      if (leaving) return;
      leaving = true;
      rl.close();
    };
    rl.on("line", (line) => {
      // Errors (server gone, line too long) are shown by the line/close handlers above.
      client.send(line).catch(() => {});
    });
    rl.on("SIGINT", () => {
      exitCode = 130;
      leave();
    });
    const onKeypress = (_text: string | undefined, key: { name?: string } | undefined): void => {
      if (key?.name === "escape") leave();
    };
    process.stdin.on("keypress", onKeypress);
    // Ctrl-D on an empty line, Esc, Ctrl-C or the server going away.
    rl.on("close", () => {
      process.stdin.off("keypress", onKeypress);
      leaving = true;
      stdout.write("\n");
      const closing = client.state === "closed" ? Promise.resolve() : client.close();
      void closing.then(() => {
        process.stdin.pause();
        resolve(exitCode);
      });
    });
  });
}

/** nc: bytes in, bytes out, until the server closes. Our FIN follows the end of stdin (half-close). */
async function raw(target: Endpoint): Promise<number> {
  // allowHalfOpen: after stdin ends we send FIN but keep reading the answer.
  // No connect timeout of our own, as nc has none: the system's applies.
  const socket = await openConnection(target, { allowHalfOpen: true, timeoutMs: 0 });
  // On stderr, so stdout stays the server's bytes alone; without it a user at a terminal faces a blank screen.
  process.stderr.write(`connected to ${target} (raw TCP): what you type is sent as it is; Ctrl-D ends it\n`);
  return new Promise<number>((resolve, reject) => {
    let failure: unknown;
    process.stdin.pipe(socket);
    socket.on("data", (chunk: Buffer) => {
      if (!process.stdout.write(chunk)) {
        socket.pause();
        process.stdout.once("drain", () => socket.resume());
      }
    });
    socket.on("end", () => {
      // The server has said all it will say: stop reading stdin (an idle
      // terminal would keep us waiting) and finish our side too.
      process.stdin.unpipe(socket);
      process.stdin.pause();
      socket.end();
    });
    socket.on("error", (error) => {
      failure = explainClientError(error, target.toString());
    });
    socket.on("close", () => {
      process.stdin.unpipe(socket);
      process.stdin.pause();
      if (failure === undefined) {
        resolve(0);
      } else if (failure instanceof NameEchoError) {
        reject(failure);
      } else {
        reject(new NameEchoError("ERR_CONNECTION_RESET", `the connection to ${target} failed: ${(failure as Error).message}`));
      }
    });
  });
}

/**
 * `serve --trace`: every connection's traffic in the server's terminal, one
 * line per event, prefixed by the connection's endpoints:
 *
 *     127.0.0.1:51234 -> 127.0.0.1:8888 connected
 *     127.0.0.1:51234 -> 127.0.0.1:8888 < IAC DO ECHO
 *     127.0.0.1:51234 -> 127.0.0.1:8888 > IAC WILL ECHO
 *     127.0.0.1:51234 -> 127.0.0.1:8888 < "Hello\r\n"
 *     127.0.0.1:51234 -> 127.0.0.1:8888 > "Hello Ali\r\n"
 *     127.0.0.1:51234 -> 127.0.0.1:8888 closed
 *
 * The server calls received()/sent() with each chunk (the `trace` server
 * option); the formatting is protocol/wire-trace.ts, the writing a
 * BoundedWriter, so a terminal that cannot keep up loses trace lines (and is
 * told how many), never slows the clients down.
 */
import { WireTrace } from "../protocol/wire-trace.js";
import type { TcpConnection, WireTraceSink } from "../server/connection.js";
import type { NameEchoServer } from "../server/server.js";
import { BoundedWriter } from "./bounded-writer.js";

interface Traced {
  prefix: string;
  fromClient: WireTrace;
  toClient: WireTrace;
}

export interface LineWriter {
  writeLine(line: string): void;
}

export class TerminalTrace implements WireTraceSink {
  private readonly out: LineWriter;
  private readonly connections = new WeakMap<TcpConnection, Traced>();

  /** @param out where lines go; default a BoundedWriter on stderr. */
  constructor(out: LineWriter = new BoundedWriter({ droppedLine: (count) => `trace: ${count} line(s) dropped, the terminal did not keep up` })) {
    this.out = out;
  }

  /** Adds a line when a client connects and when it goes. */
  watch(server: NameEchoServer): void {
    server.on("connection", (connection) => this.out.writeLine(`${this.traced(connection).prefix} connected`));
    server.on("disconnect", (connection, error) => {
      const how = error ? ` (${(error as NodeJS.ErrnoException).code ?? error.message})` : "";
      this.out.writeLine(`${this.traced(connection).prefix} closed${how}`);
      this.connections.delete(connection);
    });
  }

  received(connection: TcpConnection, bytes: Buffer): void {
    const traced = this.traced(connection);
    for (const line of traced.fromClient.push(bytes)) this.out.writeLine(`${traced.prefix} ${line}`);
  }

  sent(connection: TcpConnection, bytes: Buffer): void {
    const traced = this.traced(connection);
    for (const line of traced.toClient.push(bytes)) this.out.writeLine(`${traced.prefix} ${line}`);
  }

  private traced(connection: TcpConnection): Traced {
    let traced = this.connections.get(connection);
    if (traced === undefined) {
      traced = { prefix: String(connection), fromClient: new WireTrace("<"), toClient: new WireTrace(">") };
      this.connections.set(connection, traced);
    }
    return traced;
  }
}

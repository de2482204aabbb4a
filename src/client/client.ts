/**
 * @module client/client
 *
 * NameEchoClient: a connection to a name-echo server that sends lines and
 * gets their replies as promises, many in flight at once.
 *
 * This file is the socket glue: it connects (connect.ts), writes the sends,
 * keeps the reply timeout and the lifecycle, and turns what the server says
 * into resolved and rejected sends. Which line answers which send is decided
 * by the pure ReplyMatcher (reply-matcher.ts, where the rules are written
 * out); lines() is LineIterators (line-iterators.ts). Lines that answer no
 * send (e.g. a notice) reach the 'line' and 'notice' events and the lines()
 * iterators, as does every other incoming line.
 *
 * Lifecycle: connecting → open → closing → closed (docs/lifecycle.md).
 * close() waits for every owed reply, then sends FIN and waits for the
 * server's; destroy() drops the connection and fails what is owed.
 */
import { EventEmitter } from "node:events";
import type * as net from "node:net";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { Endpoint } from "../endpoint.js";
import { explainClientError, NameEchoError } from "../errors.js";
import { isTurnedAway, noticeText } from "../protocol/notices.js";
import { resolveClientOptions, type ResolvedClientOptions } from "./client-options.js";
import { openConnection } from "./open-connection.js";
import { LineIterators } from "./line-iterators.js";
import { type OwedLine, ReplyMatcher } from "./reply-matcher.js";
import { type ClientTarget, resolveTarget } from "./target.js";

export type { ClientTarget } from "./target.js";

export interface NameEchoClientOptions {
  /** Seconds to wait for the connection to be made. Default 10. */
  connectTimeout?: number;
  /**
   * Seconds to wait, with replies owed, for the next line from the server
   * before failing every owed send with ERR_TIMEOUT and dropping the
   * connection; 0 = wait for ever. Default 30.
   */
  replyTimeout?: number;
  /** Longest line accepted from the server, in bytes; a longer one is a protocol error. Default 1 MiB. */
  maxLineLength?: number;
  /**
   * Talk TLS (a server started with --tls-cert/--tls-key): true to verify the
   * server against the system's CAs (and NODE_EXTRA_CA_CERTS), or tls.connect()
   * options such as `{ ca }` for a private CA or a self-signed certificate.
   */
  tls?: boolean | TlsConnectionOptions;
}

export type ClientState = "connecting" | "open" | "closing" | "closed";

export interface NameEchoClientEvents {
  /** Every line from the server, replies and notices alike, without its line end. */
  line: [line: string];
  /** A line the server sent on its own ("error: ..." or "closing: ..."). */
  notice: [notice: string];
  /** The connection is closed; error is set when it did not end cleanly. */
  close: [error: NameEchoError | undefined];
}

/** A send waiting for its reply. */
interface Owed extends OwedLine {
  resolve: (reply: string) => void;
  reject: (error: NameEchoError) => void;
}

export class NameEchoClient extends EventEmitter<NameEchoClientEvents> {
  /** This end of the connection. */
  readonly local: Endpoint;
  /** The server's end. */
  readonly remote: Endpoint;

  private readonly socket: net.Socket;
  private readonly replyTimeoutMs: number;
  private readonly matcher: ReplyMatcher<Owed>;
  private readonly iterators: LineIterators;
  private stateValue: ClientState = "open";
  /** The server's "closing: ..." notice, once it came: why owed sends fail from then on. */
  private closingNotice: string | undefined;
  private failure: NameEchoError | undefined;
  private corked = false;
  private replyTimer: NodeJS.Timeout | null = null;
  private closePromise: Promise<void> | null = null;
  private readonly closed: Promise<void>;

  /**
   * Connects to a name-echo server. `target` is `{ host, port }`, what
   * NameEchoServer.listen() resolved to, a "host:port" string, or a port
   * number (host 127.0.0.1). Fails with ERR_CONNECTION_REFUSED, ERR_TIMEOUT
   * or ERR_ADDRESS_NOT_AVAILABLE (ERR_TLS with `tls`).
   */
  static connect(target: ClientTarget | string | number = {}, clientOptions?: NameEchoClientOptions): Promise<NameEchoClient> {
    let where: Endpoint;
    let options: ResolvedClientOptions;
    try {
      where = resolveTarget(target);
      // Every option is checked now, so a bad one fails before a connection is made.
      options = resolveClientOptions(clientOptions);
    } catch (error) {
      return Promise.reject(error);
    }
    return openConnection(where, { tls: options.tls, timeoutMs: options.connectTimeout * 1000 }).then(
      (socket) => new NameEchoClient(socket, options),
    );
  }

  private constructor(socket: net.Socket, options: ResolvedClientOptions) {
    super();
    this.socket = socket;
    this.replyTimeoutMs = options.replyTimeout * 1000;
    this.local = Endpoint.from(socket.localAddress, socket.localPort, socket.localFamily);
    this.remote = Endpoint.from(socket.remoteAddress, socket.remotePort, socket.remoteFamily);
    const { maxLineLength } = options;
    this.matcher = new ReplyMatcher<Owed>(
      {
        answered: (owed, reply) => {
          this.progressed();
          owed.resolve(reply);
        },
        refused: (owed, kind, notice) => {
          this.progressed();
          const code = kind === "line-too-long" ? "ERR_LINE_TOO_LONG" : "ERR_SERVER_ERROR";
          owed.reject(new NameEchoError(code, `the server answered: ${noticeText(notice)}`));
        },
        ended: (kind, notice, owed) => {
          if (isTurnedAway(kind)) {
            this.failure ??= new NameEchoError("ERR_SERVER_FULL", `${this.remote} turned the connection away: ${noticeText(notice)}`);
          } else {
            // Nothing sent from now on will be answered.
            this.closingNotice = notice;
            if (this.stateValue === "open") this.stateValue = "closing";
          }
          this.fail(owed, this.closedError());
        },
        line: (text, notice) => {
          if (notice) this.emit("notice", text);
          this.emit("line", text);
          this.iterators.push(text);
        },
        lineTooLong: () => {
          this.destroy(
            new NameEchoError(
              "ERR_LINE_TOO_LONG",
              `the server sent a line of more than ${maxLineLength} bytes; is ${this.remote} a name-echo server? (raise maxLineLength if so)`,
            ),
          );
        },
      },
      maxLineLength,
    );
    this.iterators = new LineIterators(socket, () => this.failure);
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.matcher.push(chunk));
    socket.on("end", () => this.receiveEnd());
    socket.on("error", (error) => {
      this.failure ??= explainClientError(error, this.remote.toString()) as NameEchoError;
    });
    socket.on("close", () => this.onClose());
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** Replies owed: lines sent and not yet answered. */
  get pendingCount(): number {
    return this.matcher.owedCount;
  }

  /** The name the server adds, once a reply has shown it. */
  get name(): string | undefined {
    return this.matcher.name;
  }

  /**
   * Sends one line; resolves to the server's reply without its line end
   * ("Hello" → "Hello Ali"). Call it as often as you like without waiting:
   * sends made in the same tick leave in one write, and replies are matched
   * in order. The line must not contain CR or LF (ERR_INVALID_LINE).
   */
  send(line: string): Promise<string> {
    if (typeof line !== "string") {
      return Promise.reject(new NameEchoError("ERR_INVALID_LINE", `send() takes a string, not ${typeof line}`));
    }
    if (/[\r\n]/.test(line)) {
      return Promise.reject(
        new NameEchoError("ERR_INVALID_LINE", "a line must not contain CR or LF (each would end it early); send each line on its own"),
      );
    }
    if (this.stateValue !== "open") return Promise.reject(this.closedError());
    return new Promise<string>((resolve, reject) => {
      this.matcher.owe({ line, resolve, reject });
      if (this.matcher.owedCount === 1) this.armReplyTimer();
      if (!this.corked) {
        // Gather every send of this tick into one write (one segment, one syscall).
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      this.socket.write(`${line}\n`);
    });
  }

  /**
   * Every line the server sends from now on, replies and notices, until the
   * connection closes; throws the connection's error if it failed. A slow
   * consumer pauses reading from the server (and so the replies to send()).
   */
  lines(): AsyncIterableIterator<string> {
    return this.iterators.iterator();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<string> {
    return this.lines();
  }

  /**
   * Graceful close: no more sends; once every owed reply has arrived, send
   * FIN and wait for the server to close its side. Resolves when the
   * connection is closed (owed sends may still fail if the server goes away
   * first). Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    if (this.stateValue === "open") this.stateValue = "closing";
    this.closePromise = this.closed;
    this.endIfDone();
    return this.closePromise;
  }

  /** Drops the connection now; every owed send fails with `error` (default ERR_CONNECTION_CLOSED). */
  destroy(error?: NameEchoError): Promise<void> {
    if (error) this.failure ??= error;
    if (this.stateValue === "open") this.stateValue = "closing";
    this.failOwed(error ?? new NameEchoError("ERR_CONNECTION_CLOSED", "the connection was closed by destroy()"));
    this.socket.destroy();
    return this.closed;
  }

  override toString(): string {
    return `${this.local} -> ${this.remote}`;
  }

  /** The server's FIN: a final line without LF is still a line; nothing more will be answered. */
  private receiveEnd(): void {
    this.matcher.end();
    this.failOwed(this.closedError());
    if (this.stateValue === "open") this.stateValue = "closing";
  }

  private onClose(): void {
    this.stateValue = "closed";
    this.clearReplyTimer();
    this.failOwed(this.failure ?? this.closedError());
    this.iterators.end();
    this.emit("close", this.failure);
  }

  /** A send was answered (or refused): the timeout counts from the last line that came; with nothing owed, a close() may go on. */
  private progressed(): void {
    if (this.matcher.owedCount === 0) {
      this.clearReplyTimer();
      this.endIfDone();
    } else {
      this.replyTimer?.refresh();
    }
  }

  /** Every owed send fails with `error`. */
  private failOwed(error: NameEchoError): void {
    this.fail(this.matcher.takeAllOwed(), error);
  }

  private fail(owed: Owed[], error: NameEchoError): void {
    this.clearReplyTimer();
    for (const entry of owed) entry.reject(error);
  }

  /** close() was called and nothing is owed: our FIN goes out. */
  private endIfDone(): void {
    if (this.stateValue === "closing" && this.closePromise && this.matcher.owedCount === 0 && !this.socket.writableEnded) {
      this.socket.end();
    }
  }

  private closedError(): NameEchoError {
    if (this.failure) return this.failure;
    if (this.closingNotice) {
      return new NameEchoError("ERR_CONNECTION_CLOSED", `${this.remote} closed the connection (${this.closingNotice})`);
    }
    if (this.closePromise) return new NameEchoError("ERR_CONNECTION_CLOSED", "the connection is closing: close() was called");
    return new NameEchoError("ERR_CONNECTION_CLOSED", `${this.remote} closed the connection`);
  }

  private armReplyTimer(): void {
    if (this.replyTimeoutMs === 0) return;
    if (this.replyTimer) {
      this.replyTimer.refresh();
      return;
    }
    this.replyTimer = setTimeout(() => {
      this.replyTimer = null;
      const seconds = this.replyTimeoutMs / 1000;
      this.destroy(
        new NameEchoError(
          "ERR_TIMEOUT",
          `no reply from ${this.remote} for ${seconds} seconds with ${this.pendingCount} owed; the connection was dropped`,
        ),
      );
    }, this.replyTimeoutMs);
  }

  private clearReplyTimer(): void {
    if (this.replyTimer) {
      clearTimeout(this.replyTimer);
      this.replyTimer = null;
    }
  }
}

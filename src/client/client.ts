/**
 * @module client/client
 *
 * NameEchoClient: a connection to a name-echo server that sends lines and
 * gets their replies as promises, many in flight at once.
 *
 * Matching replies to lines. The server answers lines in the order they came,
 * one reply each, so replies are matched to sends first in, first out. The
 * server also sends notices of its own, one line each, starting "error: " or
 * "closing: " (their kinds and classify() are in src/protocol/notices.ts). A notice must never be taken for
 * the reply to a line, and a reply must never be taken for a notice (the
 * line "error: x" gets the reply "error: x Ali"). So an incoming line is,
 * in this order:
 *
 *   1. the reply to the oldest owed line L, when it has the reply's shape:
 *      exactly `L + " " + NAME` once NAME is known (it is learned from the
 *      first reply), `L + " "` followed by anything before that;
 *   2. otherwise a "closing: ..." notice: the server is going away and will
 *      answer nothing more; every owed send fails with ERR_CONNECTION_CLOSED
 *      carrying the server's words;
 *   3. otherwise an "error: ..." notice: a turn-away ("error: server is full",
 *      or out of file descriptors) fails every owed send with
 *      ERR_SERVER_FULL; any other error (a line over the
 *      server's limit) takes the place of the reply to the oldest owed line,
 *      which fails with ERR_LINE_TOO_LONG (or ERR_SERVER_ERROR);
 *   4. otherwise, the reply to the oldest owed line anyway: replies are in
 *      order, and the server may have edited the line (a telnet-aware server
 *      applies Backspace and Ctrl-C in it) so the shape check can fail.
 *
 * Lines that arrive with nothing owed (e.g. a notice) are not replies; they
 * reach the 'line' and 'notice' events and the lines() iterators, as does
 * every other incoming line.
 *
 * Lifecycle: connecting → open → closing → closed (docs/lifecycle.md).
 * close() waits for every owed reply, then sends FIN and waits for the
 * server's; destroy() drops the connection and fails what is owed.
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { Endpoint } from "../endpoint.js";
import { explainClientError, NameEchoError, type NameEchoErrorCode } from "../errors.js";
import { openSocket } from "../transport.js";
import { classify, isClosing, isTurnedAway, type NoticeKind, noticeText } from "../protocol/notices.js";
import { DEFAULTS, validateHost, validateInteger, validatePort, validateSeconds } from "../options.js";

/** Where to connect: what NameEchoServer.listen() resolves to fits as it is. */
export interface ClientTarget {
  host?: string;
  /** The same as host; accepted so a server's listening address can be passed straight in. */
  address?: string;
  port?: number;
}

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

const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;
/** Long enough for any healthy server under load; short enough that a wedged one is noticed. */
const DEFAULT_REPLY_TIMEOUT_SECONDS = 30;
/** Replies are a line plus a name; the server's own limit is 8 KiB by default, so 1 MiB leaves room for any setting. */
const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;
/** Lines an iterator may hold unread before reading from the socket pauses (backpressure). */
const ITERATOR_HIGH_WATER = 1024;

const LF = 0x0a;
const CR = 0x0d;

interface Owed {
  line: string;
  resolve: (reply: string) => void;
  reject: (error: NameEchoError) => void;
}

/** One consumer of lines(): its unread lines and the promise it is waiting on. */
interface LineQueue {
  lines: string[];
  wake: (() => void) | null;
}

export class NameEchoClient extends EventEmitter<NameEchoClientEvents> {
  /** This end of the connection. */
  readonly local: Endpoint;
  /** The server's end. */
  readonly remote: Endpoint;

  private readonly socket: net.Socket;
  private readonly replyTimeoutMs: number;
  private readonly maxLineLength: number;
  private stateValue: ClientState = "open";
  /** Owed replies, oldest first; `head` saves shifting a long array for every reply. */
  private owed: Owed[] = [];
  private head = 0;
  /** The start of a line whose LF has not arrived yet. */
  private partial: Buffer[] = [];
  private partialLength = 0;
  private learnedName: string | undefined;
  /** The server's "closing: ..." notice, once it came: why owed sends fail from then on. */
  private closingNotice: string | undefined;
  private failure: NameEchoError | undefined;
  private corked = false;
  private replyTimer: NodeJS.Timeout | null = null;
  private readonly queues = new Set<LineQueue>();
  private pausedForIterators = false;
  private closePromise: Promise<void> | null = null;
  private readonly closed: Promise<void>;

  /**
   * Connects to a name-echo server. `target` is `{ host, port }`, what
   * NameEchoServer.listen() resolved to, a "host:port" string, or a port
   * number (host 127.0.0.1). Fails with ERR_CONNECTION_REFUSED, ERR_TIMEOUT
   * or ERR_ADDRESS_NOT_AVAILABLE.
   */
  static connect(target: ClientTarget | string | number = {}, options: NameEchoClientOptions = {}): Promise<NameEchoClient> {
    let host: string;
    let port: number;
    let connectTimeout: number;
    try {
      ({ host, port } = resolveTarget(target));
      connectTimeout = validateSeconds(options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_SECONDS, "connectTimeout", 0.001, 2_000_000);
      // Validate the rest now, so a bad option fails before a connection is made.
      validateSeconds(options.replyTimeout ?? DEFAULT_REPLY_TIMEOUT_SECONDS, "replyTimeout", 0, 2_000_000);
      validateInteger(options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH, "maxLineLength", 1, 1 << 30);
    } catch (error) {
      return Promise.reject(error);
    }
    if (options.tls !== undefined && options.tls !== false) {
      // The TLS handshake, its timeout and its errors live in one place, shared with the CLI.
      return openSocket(host, port, { tls: options.tls, timeoutMs: connectTimeout * 1000 }).then((socket) => {
        socket.setNoDelay(true);
        return new NameEchoClient(socket, options);
      });
    }
    const where = new Endpoint(host, port).toString();
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      const fail = (error: unknown): void => {
        socket.destroy();
        reject(explainClientError(error, where));
      };
      const onTimeout = (): void =>
        fail(
          new NameEchoError("ERR_TIMEOUT", `cannot connect to ${where}: no answer in ${connectTimeout} seconds; check the host, port and any firewall`),
        );
      socket.setTimeout(connectTimeout * 1000, onTimeout);
      socket.once("error", fail);
      socket.once("connect", () => {
        socket.off("error", fail);
        socket.setTimeout(0);
        socket.off("timeout", onTimeout);
        resolve(new NameEchoClient(socket, options));
      });
    });
  }

  private constructor(socket: net.Socket, options: NameEchoClientOptions) {
    super();
    this.socket = socket;
    this.replyTimeoutMs = (options.replyTimeout ?? DEFAULT_REPLY_TIMEOUT_SECONDS) * 1000;
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.local = Endpoint.from(socket.localAddress, socket.localPort, socket.localFamily);
    this.remote = Endpoint.from(socket.remoteAddress, socket.remotePort, socket.remoteFamily);
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
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
    return this.owed.length - this.head;
  }

  /** The name the server adds, once a reply has shown it. */
  get name(): string | undefined {
    return this.learnedName;
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
      this.owed.push({ line, resolve, reject });
      if (this.pendingCount === 1) this.armReplyTimer();
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
    const queue: LineQueue = { lines: [], wake: null };
    if (this.stateValue !== "closed") this.queues.add(queue);
    const self = this;
    const finish = (): IteratorResult<string> => {
      this.queues.delete(queue);
      this.updateIteratorBackpressure();
      return { done: true, value: undefined };
    };
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next(): Promise<IteratorResult<string>> {
        for (;;) {
          const line = queue.lines.shift();
          if (line !== undefined) {
            self.updateIteratorBackpressure();
            return { done: false, value: line };
          }
          if (!self.queues.has(queue)) {
            if (self.failure && self.stateValue === "closed") throw self.failure;
            return finish();
          }
          await new Promise<void>((resolve) => {
            queue.wake = resolve;
          });
          queue.wake = null;
        }
      },
      async return(): Promise<IteratorResult<string>> {
        queue.lines.length = 0;
        return finish();
      },
    };
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
    this.rejectOwed(error ?? new NameEchoError("ERR_CONNECTION_CLOSED", "the connection was closed by destroy()"));
    this.socket.destroy();
    return this.closed;
  }

  override toString(): string {
    return `${this.local} -> ${this.remote}`;
  }

  private receive(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) break;
      let line: Buffer;
      if (this.partialLength === 0) {
        line = chunk.subarray(start, lf);
      } else {
        this.partial.push(chunk.subarray(start, lf));
        line = Buffer.concat(this.partial);
        this.partial = [];
        this.partialLength = 0;
      }
      start = lf + 1;
      if (line.length > this.maxLineLength) {
        this.protocolError(line.length);
        return;
      }
      // The server ends lines with CR LF; a bare LF is accepted too.
      const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
      this.handleLine(line.toString("utf8", 0, end));
      if (this.stateValue === "closed") return;
    }
    if (start < chunk.length) {
      // Copied: a view would keep the whole chunk alive.
      this.partial.push(Buffer.from(chunk.subarray(start)));
      this.partialLength += chunk.length - start;
      if (this.partialLength > this.maxLineLength) this.protocolError(this.partialLength);
    }
  }

  private protocolError(length: number): void {
    this.destroy(
      new NameEchoError(
        "ERR_LINE_TOO_LONG",
        `the server sent a line of more than ${this.maxLineLength} bytes (${length}); is ${this.remote} a name-echo server? (raise maxLineLength if so)`,
      ),
    );
  }

  /** The server's FIN: a final line without LF is still a line; nothing more will be answered. */
  private receiveEnd(): void {
    if (this.partialLength > 0) {
      const line = Buffer.concat(this.partial);
      this.partial = [];
      this.partialLength = 0;
      const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
      this.handleLine(line.toString("utf8", 0, end));
    }
    this.rejectOwed(this.closedError());
    if (this.stateValue === "open") this.stateValue = "closing";
  }

  private onClose(): void {
    this.stateValue = "closed";
    this.clearReplyTimer();
    this.rejectOwed(this.failure ?? this.closedError());
    for (const queue of this.queues) {
      this.queues.delete(queue);
      queue.wake?.();
    }
    this.emit("close", this.failure);
  }

  private handleLine(text: string): void {
    const oldest = this.head < this.owed.length ? this.owed[this.head]! : undefined;
    const notice = classify(text);
    let isReply = false;
    if (oldest !== undefined && this.isReplyTo(oldest.line, text, notice)) {
      isReply = true;
      this.answer(oldest, text);
    } else if (notice !== undefined && isClosing(notice)) {
      // Nothing sent from now on will be answered.
      this.closingNotice = text;
      if (this.stateValue === "open") this.stateValue = "closing";
      this.rejectOwed(this.closedError());
    } else if (notice !== undefined) {
      if (isTurnedAway(notice)) {
        this.failure ??= new NameEchoError("ERR_SERVER_FULL", `${this.remote} turned the connection away: ${noticeText(text)}`);
        this.rejectOwed(this.failure);
      } else if (oldest !== undefined) {
        // The notice stands in for the reply to the oldest owed line.
        this.takeOldest();
        const code: NameEchoErrorCode = notice === "line-too-long" ? "ERR_LINE_TOO_LONG" : "ERR_SERVER_ERROR";
        oldest.reject(new NameEchoError(code, `the server answered: ${noticeText(text)}`));
      }
    } else if (oldest !== undefined) {
      isReply = true;
      this.answer(oldest, text);
    }
    if (!isReply && notice !== undefined) this.emit("notice", text);
    this.emit("line", text);
    for (const queue of this.queues) {
      queue.lines.push(text);
      queue.wake?.();
    }
    if (this.queues.size > 0) this.updateIteratorBackpressure();
  }

  private isReplyTo(line: string, text: string, notice: NoticeKind | undefined): boolean {
    if (this.learnedName !== undefined) {
      return text === (line === "" ? this.learnedName : `${line} ${this.learnedName}`);
    }
    return line === "" ? notice === undefined : text.startsWith(`${line} `);
  }

  private answer(owed: Owed, text: string): void {
    this.takeOldest();
    if (this.learnedName === undefined && (owed.line === "" || text.startsWith(`${owed.line} `))) {
      this.learnedName = owed.line === "" ? text : text.slice(owed.line.length + 1);
    }
    owed.resolve(text);
  }

  private takeOldest(): void {
    this.head++;
    if (this.head === this.owed.length) {
      this.owed = [];
      this.head = 0;
      this.clearReplyTimer();
      this.endIfDone();
    } else {
      if (this.head >= 1024 && this.head * 2 >= this.owed.length) {
        this.owed = this.owed.slice(this.head);
        this.head = 0;
      }
      // Progress: the timeout counts from the last line that came.
      this.replyTimer?.refresh();
    }
  }

  private rejectOwed(error: NameEchoError): void {
    const owed = this.owed.slice(this.head);
    this.owed = [];
    this.head = 0;
    this.clearReplyTimer();
    for (const entry of owed) entry.reject(error);
  }

  /** close() was called and nothing is owed: our FIN goes out. */
  private endIfDone(): void {
    if (this.stateValue === "closing" && this.closePromise && this.pendingCount === 0 && !this.socket.writableEnded) {
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
        new NameEchoError("ERR_TIMEOUT", `no reply from ${this.remote} for ${seconds} seconds with ${this.pendingCount} owed; the connection was dropped`),
      );
    }, this.replyTimeoutMs);
  }

  private clearReplyTimer(): void {
    if (this.replyTimer) {
      clearTimeout(this.replyTimer);
      this.replyTimer = null;
    }
  }

  /** Pause reading while some lines() consumer lags far behind; resume once all have caught up. */
  private updateIteratorBackpressure(): void {
    let deepest = 0;
    for (const queue of this.queues) deepest = Math.max(deepest, queue.lines.length);
    if (!this.pausedForIterators && deepest >= ITERATOR_HIGH_WATER) {
      this.pausedForIterators = true;
      this.socket.pause();
    } else if (this.pausedForIterators && deepest < ITERATOR_HIGH_WATER / 4) {
      this.pausedForIterators = false;
      this.socket.resume();
    }
  }
}

/** `{ host, port }`, `{ address, port }`, "host:port", "[::1]:port", "host" or a port number → host and port. */
export function resolveTarget(target: ClientTarget | string | number): { host: string; port: number } {
  if (typeof target === "number") return { host: DEFAULTS.host, port: validatePort(target) };
  if (typeof target === "string") {
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
    if (bracketed) return { host: validateHost(bracketed[1]), port: validatePort(bracketed[2] ?? DEFAULTS.port) };
    const colons = target.split(":").length - 1;
    if (colons === 1) {
      const at = target.lastIndexOf(":");
      return { host: validateHost(target.slice(0, at)), port: validatePort(target.slice(at + 1)) };
    }
    return { host: validateHost(target), port: DEFAULTS.port };
  }
  if (target === null || typeof target !== "object") {
    throw new NameEchoError("ERR_INVALID_OPTION", "connect() takes { host, port }, \"host:port\" or a port number");
  }
  const host = validateHost(target.host ?? target.address ?? DEFAULTS.host);
  return { host, port: validatePort(target.port ?? DEFAULTS.port) };
}

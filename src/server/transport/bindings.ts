/**
 * The one module that knows Node's internal stream bindings: the libuv TCP
 * handle (`tcp_wrap`) and the write and shutdown requests with the shared
 * state array they report through (`stream_wrap`). They are the same objects
 * node:net is built on, and what Node's own benchmark/net/tcp-raw-*.js use.
 *
 * Why use them at all: a net.Socket costs, per connection, a Readable and a
 * Writable state machine (~1 KiB of objects) and ~40 µs of JavaScript per
 * accept, and per read a fresh 64 KiB buffer and a process.nextTick. The
 * handle underneath does the same I/O for a fraction of that.
 *
 * Why it is safe: they are internal, so nothing promises they stay. Every
 * shape the handle transport relies on is checked here, once, at start-up
 * (detectHandleBindings); if one is missing or different, the server serves
 * with the stream transport (net.Socket) instead and says why. Nothing
 * outside this module touches process.binding or a handle's methods by name
 * without going through the types declared here.
 */
import * as net from "node:net";
import { getSystemErrorMap, getSystemErrorName } from "node:util";

/** An accepted TCP connection as libuv gives it: a TCPWrap, the handle inside a net.Socket. */
export interface TcpHandle {
  /** Called by the handle with `this` = the handle; the byte count or error is in streamBaseState. */
  onread: ((this: TcpHandle, arrayBuffer: ArrayBuffer | undefined) => unknown) | null;
  /** Bytes accepted by writeBuffer() that the kernel has not taken yet. */
  readonly writeQueueSize: number;
  readStart(): number;
  readStop(): number;
  /** Reads land in this buffer (at offset 0) instead of a fresh one per read. */
  useUserBuffer(buffer: Uint8Array): void;
  /** 0 or a negative errno. If streamBaseState[kLastWriteWasAsync] is set afterwards, `req` is in flight. */
  writeBuffer(req: WriteRequest, data: Uint8Array): number;
  /** Sends FIN once every queued write is out; 0 or a negative errno. */
  shutdown(req: ShutdownRequest): number;
  close(callback?: () => void): void;
  getsockname(out: SocketAddress): number;
  getpeername(out: SocketAddress): number;
  setNoDelay(enable: boolean): number;
}

/** What getsockname()/getpeername() fill in. */
export interface SocketAddress {
  address?: string;
  port?: number;
  family?: string;
}

/** Completion of a write or shutdown: libuv's status (0 or a negative errno), and the handle it was for. */
export type RequestCompletion = (this: WriteRequest | ShutdownRequest, status: number, handle: TcpHandle) => void;

export interface WriteRequest {
  oncomplete: RequestCompletion;
  /** The bytes of an asynchronous write: the request keeps them alive until it completes. */
  buffer: Uint8Array | null;
  /** The memory `buffer` keeps alive (its allocation, which may be bigger than it), for the client memory budget. */
  heldBytes?: number;
}

export interface ShutdownRequest {
  oncomplete: RequestCompletion;
}

/** A listening net.Server's handle, whose onconnection libuv calls with each accepted handle. */
export interface ListeningHandle {
  onconnection: (this: ListeningHandle, status: number, handle: TcpHandle | undefined) => void;
}

export interface HandleBindings {
  newWriteRequest(): WriteRequest;
  newShutdownRequest(): ShutdownRequest;
  /** After onread: the byte count (> 0), 0, or a negative errno (UV_EOF at the peer's FIN). */
  readResult(): number;
  /** After writeBuffer(): whether the request is in flight (the kernel did not take every byte at once). */
  lastWriteWasAsync(): boolean;
  /** libuv's end-of-stream code. */
  readonly EOF: number;
  /**
   * The listening handle of `server` (listening), ready for its onconnection
   * to be replaced, or a reason why it cannot be.
   */
  listeningHandle(server: net.Server): ListeningHandle | string;
}

export type HandleDetection = { bindings: HandleBindings } | { unavailable: string };

/** The methods an accepted handle must have, all of them used by the handle transport. */
const HANDLE_METHODS = [
  "readStart",
  "readStop",
  "useUserBuffer",
  "writeBuffer",
  "shutdown",
  "close",
  "getsockname",
  "getpeername",
  "setNoDelay",
] as const;

let detected: HandleDetection | undefined;

/** Checks, once per process, that every binding the handle transport needs is there and has the expected shape. */
export function detectHandleBindings(): HandleDetection {
  return (detected ??= detect());
}

type Binding = Record<string, unknown>;

function detect(): HandleDetection {
  const processBinding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  if (typeof processBinding !== "function") return { unavailable: "this Node has no process.binding()" };
  let tcpWrap: Binding;
  let streamWrap: Binding;
  try {
    tcpWrap = processBinding.call(process, "tcp_wrap") as Binding;
    streamWrap = processBinding.call(process, "stream_wrap") as Binding;
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === "ERR_ACCESS_DENIED") return { unavailable: "the permission model (--permission) does not allow process.binding()" };
    // E.g. a Node that has dropped these bindings from process.binding's list.
    return { unavailable: `process.binding('tcp_wrap'/'stream_wrap') failed: ${code ?? message}` };
  }
  const TCP = tcpWrap?.TCP;
  if (typeof TCP !== "function") return { unavailable: "tcp_wrap has no TCP handle class" };
  for (const method of HANDLE_METHODS) {
    if (typeof (TCP.prototype as Record<string, unknown>)[method] !== "function") {
      return { unavailable: `the TCP handle has no ${method}()` };
    }
  }
  if (!("writeQueueSize" in TCP.prototype) || !("onread" in TCP.prototype)) {
    return { unavailable: "the TCP handle has no writeQueueSize or onread" };
  }
  const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kLastWriteWasAsync } = streamWrap ?? {};
  if (typeof WriteWrap !== "function" || typeof ShutdownWrap !== "function") {
    return { unavailable: "stream_wrap has no WriteWrap or ShutdownWrap" };
  }
  if (!(streamBaseState instanceof Int32Array)) return { unavailable: "stream_wrap has no streamBaseState array" };
  if (!isIndexInto(kReadBytesOrError, streamBaseState) || !isIndexInto(kLastWriteWasAsync, streamBaseState)) {
    return { unavailable: "stream_wrap has no kReadBytesOrError or kLastWriteWasAsync index" };
  }
  const EOF = errnoOf("EOF");
  if (EOF === undefined) return { unavailable: "libuv's UV_EOF is not known" };

  const state = streamBaseState;
  const readIndex = kReadBytesOrError;
  const asyncIndex = kLastWriteWasAsync;
  const Write = WriteWrap as new () => WriteRequest;
  const Shutdown = ShutdownWrap as new () => ShutdownRequest;
  return {
    bindings: {
      newWriteRequest: () => new Write(),
      newShutdownRequest: () => new Shutdown(),
      readResult: () => state[readIndex]!,
      lastWriteWasAsync: () => state[asyncIndex] !== 0,
      EOF,
      listeningHandle: (server) => {
        const handle = (server as unknown as { _handle?: Record<string, unknown> | null })._handle;
        if (handle === null || handle === undefined) return "the net.Server has no listening handle";
        // A TCP handle, or in a cluster worker the primary's stand-in: both are called back through onconnection.
        if (typeof handle.onconnection !== "function") return "the listening handle has no onconnection";
        return handle as unknown as ListeningHandle;
      },
    },
  };
}

function isIndexInto(index: unknown, array: Int32Array): index is number {
  return typeof index === "number" && Number.isInteger(index) && index >= 0 && index < array.length;
}

/** libuv's (negative) error number for a code such as "EOF", from the table node:util exposes. */
function errnoOf(code: string): number | undefined {
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  return undefined;
}

/** The Error node:net would report for a failed call (`read ECONNRESET`), with code, errno and syscall. */
export function systemError(errno: number, syscall: string): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(errno);
  } catch {
    code = `E${-errno}`;
  }
  const error: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  return error;
}

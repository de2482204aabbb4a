/**
 * @module terminal/watch-keys
 *
 * The I/O half of key decoding: puts a terminal in raw mode, feeds what it
 * reads to a KeyDecoder, and owns the escape timer the pure decoder leaves
 * to its caller. Restoring the terminal is the one thing that must happen on
 * every way out, so stop() is idempotent and a process 'exit' hook backs it up
 * (an uncaught exception must not leave the operator's shell without echo).
 */
import { ESCAPE_TIMEOUT_MS, KeyDecoder, type Key } from "../protocol/keys.js";

/** The part of a tty.ReadStream used here, so tests can pass a fake. */
export interface KeyInput {
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  off(event: "data", listener: (chunk: Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
  setRawMode?(mode: boolean): unknown;
  isRaw?: boolean;
}

export interface WatchKeysOptions {
  /** How long a trailing ESC waits for the rest of a sequence. Default ESCAPE_TIMEOUT_MS. */
  escapeTimeoutMs?: number;
}

/** Stops watching and restores the terminal mode; safe to call more than once. */
export type StopWatching = () => void;

export function watchKeys(input: KeyInput, onKey: (key: Key) => void, options: WatchKeysOptions = {}): StopWatching {
  const escapeTimeoutMs = options.escapeTimeoutMs ?? ESCAPE_TIMEOUT_MS;
  const decoder = new KeyDecoder();
  const wasRaw = input.isRaw === true;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const deliver = (keys: Key[]): void => {
    for (const key of keys) {
      if (stopped) return;
      onKey(key);
    }
  };
  const onTimeout = (): void => {
    timer = null;
    deliver(decoder.flush());
  };
  const onData = (chunk: Buffer): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    deliver(decoder.push(chunk));
    if (!stopped && decoder.pending) timer = setTimeout(onTimeout, escapeTimeoutMs);
  };
  const stop: StopWatching = () => {
    if (stopped) return;
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    input.off("data", onData);
    input.pause(); // let the process exit: a flowing stdin keeps the event loop alive
    input.setRawMode?.(wasRaw);
    process.off("exit", stop);
  };

  // Raw mode: keys arrive one by one, unechoed, and Ctrl-C arrives as the
  // byte 0x03 instead of SIGINT; the caller maps it to the SIGINT path.
  input.setRawMode?.(true);
  process.on("exit", stop);
  input.on("data", onData);
  input.resume();
  return stop;
}

/**
 * How `name-echo serve` is told to stop, the same in one process and in the
 * primary of --workers: Esc, Ctrl-C and SIGTERM all ask for a graceful stop,
 * and asking again drops the remaining clients at once.
 */
import { isCtrlC, isEscape } from "../protocol/keys.js";
import { watchKeys, type StopWatching } from "../terminal/watch-keys.js";

/** A request to stop; `why` is what asked ("Ctrl-C", "SIGTERM", "Esc"), for the log. */
export type Stop = (why: string) => void;

export interface TwoStageStop {
  stop: Stop;
  /** Whether a stop was asked for. */
  readonly stopping: boolean;
}

/** The first stop() calls `graceful`; every later one calls `dropEveryone`. */
export function twoStageStop(graceful: Stop, dropEveryone: Stop): TwoStageStop {
  let stopping = false;
  return {
    stop(why) {
      if (stopping) {
        dropEveryone(why);
        return;
      }
      stopping = true;
      graceful(why);
    },
    get stopping() {
      return stopping;
    },
  };
}

/**
 * SIGINT (Ctrl-C) and SIGTERM call `stop` instead of ending the process at
 * once; returns what gives them back their default.
 */
export function onStopSignals(stop: Stop): () => void {
  const onSigint = (): void => stop("Ctrl-C");
  const onSigterm = (): void => stop("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
  return () => {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
  };
}

/** Esc and Ctrl-C at the server's terminal: the same stop as SIGINT and SIGTERM. */
export function watchStopKeys(stop: Stop): StopWatching {
  return watchKeys(process.stdin, (key) => {
    if (isEscape(key)) stop("Esc");
    // Raw mode turns Ctrl-C into a byte; it means what SIGINT means.
    else if (isCtrlC(key)) stop("Ctrl-C");
    // Anything else (arrows, F-keys, Alt-x, text) is not a request to stop.
  });
}

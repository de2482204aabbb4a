/**
 * Hands freed client buffers back sooner than V8 would. A client's output
 * buffers are ArrayBuffers whose memory only returns when V8 collects them,
 * and V8 collects when JavaScript allocates: after clients that held
 * megabytes are closed (the memory budget's evictions, the linger), a server
 * that is not allocating much keeps that memory as garbage, in its RSS, for
 * as long as the lull lasts. So the client memory budget asks for one
 * collection when a good part of what it counted has been let go, at most
 * once a second.
 *
 * V8 has no API for this; the `gc` function --expose-gc installs is taken
 * from a fresh vm context (the flag set at run time exposes it only to
 * contexts made after), so nothing is added to the program's own global.
 * Where even that is not allowed, this is a no-op and the collection is V8's
 * own, later.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Collect = (options?: { type?: "major" | "minor"; execution?: "sync" | "async" }) => void;

let collect: Collect | null | undefined;

function collector(): Collect | null {
  if (collect !== undefined) return collect;
  try {
    const exposed = (globalThis as { gc?: Collect }).gc;
    if (typeof exposed === "function") {
      collect = exposed;
    } else {
      setFlagsFromString("--expose-gc");
      const found = runInNewContext("typeof gc === 'function' ? gc : null") as Collect | null;
      // Back as it was, for any context made after this one.
      setFlagsFromString("--no-expose-gc");
      collect = found;
    }
  } catch {
    collect = null;
  }
  return collect;
}

/** The shortest time between two collections asked for: each costs the event loop some milliseconds. */
export const MIN_COLLECT_INTERVAL_MS = 1000;

/**
 * Asks for collections, at most one a MIN_COLLECT_INTERVAL_MS. Never at
 * once: a client dropped now still has its writes queued in libuv, which
 * lets go of their buffers only when it closes the handle, at the end of
 * this turn of the event loop; the collection runs on a timer, after that.
 */
export class GarbageCollections {
  private lastAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;

  request(): void {
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastAt + MIN_COLLECT_INTERVAL_MS - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, wait);
    // Never what keeps a stopping process alive.
    this.timer.unref();
  }

  private run(): void {
    this.lastAt = performance.now();
    collector()?.({ type: "major" });
  }
}

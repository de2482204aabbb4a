/**
 * Flood control for the operator's log: the first warning of a kind is logged
 * at once; repeats of the same kind within the next window are only counted
 * and come out as one summary line when the window ends ("… repeated 532
 * times in the last 10 s"). A server out of file descriptors, or one turning
 * away a connection storm, would otherwise write thousands of identical lines
 * a second and bury the one line that matters (Redis and HAProxy rate-limit
 * the same way).
 *
 * It knows nothing about the logger: give it any `(message) => void`, so it
 * survives a change of logging library.
 */

export interface WarningThrottleOptions {
  /** How long repeats are gathered before one summary line. Default 10 s. */
  windowMs?: number;
}

interface Window {
  timer: NodeJS.Timeout;
  repeats: number;
  latest: string;
}

export class WarningThrottle {
  readonly windowMs: number;
  private readonly emit: (message: string) => void;
  private readonly windows = new Map<string, Window>();

  constructor(emit: (message: string) => void, options: WarningThrottleOptions = {}) {
    this.emit = emit;
    this.windowMs = options.windowMs ?? 10_000;
  }

  /**
   * Logs `message` now unless a warning with the same `key` was logged in the
   * current window; then it is counted and summarised when the window ends.
   * The key names the kind ("accept failed: EMFILE"); the message may carry
   * details that differ from one repeat to the next (the client's address).
   */
  warn(key: string, message: string): void {
    const open = this.windows.get(key);
    if (open) {
      open.repeats++;
      open.latest = message;
      return;
    }
    this.emit(message);
    this.openWindow(key, message);
  }

  /** Writes the pending summaries now and forgets every window (e.g. at shutdown). */
  flush(): void {
    for (const [key, window] of this.windows) {
      clearTimeout(window.timer);
      this.summarise(key, window);
    }
    this.windows.clear();
  }

  private openWindow(key: string, latest: string): void {
    const timer = setTimeout(() => this.endWindow(key), this.windowMs);
    // A pending summary must never keep a stopping process alive.
    timer.unref();
    this.windows.set(key, { timer, repeats: 0, latest });
  }

  private endWindow(key: string): void {
    const window = this.windows.get(key);
    if (!window) return;
    this.windows.delete(key);
    if (window.repeats > 0) {
      this.summarise(key, window);
      // Still flooding: keep gathering, so a steady flood costs one line per window.
      this.openWindow(key, window.latest);
    }
  }

  private summarise(key: string, window: Window): void {
    if (window.repeats === 0) return;
    const seconds = Math.round(this.windowMs / 100) / 10;
    const times = window.repeats === 1 ? "once more" : `${window.repeats} times`;
    this.emit(`${key}: repeated ${times} in the last ${seconds} s (latest: ${window.latest})`);
  }
}

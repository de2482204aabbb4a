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
 *
 * ConnectionLogThrottle, below, does the same for the lines written per
 * connection, so that clients cannot decide how much is logged.
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

/** Where a throttle's lines go: the message and, for the first of a kind, its structured fields. */
export type Emit = (message: string, fields?: Record<string, unknown>) => void;

export class WarningThrottle {
  readonly windowMs: number;
  private readonly emit: Emit;
  private readonly windows = new Map<string, Window>();

  constructor(emit: Emit, options: WarningThrottleOptions = {}) {
    this.emit = emit;
    this.windowMs = options.windowMs ?? 10_000;
  }

  /**
   * Logs `message` now unless a warning with the same `key` was logged in the
   * current window; then it is counted and summarised when the window ends.
   * The key names the kind ("accept failed: EMFILE"); the message may carry
   * details that differ from one repeat to the next (the client's address).
   */
  warn(key: string, message: string, fields?: Record<string, unknown>): void {
    const open = this.windows.get(key);
    if (open) {
      open.repeats++;
      open.latest = message;
      return;
    }
    if (fields) this.emit(message, fields);
    else this.emit(message);
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

export interface ConnectionLogThrottleOptions {
  /** Connections a second logged one by one; past it they are counted. 0: every one. Default 100. */
  perSecond?: number;
  /** How long unlogged connections are counted before one summary line. Default 10 s. */
  windowMs?: number;
}

/** The counts in a summary line, also given as structured fields. */
export interface ConnectionCounts {
  connects: number;
  disconnects: number;
}

/**
 * Flood control for the connect and disconnect lines. Up to `perSecond`
 * connections a second are logged one by one (their connect line now, their
 * disconnect line when they go); the connections past that are only counted,
 * and while that lasts one line per window says how many:
 * "4,210 connects and 4,205 disconnects in the last 10 s not logged one by
 * one". A connection storm (41,562 connects in 8 s, say) then costs a few
 * lines instead of 83,000, and the rest of the log stays readable.
 *
 * The choice is made once per connection, at connect, so every connection
 * logged opening is also logged closing.
 */
export class ConnectionLogThrottle {
  readonly perSecond: number;
  readonly windowMs: number;
  private readonly emit: (message: string, counts: ConnectionCounts) => void;
  private secondStartedAt = -Infinity;
  private loggedThisSecond = 0;
  private connects = 0;
  private disconnects = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(emit: (message: string, counts: ConnectionCounts) => void, options: ConnectionLogThrottleOptions = {}) {
    this.emit = emit;
    this.perSecond = options.perSecond ?? 100;
    this.windowMs = options.windowMs ?? 10_000;
  }

  /** At connect: true if this connection is logged one by one (connect now, disconnect later); false if it is only counted. */
  admitConnect(now = Date.now()): boolean {
    if (this.perSecond === 0) return true;
    if (now - this.secondStartedAt >= 1000) {
      this.secondStartedAt = now;
      this.loggedThisSecond = 0;
    }
    if (this.loggedThisSecond < this.perSecond) {
      this.loggedThisSecond++;
      return true;
    }
    this.connects++;
    this.openWindow();
    return false;
  }

  /** At the disconnect of a connection that admitConnect() did not admit. */
  countDisconnect(): void {
    this.disconnects++;
    this.openWindow();
  }

  /** Writes the pending summary now and closes the window (e.g. at shutdown). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.summarise();
  }

  private openWindow(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Still flooding: the next window starts now, so a steady flood costs one line per window.
      if (this.summarise()) this.openWindow();
    }, this.windowMs);
    // A pending summary must never keep a stopping process alive.
    this.timer.unref();
  }

  /** Emits the summary if anything was counted; says whether it did. */
  private summarise(): boolean {
    const { connects, disconnects } = this;
    if (connects === 0 && disconnects === 0) return false;
    this.connects = 0;
    this.disconnects = 0;
    const seconds = Math.round(this.windowMs / 100) / 10;
    this.emit(
      `${plural(connects, "connect")} and ${plural(disconnects, "disconnect")} in the last ${seconds} s not logged one by one (more than ${this.perSecond} a second)`,
      { connects, disconnects },
    );
    return true;
  }
}

function plural(count: number, noun: string): string {
  return `${count.toLocaleString("en-US")} ${noun}${count === 1 ? "" : "s"}`;
}

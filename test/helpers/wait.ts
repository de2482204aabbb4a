/**
 * The one way tests wait for something: a condition, checked at once and
 * again each time what it looks at may have changed, with a deadline and a
 * failure message that says what was awaited and what was seen.
 */

/**
 * What a helper signals when the thing it watches moves on (bytes arrived, a
 * log line, a process exit): every wait on it checks its condition again.
 */
export class Changes {
  private readonly waiters = new Set<() => void>();

  /** Something may have changed: every pending wait checks again. */
  changed(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Calls `waiter` on every change until the returned function is called. */
  subscribe(waiter: () => void): () => void {
    this.waiters.add(waiter);
    return () => this.waiters.delete(waiter);
  }
}

export interface WaitOptions {
  /** Give up after this long (default 5 s). */
  timeoutMs?: number;
  /**
   * When to check again. Without it the condition is polled (every
   * `intervalMs`): for state that has no event of its own (server-side
   * counters, /proc, an HTTP answer, another process).
   */
  changes?: Changes;
  /** How often to poll without `changes` (default 10 ms). */
  intervalMs?: number;
  /** What was seen, for the failure message. */
  seen?: () => string;
  /** An error that ends the wait at once (the process exited, the connection ended), or undefined. */
  failIf?: () => Error | undefined;
}

type Maybe<T> = T | undefined | null | false;

/**
 * Resolves with the first truthy value `check` returns (a check may be
 * async: an HTTP request, a look at another program); rejects after
 * `timeoutMs`, or as soon as `failIf` returns an error. The deadline is
 * unref'd: a wait that lost a Promise.race does not keep the test alive.
 */
export function waitFor<T>(check: () => Maybe<T> | Promise<Maybe<T>>, what: string, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 5000, changes, intervalMs = 10, seen, failIf } = options;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let checking = false;
    let again = false;
    let unsubscribe = (): void => {};
    let poll: NodeJS.Timeout | undefined;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(poll);
      unsubscribe();
      settle();
    };
    const tryNow = async (): Promise<void> => {
      if (done) return;
      // A change while an async check runs: check once more when it is done.
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          const value = await check();
          if (value) return finish(() => resolve(value));
          const failure = failIf?.();
          if (failure) return finish(() => reject(failure));
        } while (again && !done);
      } catch (error) {
        return finish(() => reject(error as Error));
      } finally {
        checking = false;
      }
      if (!done && changes === undefined) poll = setTimeout(() => void tryNow(), intervalMs);
    };
    const deadline = setTimeout(() => {
      const got = seen === undefined ? "" : `; got:\n${seen()}`;
      finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${got}`)));
    }, timeoutMs);
    deadline.unref();
    if (changes) unsubscribe = changes.subscribe(() => void tryNow());
    void tryNow();
  });
}

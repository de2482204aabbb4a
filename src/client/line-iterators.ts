/**
 * NameEchoClient.lines(): any number of async iterators over the lines the
 * server sends, each with its own queue. Reading is paused while the
 * slowest iterator lags far behind (backpressure) and resumed once every one
 * has caught up, so an iterator nobody reads cannot make the client hold the
 * server's output without bound.
 */

/** What is paused: the socket's reading. */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/** Lines an iterator may hold unread before reading from the socket pauses. */
export const ITERATOR_HIGH_WATER = 1024;

/** One consumer: its unread lines and the wake-up of the next() waiting on it. */
interface LineQueue {
  lines: string[];
  wake: (() => void) | null;
}

export class LineIterators {
  private readonly flow: FlowControl;
  /** Why the connection failed, once it has; thrown by iterators that reach the end. */
  private readonly failure: () => Error | undefined;
  private readonly queues = new Set<LineQueue>();
  private ended = false;
  private paused = false;

  constructor(flow: FlowControl, failure: () => Error | undefined) {
    this.flow = flow;
    this.failure = failure;
  }

  /** A line from the server, for every open iterator. */
  push(line: string): void {
    if (this.queues.size === 0) return;
    for (const queue of this.queues) {
      queue.lines.push(line);
      queue.wake?.();
    }
    this.updateBackpressure();
  }

  /** The connection is closed: each iterator ends once its queue is read (throwing the failure, if there was one). */
  end(): void {
    this.ended = true;
    for (const queue of this.queues) {
      this.queues.delete(queue);
      queue.wake?.();
    }
  }

  /** Every line from now on, until the connection closes. */
  iterator(): AsyncIterableIterator<string> {
    const queue: LineQueue = { lines: [], wake: null };
    if (!this.ended) this.queues.add(queue);
    const iterators = this;
    const finish = (): IteratorResult<string> => {
      this.queues.delete(queue);
      this.updateBackpressure();
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
            iterators.updateBackpressure();
            return { done: false, value: line };
          }
          if (!iterators.queues.has(queue)) {
            const failure = iterators.failure();
            if (failure && iterators.ended) throw failure;
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

  /** Pause reading while some iterator lags far behind; resume once all have caught up. */
  private updateBackpressure(): void {
    let deepest = 0;
    for (const queue of this.queues) deepest = Math.max(deepest, queue.lines.length);
    if (!this.paused && deepest >= ITERATOR_HIGH_WATER) {
      this.paused = true;
      this.flow.pause();
    } else if (this.paused && deepest < ITERATOR_HIGH_WATER / 4) {
      this.paused = false;
      this.flow.resume();
    }
  }
}

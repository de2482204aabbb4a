/**
 * LineIterators, the lines() of NameEchoClient, without a socket: what it
 * pauses is any FlowControl, here one that records its calls.
 */
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ITERATOR_HIGH_WATER, LineIterators } from "../../src/client/line-iterators.js";

function recorder(): { calls: string[]; pause(): void; resume(): void } {
  const calls: string[] = [];
  return { calls, pause: () => calls.push("pause"), resume: () => calls.push("resume") };
}

describe("LineIterators", () => {
  test("every iterator gets every line from when it was made, in order, and ends with the connection", async () => {
    const iterators = new LineIterators(recorder(), () => undefined);
    const early = iterators.iterator();
    iterators.push("one");
    const late = iterators.iterator();
    iterators.push("two");
    iterators.end();
    const read = async (lines: AsyncIterableIterator<string>): Promise<string[]> => {
      const seen: string[] = [];
      for await (const line of lines) seen.push(line);
      return seen;
    };
    assert.deepEqual(await read(early), ["one", "two"]);
    assert.deepEqual(await read(late), ["two"]);
    assert.deepEqual(await read(iterators.iterator()), [], "an iterator made after the end is done at once");
  });

  test("a waiting next() is woken by the next line", async () => {
    const iterators = new LineIterators(recorder(), () => undefined);
    const lines = iterators.iterator();
    const next = lines.next();
    iterators.push("hello");
    assert.deepEqual(await next, { done: false, value: "hello" });
  });

  test("reading pauses when one iterator lags by the high-water mark, and resumes once it has caught up to a quarter", async () => {
    const flow = recorder();
    const iterators = new LineIterators(flow, () => undefined);
    const lines = iterators.iterator();
    for (let i = 0; i < ITERATOR_HIGH_WATER - 1; i++) iterators.push(`l${i}`);
    assert.deepEqual(flow.calls, []);
    iterators.push("last");
    assert.deepEqual(flow.calls, ["pause"]);
    let read = 0;
    while (flow.calls.length === 1) {
      await lines.next();
      read++;
    }
    assert.deepEqual(flow.calls, ["pause", "resume"]);
    assert.equal(ITERATOR_HIGH_WATER - read, ITERATOR_HIGH_WATER / 4 - 1, "resumed when fewer than a quarter were left unread");
  });

  test("an iterator given up with return() no longer holds reading back", async () => {
    const flow = recorder();
    const iterators = new LineIterators(flow, () => undefined);
    const lines = iterators.iterator();
    for (let i = 0; i < ITERATOR_HIGH_WATER; i++) iterators.push(`l${i}`);
    assert.deepEqual(flow.calls, ["pause"]);
    assert.deepEqual(await lines.return!(), { done: true, value: undefined });
    assert.deepEqual(flow.calls, ["pause", "resume"]);
  });

  test("after a failed connection, an iterator reads what was queued, then throws the failure", async () => {
    const failure = new Error("the connection was reset");
    let failed: Error | undefined;
    const iterators = new LineIterators(recorder(), () => failed);
    const lines = iterators.iterator();
    iterators.push("before");
    failed = failure;
    iterators.end();
    assert.deepEqual(await lines.next(), { done: false, value: "before" });
    await assert.rejects(lines.next(), failure);
  });
});

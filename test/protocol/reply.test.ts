import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OutputBatch, ReplyEncoder, releaseOutput } from "../../src/protocol/reply.js";

describe("ReplyEncoder / OutputBatch", () => {
  const encoder = new ReplyEncoder("Ali");

  test("a line gets a space, the name and CR LF", () => {
    assert.equal(encoder.encode(Buffer.from("Hello")).toString(), "Hello Ali\r\n");
  });

  test("an empty line gets the name alone", () => {
    assert.equal(encoder.encode(Buffer.alloc(0)).toString(), "Ali\r\n");
  });

  test("payload bytes come back exactly, invalid UTF-8 included", () => {
    const line = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80]);
    assert.deepEqual(encoder.encode(line), Buffer.concat([line, Buffer.from(" Ali\r\n")]));
  });

  test("a non-ASCII name is encoded as UTF-8", () => {
    assert.equal(new ReplyEncoder("Zoë ☃").encode(Buffer.from("hi")).toString("utf8"), "hi Zoë ☃\r\n");
  });

  test("a batch gathers replies and raw bytes in order, into one buffer, and empties", () => {
    const batch = new OutputBatch(encoder);
    assert.equal(batch.take(), null);
    batch.addReply(Buffer.from("one"));
    batch.add(Buffer.from("notice\r\n"));
    batch.addReply(Buffer.alloc(0));
    assert.equal(batch.length, "one Ali\r\nnotice\r\nAli\r\n".length);
    assert.equal(batch.take()!.toString(), "one Ali\r\nnotice\r\nAli\r\n");
    assert.equal(batch.isEmpty, true);
    assert.equal(batch.take(), null);
  });
});

describe("the spare output buffer", () => {
  const encoder = new ReplyEncoder("Ali");

  test("a batch allowed it gathers in the same buffer read after read, once each is given back as written", () => {
    const batch = new OutputBatch(encoder, true);
    batch.addReply(Buffer.from("one"));
    const first = batch.take()!;
    releaseOutput(first, true);
    batch.addReply(Buffer.from("two"));
    const second = batch.take()!;
    assert.equal(second.toString(), "two Ali\r\n");
    assert.equal(second.buffer, first.buffer, "the second read's replies reuse the first's buffer");
    releaseOutput(second, true);
  });

  test("a buffer a write keeps is never handed out again", () => {
    const batch = new OutputBatch(encoder, true);
    batch.addReply(Buffer.from("kept"));
    const kept = batch.take()!;
    releaseOutput(kept, false);
    batch.addReply(Buffer.from("next"));
    const next = batch.take()!;
    assert.notEqual(next.buffer, kept.buffer);
    assert.equal(kept.toString(), "kept Ali\r\n", "the kept bytes are untouched");
    releaseOutput(next, true);
  });

  test("a batch not allowed it (a writer that keeps every buffer) never gathers in the spare", () => {
    const spared = new OutputBatch(encoder, true);
    spared.addReply(Buffer.from("a"));
    const spare = spared.take()!;
    releaseOutput(spare, true);
    const streamed = new OutputBatch(encoder);
    streamed.addReply(Buffer.from("b"));
    const own = streamed.take()!;
    assert.notEqual(own.buffer, spare.buffer);
    releaseOutput(own, false);
  });
});

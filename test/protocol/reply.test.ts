import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ReplyBatch, ReplyEncoder } from "../../src/protocol/reply.js";

describe("ReplyEncoder / ReplyBatch", () => {
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
    const batch = new ReplyBatch(encoder);
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

import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  classify,
  clientMemoryNotice,
  idleNotice,
  isClosing,
  isTurnedAway,
  lineTooLongNotice,
  type NoticeKind,
  noticeText,
  outOfDescriptorsNotice,
  serverFullNotice,
  SHUTDOWN_NOTICE,
  tooManyFromAddressNotice,
} from "../../src/protocol/notices.js";

/** A notice as a client's framer hands it over: without its CR LF. */
const line = (notice: Buffer): string => {
  const text = notice.toString();
  assert.ok(text.endsWith("\r\n"), "every notice is one CR LF line");
  assert.equal(text.indexOf("\n"), text.length - 1, "and only one");
  return text.slice(0, -2);
};

describe("notices", () => {
  const cases: { notice: Buffer; text: string; kind: NoticeKind; closing: boolean; turnedAway: boolean }[] = [
    {
      notice: lineTooLongNotice(8192),
      text: "error: line longer than 8192 bytes; the rest of it was discarded",
      kind: "line-too-long",
      closing: false,
      turnedAway: false,
    },
    {
      notice: serverFullNotice(10),
      text: "error: server is full (10 connections); try again later",
      kind: "server-full",
      closing: false,
      turnedAway: true,
    },
    {
      notice: outOfDescriptorsNotice(),
      text: "error: server is out of capacity (file descriptors); try again later",
      kind: "out-of-descriptors",
      closing: false,
      turnedAway: true,
    },
    { notice: idleNotice(300), text: "closing: no input for 300 seconds", kind: "idle", closing: true, turnedAway: false },
    { notice: idleNotice(1), text: "closing: no input for 1 second", kind: "idle", closing: true, turnedAway: false },
    { notice: SHUTDOWN_NOTICE, text: "closing: the server is shutting down", kind: "shutdown", closing: true, turnedAway: false },
    {
      notice: tooManyFromAddressNotice(100),
      text: "error: too many connections from your address (100); try again later",
      kind: "too-many-from-address",
      closing: false,
      turnedAway: true,
    },
    {
      notice: clientMemoryNotice(123456),
      text: "closing: the server is short of memory for clients and this connection held the most (123456 bytes unread or unprocessed)",
      kind: "client-memory",
      closing: true,
      turnedAway: false,
    },
  ];
  for (const { notice, text, kind, closing, turnedAway } of cases) {
    test(`${kind}: "${text}"`, () => {
      assert.equal(line(notice), text);
      assert.equal(classify(text), kind);
      assert.equal(isClosing(kind), closing);
      assert.equal(isTurnedAway(kind), turnedAway);
    });
  }

  test("notices this version does not know by name are still notices, by their first word", () => {
    assert.equal(classify("error: something new"), "error");
    assert.equal(classify("closing: for a new reason"), "closing");
    assert.equal(isClosing("closing"), true);
    assert.equal(isClosing("error"), false);
  });

  test("lines that are not notices", () => {
    for (const text of ["", "Hello Ali", "Ali", "error:no space", "Error: capital", " error: indented", "closing:", "[yes, name-echo is here]"]) {
      assert.equal(classify(text), undefined, text);
    }
  });

  test("noticeText drops the first word", () => {
    assert.equal(noticeText("error: server is full (1 connections); try again later"), "server is full (1 connections); try again later");
    assert.equal(noticeText("closing: the server is shutting down"), "the server is shutting down");
    assert.equal(noticeText("Hello Ali"), "Hello Ali");
  });
});

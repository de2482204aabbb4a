/** The one vocabulary between `serve --workers`'s primary and its workers: each kind told from the others and from strangers. */
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { isMessage, type FromWorker, type ToWorker } from "../src/cluster-messages.js";

test("isMessage takes a message of its kind only", () => {
  const stop: ToWorker = { nameEcho: "stop" };
  const listening: FromWorker = { nameEcho: "listening", where: "127.0.0.1:8888", name: "Ali", transport: "handle" };
  assert.equal(isMessage(stop, "stop"), true);
  assert.equal(isMessage(stop, "drop"), false);
  assert.equal(isMessage(listening, "listening"), true);
  assert.equal(isMessage(listening, "answer"), false);
  // What else travels on the channel: prom-client's requests, node:cluster's own, nothing at all.
  for (const stranger of [{ type: "prom-client:getMetricsReq", requestId: 1 }, { cmd: "NODE_CLUSTER" }, null, undefined, "stop", 7]) {
    assert.equal(isMessage(stranger, "stop"), false, JSON.stringify(stranger));
  }
});

/**
 * One load process of `name-echo bench --processes N` (see processes.ts):
 * opens its share of the connections, says so, starts at the word "go", and
 * sends back its result with its latency histogram, encoded, to be added.
 */
import hdr from "hdr-histogram-js";
import { NameEchoError } from "../errors.js";
import { runBench } from "./load.js";
import type { FromLoadProcess, ToLoadProcess } from "./processes.js";

const send = (message: FromLoadProcess): Promise<void> => new Promise((resolve) => process.send!(message, () => resolve()));

let go!: () => void;
const started = new Promise<void>((resolve) => (go = resolve));

process.on("message", (message: ToLoadProcess) => {
  if (message.kind === "go") go();
  else if (message.kind === "run") void run(message);
});

async function run({ share, progress }: Extract<ToLoadProcess, { kind: "run" }>): Promise<void> {
  try {
    let histogram = "";
    const result = await runBench({
      ...share,
      beforeStart: async () => {
        await send({ kind: "ready" });
        await started;
      },
      onProgress: progress ? (p) => void send({ kind: "progress", progress: p }) : undefined,
      onHistogram: (h) => (histogram = hdr.encodeIntoCompressedBase64(h)),
    });
    await send({ kind: "done", result, histogram });
  } catch (error) {
    const code = error instanceof NameEchoError ? error.code : "";
    await send({ kind: "failed", code, message: (error as Error).message });
  }
  // Leaving the channel lets the process end: nothing else keeps it.
  process.disconnect();
}

/**
 * The status page's live feed: Server-Sent Events on GET /events.
 *
 * Every second the view is sampled (totals for the chart's history, kept
 * whether or not anyone watches, so a page opened late still shows the last
 * minutes); with a page open each sample goes out as one `update` event with
 * the server's status and the first rows of the connection table. A client
 * connecting or leaving sends an update sooner, at most every
 * CHANGE_DELAY_MS, so a storm of connects costs a few updates a second, not
 * one per connect. A browser that does not keep up is skipped until its
 * socket drains: nothing queues without bound.
 */
import type * as http from "node:http";
import type { LiveUpdate } from "./status-json.js";
import { SampleHistory, type Sample } from "./status.js";
import type { OpsView } from "./view.js";

/** Samples kept for the chart: five minutes, one a second. */
export const HISTORY_SECONDS = 300;
/** Rows sent to the page; /connections has them all. */
export const PAGE_ROWS = 200;
const SAMPLE_MS = 1000;
const CHANGE_DELAY_MS = 200;

export class LiveUpdates {
  private readonly view: OpsView;
  private readonly history = new SampleHistory(HISTORY_SECONDS);
  private readonly watchers = new Set<http.ServerResponse>();
  private sampler: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | undefined;
  private changeTimer: NodeJS.Timeout | null = null;
  private sending = false;

  constructor(view: OpsView) {
    this.view = view;
  }

  /** Starts sampling (once the HTTP port listens). */
  start(): void {
    if (this.sampler !== null) return;
    this.sampler = setInterval(() => void this.sample(), SAMPLE_MS);
    this.sampler.unref();
    void this.sample();
    this.unsubscribe = this.view.onChange?.(() => this.changed());
  }

  /** Takes over a GET /events response until the browser goes away. */
  watch(request: http.IncomingMessage, response: http.ServerResponse): void {
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    // The browser reconnects by itself after 2 s if the stream breaks.
    response.write("retry: 2000\n\n");
    this.watchers.add(response);
    request.socket.setNoDelay(true);
    response.on("close", () => this.watchers.delete(response));
    void this.send([response], { history: this.history.list() });
  }

  close(): void {
    if (this.sampler !== null) clearInterval(this.sampler);
    this.sampler = null;
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.unsubscribe?.();
    for (const response of this.watchers) response.end();
    this.watchers.clear();
  }

  private changed(): void {
    if (this.watchers.size === 0 || this.changeTimer !== null) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = null;
      void this.send([...this.watchers], {});
    }, CHANGE_DELAY_MS);
    this.changeTimer.unref();
  }

  private async sample(): Promise<void> {
    let sample: Sample;
    try {
      const status = await this.view.status();
      sample = this.history.add(Date.now(), status.totals.lines, status.totals.connectionsOpen);
    } catch {
      return; // a worker that did not answer: no point this second
    }
    if (this.watchers.size > 0) await this.send([...this.watchers], { sample });
  }

  private async send(to: http.ServerResponse[], extra: { history?: Sample[]; sample?: Sample }): Promise<void> {
    // One broadcast at a time: a slow view (workers over IPC) must not pile up
    // requests. A new page's first update (with the history) always goes.
    const broadcast = extra.history === undefined;
    if (broadcast && this.sending) return;
    if (broadcast) this.sending = true;
    try {
      const [status, list] = await Promise.all([this.view.status(), this.view.connections(PAGE_ROWS)]);
      // Typed as the page's script reads it (status-json.ts).
      const update: LiveUpdate = { status, ...list, ...extra };
      const message = `event: update\ndata: ${JSON.stringify(update)}\n\n`;
      for (const response of to) {
        // A browser still reading the last update gets the next one instead.
        if (response.writableNeedDrain || response.destroyed) continue;
        response.write(message);
      }
    } catch {
      // The view could not answer (a worker gone): the next second tries again.
    } finally {
      if (broadcast) this.sending = false;
    }
  }
}

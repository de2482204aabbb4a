/**
 * How many file descriptors the process may still open, so the server can
 * turn a client away *with a reason* before the process runs out.
 *
 * Why this exists: when accept() fails with EMFILE, libuv (under Node) uses
 * its reserve-descriptor trick: it closes a spare descriptor, accepts every
 * pending connection and closes it at once, and reopens the spare. Node never
 * hears about it: no 'error', no log line; the clients just see their
 * connection close with nothing said. Counting our descriptors lets the server
 * notice first, tell the client why, and tell the operator once.
 *
 * Linux only (it reads /proc); elsewhere it never reports exhaustion and
 * libuv's behaviour is what you get.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Descriptors kept free for everything that is not a client: libuv's spare, DNS, log files, the rejection itself. */
export const DEFAULT_FD_RESERVE = 16;

/** How long a real count of open descriptors is trusted (counting costs a readdir). */
const COUNT_TTL_MS = 100;

/** The soft RLIMIT_NOFILE ("ulimit -n"), or null where it cannot be read. */
export function softFdLimit(): number | null {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!match || match[1] === "unlimited") return null;
    return Number(match[1]);
  } catch {
    return null;
  }
}

/** Descriptors open in this process right now, or null where it cannot be counted. */
export function openFdCount(): number | null {
  try {
    // readdir holds one descriptor of its own while it lists the directory.
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return null;
  }
}

export class FdBudget {
  readonly limit: number | null;
  readonly reserve: number;
  /** Descriptors open when the server started listening, before any client. */
  private readonly baseline: number;
  private counted = 0;
  private clientsWhenCounted = 0;
  private countedAt = -Infinity;

  constructor(reserve = DEFAULT_FD_RESERVE) {
    this.reserve = reserve;
    this.limit = softFdLimit();
    this.baseline = this.limit === null ? 0 : (openFdCount() ?? 0);
  }

  /**
   * Whether the process is within `reserve` descriptors of its limit, given
   * that `clients` sockets are open (the one just accepted and the ones being
   * turned away included). Cheap
   * when far from the limit; near it, the real count decides.
   */
  exhausted(clients: number): boolean {
    if (this.limit === null) return false;
    const ceiling = this.limit - this.reserve;
    // Far away even by a pessimistic estimate: no need to count.
    if (this.baseline + clients < ceiling - this.reserve) return false;
    const now = performance.now();
    if (now - this.countedAt > COUNT_TTL_MS) {
      this.counted = openFdCount() ?? this.baseline + clients;
      this.clientsWhenCounted = clients;
      this.countedAt = now;
    }
    // Sockets accepted since the count hold descriptors the count missed.
    return this.counted + Math.max(0, clients - this.clientsWhenCounted) >= ceiling;
  }

  /** Forget the cached count (a client just left, descriptors were freed). */
  invalidate(): void {
    this.countedAt = -Infinity;
  }
}

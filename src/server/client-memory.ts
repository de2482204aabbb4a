/**
 * The global budget for what the server holds on behalf of its clients, as
 * Redis's `maxmemory-clients`: the sum over all connections of unsent output,
 * input read but not yet processed, and the pending (unfinished) line. Each
 * of those is bounded per client already; this bounds their sum, so that
 * 10,000 clients that never read cannot add up to gigabytes.
 *
 * Cheap by construction: each connection asks for recharge() from the
 * paths that already change what it holds (a read processed, a drain, a
 * goodbye) and release() at its close, which is a subtraction and an
 * addition; the accounting is the budget's, kept in one number on the
 * connection (its charge, see MemoryHolder). Only when what open
 * clients hold passes the budget does a pass over the connections run, at
 * once, and it evicts the clients holding the most, down to 7/8 of the
 * budget (so the next pass waits for real growth).
 *
 * Eviction, biggest first, until the sum fits again:
 *   1. clients already told to go (closing, or half-closed) that still hold
 *      bytes are dropped: they had their notice, and their bytes are what
 *      must be freed now;
 *   2. open clients are told (`closing: …`, after the replies they already
 *      have queued) and closed. Their bytes stay held while they take them,
 *      at most until the linger runs out, or until the next pass needs the
 *      room (step 1).
 * So open clients hold at most the budget plus one read's output, and all
 * together at most that plus what the last pass told; small clients,
 * holding nothing, are never candidates while a bigger one is.
 */
import * as os from "node:os";
import { kEvict, kHeldBytes, kIsLeaving, kMemoryCharge } from "../internal.js";
import { GarbageCollections } from "./collect-garbage.js";

export const MiB = 1024 * 1024;

/** The default budget: a sixteenth of the machine's (or the container's) memory, within [32 MiB, 1 GiB]. */
export const CLIENT_MEMORY_FRACTION = 16;
export const CLIENT_MEMORY_FLOOR = 32 * MiB;
export const CLIENT_MEMORY_CAP = 1024 * MiB;

/**
 * A sixteenth of the memory this process may use (the cgroup limit when
 * there is one, else the machine's), at least 32 MiB, at most 1 GiB.
 * See README "Limits" for why.
 */
export function defaultMaxClientMemory(): number {
  let memory = os.totalmem();
  // process.constrainedMemory() is the cgroup limit; 0 (or a huge number) when there is none.
  const constrained = typeof process.constrainedMemory === "function" ? process.constrainedMemory() : 0;
  if (constrained !== undefined && constrained > 0 && constrained < memory) memory = constrained;
  return Math.round(Math.min(CLIENT_MEMORY_CAP, Math.max(CLIENT_MEMORY_FLOOR, memory / CLIENT_MEMORY_FRACTION)));
}

/**
 * What the budget needs of a connection. Symbol-keyed (internal.ts) but for
 * destroy(): they are TcpConnection's members, and no part of its API.
 */
export interface MemoryHolder {
  /** Bytes held for this client right now (unsent output, held input, pending line). */
  readonly [kHeldBytes]: number;
  /** Told to go already (closing or half-closed): evicting it means dropping it. */
  readonly [kIsLeaving]: boolean;
  /**
   * The budget's record, which the holder only stores (0 to start): the
   * bytes last charged to it, negative when they were charged to the
   * leaving clients' sum. One number, so a connection pays one field for
   * the whole of the accounting.
   */
  [kMemoryCharge]: number;
  /** Tell it why and close it (the notice goes through its own notice path). */
  [kEvict](heldBytes: number): void;
  /** Drop it now. */
  destroy(): void;
}

/** One eviction pass's outcome, for the operator's log. */
export interface EvictionReport {
  /** Open clients told and closed. */
  told: number;
  /** Clients already leaving, dropped. */
  dropped: number;
  /** The sum before the pass. */
  heldBytes: number;
  limit: number;
}

export class ClientMemoryBudget {
  readonly limit: number;
  private readonly holders: Iterable<MemoryHolder>;
  private readonly onEviction: (report: EvictionReport) => void;
  /** What open clients hold: the pass runs when this passes the limit. */
  private openBytes = 0;
  /** What clients already told to go still hold (freed as they take it, or by the linger). */
  private leavingBytes = 0;
  private passing = false;
  /** Bytes the connections let go since the last collection was asked for: garbage until V8 collects it. */
  private released = 0;
  private readonly collections = new GarbageCollections();

  /**
   * @param holders every connection (the server's live set).
   * @param onEviction told after each pass that evicted someone.
   */
  constructor(limit: number, holders: Iterable<MemoryHolder>, onEviction: (report: EvictionReport) => void) {
    this.limit = limit;
    this.holders = holders;
    this.onEviction = onEviction;
  }

  /** The sum of what the connections last reported. */
  get heldBytes(): number {
    return this.openBytes + this.leavingBytes;
  }

  /**
   * Charges `holder` with what it holds now, in the sum of its kind (open,
   * or told to go: `leaving`, which a holder that knows it passes rather
   * than be asked); returns those bytes. Called from the paths that change
   * what a connection holds, and by the pass for every holder.
   */
  recharge(holder: MemoryHolder, leaving = holder[kIsLeaving]): number {
    const held = holder[kHeldBytes];
    const charge = holder[kMemoryCharge];
    let charged = charge < 0 ? -charge : charge;
    if (charged !== 0 && charge < 0 !== leaving) {
      // Told to go since its last charge: its bytes move to the other sum.
      this.change(-charged, !leaving);
      charged = 0;
    }
    // Recorded before change(), which may run the pass: the pass recharges this holder too.
    // (0 for nothing held either way: a -0 would not be a small integer.)
    holder[kMemoryCharge] = held === 0 ? 0 : leaving ? -held : held;
    if (held !== charged) this.change(held - charged, leaving);
    return held;
  }

  /** `holder` is closed: what it was charged is no longer held. */
  release(holder: MemoryHolder): void {
    const charge = holder[kMemoryCharge];
    if (charge === 0) return;
    holder[kMemoryCharge] = 0;
    this.change(charge < 0 ? charge : -charge, charge < 0);
  }

  /**
   * One sum changes by `delta` bytes (`leaving`: the sum of the clients told
   * to go). Past the limit the pass runs at once, so the sum never runs
   * ahead by more than one read's output.
   */
  private change(delta: number, leaving: boolean): void {
    if (leaving) this.leavingBytes += delta;
    else this.openBytes += delta;
    if (delta < 0) {
      // A quarter of the budget let go (clients closed, or their replies taken): collected now, not when
      // V8 next needs room, so the process's memory follows the budget down, not only its count.
      this.released -= delta;
      if (this.released >= this.limit / 4) {
        this.released = 0;
        this.collections.request();
      }
    }
    if (delta > 0 && !leaving && this.openBytes > this.limit && !this.passing) this.pass();
  }

  /** Evicts the biggest holders until the sum is within the limit. */
  private pass(): void {
    this.passing = true;
    try {
      this.evictBiggest();
    } finally {
      this.passing = false;
    }
  }

  private evictBiggest(): void {
    // Recount exactly: unsent bytes also shrink without any event (the
    // kernel took them), so what was reported may be stale upwards.
    const holding: MemoryHolder[] = [];
    for (const holder of this.holders) if (this.recharge(holder) > 0) holding.push(holder);
    let open = 0;
    let leaving = 0;
    for (const holder of holding) {
      if (holder[kIsLeaving]) leaving += chargedBytes(holder);
      else open += chargedBytes(holder);
    }
    this.openBytes = open;
    this.leavingBytes = leaving;
    if (open <= this.limit) return;
    const before = open + leaving;
    holding.sort((a, b) => chargedBytes(b) - chargedBytes(a));
    // 1. Clients already told, biggest first, while everyone together is over.
    let dropped = 0;
    for (const holder of holding) {
      if (open + leaving <= this.limit) break;
      if (!holder[kIsLeaving]) continue;
      leaving -= chargedBytes(holder);
      dropped++;
      holder.destroy();
    }
    // 2. Open clients, biggest first, down to 7/8 of the limit: some room,
    //    so that the next pass waits for real growth, not the next read.
    const target = this.limit - this.limit / 8;
    let told = 0;
    for (const holder of holding) {
      if (open <= target) break;
      if (holder[kIsLeaving]) continue;
      const bytes = chargedBytes(holder);
      open -= bytes;
      told++;
      holder[kEvict](bytes);
    }
    if (told + dropped > 0) this.onEviction({ told, dropped, heldBytes: before, limit: this.limit });
  }
}

/** The bytes last charged to `holder`, in whichever sum. */
function chargedBytes(holder: MemoryHolder): number {
  const charge = holder[kMemoryCharge];
  return charge < 0 ? -charge : charge;
}

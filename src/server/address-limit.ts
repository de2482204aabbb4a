/**
 * `--max-connections-per-ip`: connections open at once per client address,
 * as nginx's `limit_conn` keyed on `$binary_remote_addr` or an HAProxy stick
 * table tracking `src` with `conn_cur`. The address is the one the client is
 * known by: the PROXY header's when PROXY protocol is on, else the peer's.
 *
 * A map from address to count, touched once at accept and once at close;
 * an address with no connection left takes no memory.
 */
export class ConnectionsPerAddress {
  readonly limit: number;
  private readonly counts = new Map<string, number>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Counts a new connection from `address`; false (and nothing counted) when it already has `limit`. */
  admit(address: string): boolean {
    const count = this.counts.get(address) ?? 0;
    if (count >= this.limit) return false;
    this.counts.set(address, count + 1);
    return true;
  }

  /** A connection admitted from `address` has closed. */
  release(address: string): void {
    const count = this.counts.get(address);
    if (count === undefined) return;
    if (count <= 1) this.counts.delete(address);
    else this.counts.set(address, count - 1);
  }

  /** Connections open from `address`. */
  countOf(address: string): number {
    return this.counts.get(address) ?? 0;
  }
}

/** One end of a TCP connection: an address, a port and the address family. */
export type AddressFamily = "IPv4" | "IPv6";

export class Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: AddressFamily;

  constructor(address: string, port: number, family?: AddressFamily | string) {
    this.address = address;
    this.port = port;
    this.family = family === "IPv6" || (family === undefined && address.includes(":")) ? "IPv6" : "IPv4";
  }

  /**
   * Builds an Endpoint from what node:net reports. A socket that is already
   * closed reports nothing; that end is then shown as "unknown:0" rather than
   * throwing, because it is only used for display and logs.
   */
  static from(address: string | undefined, port: number | undefined, family: string | undefined): Endpoint {
    return new Endpoint(address ?? "unknown", port ?? 0, family);
  }

  /** `127.0.0.1:8888`, or `[::1]:8888` for IPv6, as URLs and most tools write them. */
  toString(): string {
    return this.family === "IPv6" ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }

  toJSON(): { address: string; port: number; family: AddressFamily } {
    return { address: this.address, port: this.port, family: this.family };
  }
}

/**
 * The project's one address type: an address, a port and the address family,
 * printed one way everywhere (toString). It is each end of a TCP connection,
 * what NameEchoServer.listen() resolves to, the client's address in a PROXY
 * header, and where a client connects (client/target.ts: there the address
 * may still be a host name, "localhost:8888").
 */
export type AddressFamily = "IPv4" | "IPv6";

/** An Endpoint as JSON (logs, /connections, messages between workers). */
export interface EndpointJSON {
  address: string;
  port: number;
  family: AddressFamily;
}

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

  toJSON(): EndpointJSON {
    return { address: this.address, port: this.port, family: this.family };
  }
}

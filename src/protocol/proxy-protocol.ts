/**
 * The PROXY protocol header (versions 1 and 2), as HAProxy, nginx `stream`,
 * AWS NLB and others put it in front of a TCP connection to say who the real
 * client is. Spec: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
 *
 * Pure and incremental, like the line framer: feed chunks as they arrive with
 * push(); it answers "need more", "done" (with the header and whatever bytes
 * followed it, which belong to the client's data stream) or "error".
 *
 * The spec's rules for a receiver, which this follows:
 * - Never guess. When PROXY protocol is on, every connection must start with a
 *   valid header; anything else is an error, never taken as client data (a
 *   client could otherwise forge its address by sending a header itself only
 *   when the proxy did not).
 * - Decide as early as possible. The first bytes tell v1 ("PROXY ") from v2
 *   (a 12-byte binary signature); a byte that fits neither is an error at once,
 *   so a plain client fails fast rather than waiting for the timeout.
 * - Bounded size. A v1 header is at most 107 bytes including CR LF; a v2
 *   header declares its length up front and is refused at once if that is
 *   over maxHeaderBytes. The parser never holds more than that.
 *
 * Address validation uses node:net's isIPv4/isIPv6: pure string functions,
 * not sockets, so the module stays free of I/O.
 */
import { isIPv4, isIPv6 } from "node:net";
import { Endpoint } from "../endpoint.js";

/** The longest v1 header the spec allows, "PROXY" through CR LF. */
export const PROXY_V1_MAX_BYTES = 107;

/** The fixed part of a v2 header: signature (12), version/command, family/protocol, length (2). */
export const PROXY_V2_FIXED_BYTES = 16;

/**
 * Default cap on a whole v2 header. The protocol allows 16 + 65535 bytes;
 * real proxies send the 12- or 36-byte addresses plus a few TLVs (ALPN, SNI,
 * a unique id), well under 1 KiB. 4 KiB leaves room for TLVs and keeps the
 * memory a connection can make us hold before it is even identified small.
 */
export const DEFAULT_MAX_PROXY_HEADER_BYTES = 4096;

export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from("PROXY ", "latin1");

/** The name earlier versions gave a PROXY header's addresses, which are Endpoints like a connection's own ends. */
export type ProxyAddress = Endpoint;

/** What the encoders need of an address (an Endpoint, or a plain object of the same shape). */
type EndpointFields = Pick<Endpoint, "address" | "port" | "family">;

export interface ProxyHeader {
  version: 1 | 2;
  /**
   * "proxy": a relayed connection; source/destination are the real ends when
   * known. "local": the proxy speaking for itself (e.g. a health check).
   */
  command: "proxy" | "local";
  /**
   * The real client, or undefined when the header carries no usable address
   * (v1 UNKNOWN, v2 LOCAL, v2 UNSPEC or UNIX): the spec says to use the
   * connection's own addresses then.
   */
  source: Endpoint | undefined;
  /** The address the client connected to, when known. */
  destination: Endpoint | undefined;
  /** The header's length in bytes on the wire. */
  length: number;
}

export type ProxyParseResult = { status: "more" } | { status: "done"; header: ProxyHeader; rest: Buffer } | { status: "error"; reason: string };

const MORE: ProxyParseResult = Object.freeze({ status: "more" });

export class ProxyHeaderParser {
  readonly maxHeaderBytes: number;
  /** Bytes received so far; headers are small, so one growing copy is simplest. */
  private held: Buffer = Buffer.alloc(0);
  private result: ProxyParseResult = MORE;

  constructor(maxHeaderBytes = DEFAULT_MAX_PROXY_HEADER_BYTES) {
    if (!Number.isInteger(maxHeaderBytes) || maxHeaderBytes < PROXY_V1_MAX_BYTES) {
      throw new RangeError(`maxHeaderBytes must be a whole number >= ${PROXY_V1_MAX_BYTES}, not ${maxHeaderBytes}`);
    }
    this.maxHeaderBytes = maxHeaderBytes;
  }

  /**
   * Feeds the next chunk. Once the answer is "done" or "error" it is final and
   * further chunks are not looked at (the caller hands them to the data path).
   */
  push(chunk: Uint8Array): ProxyParseResult {
    if (this.result.status !== "more") return this.result;
    this.held = this.held.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.held, chunk]);
    this.result = parse(this.held, this.maxHeaderBytes);
    if (this.result.status !== "more") this.held = Buffer.alloc(0);
    return this.result;
  }

  /** Bytes received but not yet decided on (at most maxHeaderBytes). */
  get heldByteCount(): number {
    return this.held.length;
  }
}

function parse(bytes: Buffer, maxHeaderBytes: number): ProxyParseResult {
  if (bytes.length === 0) return MORE;
  if (bytes[0] === V1_PREFIX[0]) return parseV1(bytes);
  if (bytes[0] === PROXY_V2_SIGNATURE[0]) return parseV2(bytes, maxHeaderBytes);
  return error("the connection did not start with a PROXY protocol header");
}

function parseV1(bytes: Buffer): ProxyParseResult {
  const prefixLength = Math.min(bytes.length, V1_PREFIX.length);
  if (!bytes.subarray(0, prefixLength).equals(V1_PREFIX.subarray(0, prefixLength))) {
    return error("the connection did not start with a PROXY protocol header");
  }
  const searchEnd = Math.min(bytes.length, PROXY_V1_MAX_BYTES);
  let lf = -1;
  for (let i = V1_PREFIX.length; i < searchEnd; i++) {
    const byte = bytes[i]!;
    if (byte === 0x0a) {
      lf = i;
      break;
    }
    // Only printable US-ASCII and the CR before the LF belong in a v1 header.
    if ((byte < 0x20 || byte > 0x7e) && byte !== 0x0d) return error("PROXY v1 header holds a byte that is not printable ASCII");
  }
  if (lf === -1) {
    return bytes.length >= PROXY_V1_MAX_BYTES ? error(`PROXY v1 header is longer than ${PROXY_V1_MAX_BYTES} bytes`) : MORE;
  }
  if (bytes[lf - 1] !== 0x0d) return error("PROXY v1 header does not end with CR LF");
  const line = bytes.toString("latin1", V1_PREFIX.length, lf - 1);
  if (line.includes("\r")) return error("PROXY v1 header holds a stray CR");
  const parts = line.split(" ");
  const length = lf + 1;
  const rest = bytes.subarray(length);
  if (parts[0] === "UNKNOWN") {
    // The spec: a receiver must ignore anything after UNKNOWN and use the real addresses.
    return { status: "done", header: { version: 1, command: "proxy", source: undefined, destination: undefined, length }, rest };
  }
  if (parts.length !== 5) return error('PROXY v1 header must be "PROXY TCP4|TCP6 SRC DST SPORT DPORT"');
  const [protocol, source, destination, sourcePort, destinationPort] = parts as [string, string, string, string, string];
  let family: "IPv4" | "IPv6";
  if (protocol === "TCP4") family = "IPv4";
  else if (protocol === "TCP6") family = "IPv6";
  else return error(`PROXY v1 protocol must be TCP4, TCP6 or UNKNOWN`);
  const valid = family === "IPv4" ? isIPv4 : isIPv6;
  if (!valid(source) || !valid(destination)) return error(`PROXY v1 ${protocol} header holds an address that is not ${family}`);
  const sport = parsePort(sourcePort);
  const dport = parsePort(destinationPort);
  if (sport === null || dport === null) return error("PROXY v1 header holds a port that is not a number from 0 to 65535");
  return {
    status: "done",
    header: {
      version: 1,
      command: "proxy",
      source: new Endpoint(source, sport, family),
      destination: new Endpoint(destination, dport, family),
      length,
    },
    rest,
  };
}

/** Decimal, 1 to 5 digits, no sign and no leading zero (the spec's form), 0 to 65535. */
function parsePort(text: string): number | null {
  if (!/^(0|[1-9]\d{0,4})$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

function parseV2(bytes: Buffer, maxHeaderBytes: number): ProxyParseResult {
  const signatureLength = Math.min(bytes.length, PROXY_V2_SIGNATURE.length);
  if (!bytes.subarray(0, signatureLength).equals(PROXY_V2_SIGNATURE.subarray(0, signatureLength))) {
    return error("the connection did not start with a PROXY protocol header");
  }
  // Check each fixed byte as soon as it is there, so junk fails without waiting for more.
  if (bytes.length > 12) {
    const versionCommand = bytes[12]!;
    if (versionCommand >> 4 !== 2) return error(`PROXY v2 header has version ${versionCommand >> 4}, not 2`);
    if ((versionCommand & 0x0f) > 1) return error(`PROXY v2 header has unknown command ${versionCommand & 0x0f}`);
  }
  if (bytes.length < PROXY_V2_FIXED_BYTES) return MORE;
  const command = (bytes[12]! & 0x0f) === 0 ? "local" : "proxy";
  const familyProtocol = bytes[13]!;
  const addressFamily = familyProtocol >> 4;
  const transport = familyProtocol & 0x0f;
  const payloadLength = bytes.readUInt16BE(14);
  const length = PROXY_V2_FIXED_BYTES + payloadLength;
  if (length > maxHeaderBytes) return error(`PROXY v2 header of ${length} bytes is over the ${maxHeaderBytes}-byte limit`);
  if (addressFamily > 3) return error(`PROXY v2 header has unknown address family ${addressFamily}`);
  if (transport > 2) return error(`PROXY v2 header has unknown transport protocol ${transport}`);
  const addressBytes = addressFamily === 1 ? 12 : addressFamily === 2 ? 36 : addressFamily === 3 ? 216 : 0;
  if (payloadLength < addressBytes) return error("PROXY v2 header is too short for its address family");
  if (bytes.length < length) return MORE;

  const rest = bytes.subarray(length);
  const unknown = { status: "done", header: { version: 2, command, source: undefined, destination: undefined, length }, rest } as const;
  // LOCAL: the proxy's own connection (health check); the spec says ignore the addresses.
  if (command === "local") return unknown;
  // UNSPEC family or transport, or UNIX sockets: nothing we can show as an IP endpoint.
  if (addressFamily === 0 || addressFamily === 3 || transport === 0) return unknown;
  // A datagram relay over a stream connection is a misconfigured proxy, not a client.
  if (transport === 2) return error("PROXY v2 header announces a datagram (UDP) connection");
  const payload = bytes.subarray(PROXY_V2_FIXED_BYTES);
  let source: Endpoint;
  let destination: Endpoint;
  if (addressFamily === 1) {
    source = new Endpoint(ipv4(payload, 0), payload.readUInt16BE(8), "IPv4");
    destination = new Endpoint(ipv4(payload, 4), payload.readUInt16BE(10), "IPv4");
  } else {
    source = new Endpoint(ipv6(payload, 0), payload.readUInt16BE(32), "IPv6");
    destination = new Endpoint(ipv6(payload, 16), payload.readUInt16BE(34), "IPv6");
  }
  return { status: "done", header: { version: 2, command, source, destination, length }, rest };
}

function ipv4(bytes: Buffer, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run of two or more zero groups as "::". */
function ipv6(bytes: Buffer, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(offset + i * 2));
  // IPv4-mapped addresses (::ffff:a.b.c.d) are written as Node writes them for sockets.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${ipv4(bytes, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

function error(reason: string): ProxyParseResult {
  return { status: "error", reason };
}

/** Builds a v1 header (for tests, tools and anyone writing a proxy in front of name-echo). */
export function encodeProxyV1(source: EndpointFields | undefined, destination?: EndpointFields): Buffer {
  if (!source || !destination) return Buffer.from("PROXY UNKNOWN\r\n", "latin1");
  const protocol = source.family === "IPv6" ? "TCP6" : "TCP4";
  return Buffer.from(`PROXY ${protocol} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`, "latin1");
}

/** Builds a v2 header with optional TLV bytes after the addresses. */
export function encodeProxyV2(
  source: EndpointFields | undefined,
  destination?: EndpointFields,
  options: { local?: boolean; tlvs?: Uint8Array } = {},
): Buffer {
  const tlvs = options.tlvs ?? new Uint8Array(0);
  let familyProtocol = 0x00;
  let addresses = Buffer.alloc(0);
  if (source && destination && !options.local) {
    if (source.family === "IPv4") {
      familyProtocol = 0x11;
      addresses = Buffer.alloc(12);
      Buffer.from(source.address.split(".").map(Number)).copy(addresses, 0);
      Buffer.from(destination.address.split(".").map(Number)).copy(addresses, 4);
      addresses.writeUInt16BE(source.port, 8);
      addresses.writeUInt16BE(destination.port, 10);
    } else {
      familyProtocol = 0x21;
      addresses = Buffer.alloc(36);
      ipv6Bytes(source.address).copy(addresses, 0);
      ipv6Bytes(destination.address).copy(addresses, 16);
      addresses.writeUInt16BE(source.port, 32);
      addresses.writeUInt16BE(destination.port, 34);
    }
  }
  const fixed = Buffer.alloc(PROXY_V2_FIXED_BYTES);
  PROXY_V2_SIGNATURE.copy(fixed, 0);
  fixed[12] = options.local ? 0x20 : 0x21;
  fixed[13] = familyProtocol;
  fixed.writeUInt16BE(addresses.length + tlvs.length, 14);
  return Buffer.concat([fixed, addresses, tlvs]);
}

/** Hex-group IPv6 text to bytes (no embedded dotted IPv4 part): enough for the encoders above. */
function ipv6Bytes(address: string): Buffer {
  const [head = "", tail] = address.split("::");
  const parse = (part: string): number[] => (part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

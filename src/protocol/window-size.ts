/**
 * NAWS, Negotiate About Window Size (RFC 1073): a client that agreed to
 * `DO NAWS` reports its window as `IAC SB NAWS <width:16> <height:16> IAC SE`,
 * at once and again whenever the window changes (PuTTY and inetutils telnet
 * on every resize). The parser has already undone the `IAC IAC` a 255 byte
 * in the sizes is sent as, so the payload is the four bytes of the RFC.
 *
 * Pure: bytes in, a size out. What is done with the width is the line
 * editor's (line-editor.ts): it redraws a line across the rows it wraps onto.
 */

/** A client's window, in character cells; 0 is "not known" (RFC 1073: the client does not say). */
export interface WindowSize {
  columns: number;
  rows: number;
}

/**
 * The window a NAWS subnegotiation reports, or null for a payload that is
 * not one: anything but exactly four bytes (a truncated or padded report is
 * a broken client, and a wrong width is worse than none).
 */
export function windowSizeFromNaws(payload: Buffer, truncated: boolean): WindowSize | null {
  if (truncated || payload.length !== 4) return null;
  return { columns: payload.readUInt16BE(0), rows: payload.readUInt16BE(2) };
}

/**
 * Telnet option negotiation by the Q method of RFC 1143.
 *
 * Each option has two sides: "us" (the server performs it: WILL/WONT from
 * us, DO/DONT from the peer) and "him" (the client performs it: DO/DONT from
 * us, WILL/WONT from the peer). Each side of each option is in one of six
 * states, and every (state, message) pair has one cell of the RFC's table
 * (TABLE below). Because a request that changes nothing is never answered, and our
 * own requests are remembered until answered, no peer can draw us into a
 * negotiation loop.
 *
 * Only a few options are supported (POLICY); for every other one the state
 * is NO forever and needs no memory: a WILL is refused with DONT, a DO with
 * WONT, and WONT/DONT change nothing so they are not answered. The states of
 * the supported ones are packed 3 bits each into one small integer, so a
 * connection pays a few bytes for all of this.
 *
 * TIMING-MARK (RFC 860) is not a state but a question, "have you processed
 * everything before this?": every DO TIMING-MARK is answered WILL
 * TIMING-MARK and nothing is remembered. Linux telnet sends `IAC IP IAC DO
 * TIMING-MARK` on Ctrl-C and hides all output until the answer comes.
 *
 * The table (RFC 1143 section 7), for one side of one supported option, is
 * TABLE below, in code as it is in the RFC: each cell is the new state and
 * what we send ("on" = DO / WILL, "off" = DONT / WONT), or "-" for no change
 * and no answer (the method returns false). "on" is WILL on the peer's side
 * (him) and DO on ours (us); "off" is WONT and DONT. The four states are NO,
 * YES, WANTNO and WANTYES; a WANT state has a queue bit, EMPTY or OPPOSITE
 * ("once answered, ask for the other way"), which makes the six states.
 * Notes on some cells:
 *   - YES + peer says off is acknowledged: RFC 854 requires it of a change.
 *   - WANTNO + peer says on is an error by the peer (it answered our "off"
 *     with "on"). The RFC takes it as off (EMPTY) or as on (OPPOSITE: we
 *     wanted on next anyway).
 *   - An enable() in WANTNO EMPTY or a disable() in WANTYES EMPTY only queues
 *     the wish: asking again before the first question is answered is what
 *     starts loops.
 * Twisted's telnet.py keeps the same table as its willMap, wontMap, doMap
 * and dontMap.
 */
import { DO, DONT, OPT_ECHO, OPT_NAWS, OPT_SGA, OPT_TIMING_MARK, WILL, WONT } from "./telnet-parser.js";

/** Which end performs the option. */
export const US = 0;
export const HIM = 1;
export type Side = typeof US | typeof HIM;

// The six states of RFC 1143 section 7 (WANTNO/WANTYES each with a queue
// bit: EMPTY, or OPPOSITE = "and then ask for the other way").
export const NO = 0;
export const YES = 1;
export const WANTNO = 2;
export const WANTNO_OPPOSITE = 3;
export const WANTYES = 4;
export const WANTYES_OPPOSITE = 5;
export type QState = 0 | 1 | 2 | 3 | 4 | 5;

export interface NegotiationOutput {
  /** Send `IAC <command> <option>` now, after everything already queued. */
  sendNegotiation(command: number, option: number): void;
}

/**
 * The options we agree to, and where each one's state lives in the packed
 * integer. ECHO and SUPPRESS-GO-AHEAD on our side are server-side echo (the
 * pair that puts a telnet client in character mode); SUPPRESS-GO-AHEAD on the
 * client's side is harmless (we never wait for a GA). NAWS on the client's
 * side is its window size (RFC 1073), which the line editor wraps its line
 * by. Everything else — the client echoing us, LINEMODE, TTYPE,
 * NEW-ENVIRON… — is refused.
 */
function slotOf(side: Side, option: number): number {
  if (side === US) {
    if (option === OPT_ECHO) return 0;
    if (option === OPT_SGA) return 1;
  } else {
    if (option === OPT_SGA) return 2;
    if (option === OPT_NAWS) return 3;
  }
  return -1;
}

const BITS = 3;
const MASK = 0b111;

/** What happens to one side of one option: the peer says on or off, or we want it on or off. */
const PEER_ON = 0;
const PEER_OFF = 1;
const ENABLE = 2;
const DISABLE = 3;
type Event = typeof PEER_ON | typeof PEER_OFF | typeof ENABLE | typeof DISABLE;

/** The answer a cell sends, if any. */
const SEND_NOTHING = 0;
const SEND_ON = 1;
const SEND_OFF = 2;
type Answer = typeof SEND_NOTHING | typeof SEND_ON | typeof SEND_OFF;

/** A cell of the table: the new state and what to send; null ("-") changes nothing and sends nothing. */
type Cell = { readonly state: QState; readonly send: Answer } | null;
const to = (state: QState, send: Answer = SEND_NOTHING): Cell => ({ state, send });
const _ = null;

/**
 * The Q method, (state, event) → (new state, answer): RFC 1143 section 7,
 * row by row. The last row is every option we do not support: NO for ever,
 * with no state to keep, so every offer is refused.
 */
const UNSUPPORTED = 6;
const TABLE: readonly (readonly [peerOn: Cell, peerOff: Cell, enable: Cell, disable: Cell])[] = [
  /*                         peer says on              peer says off             enable()                  disable()              */
  /* NO                */ [to(YES, SEND_ON), _, to(WANTYES, SEND_ON), _],
  /* YES               */ [_, to(NO, SEND_OFF), _, to(WANTNO, SEND_OFF)],
  /* WANTNO   EMPTY    */ [to(NO), to(NO), to(WANTNO_OPPOSITE), _],
  /* WANTNO   OPPOSITE */ [to(YES), to(WANTYES, SEND_ON), _, to(WANTNO)],
  /* WANTYES  EMPTY    */ [to(YES), to(NO), _, to(WANTYES_OPPOSITE)],
  /* WANTYES  OPPOSITE */ [to(WANTNO, SEND_OFF), to(NO), to(WANTYES), _],
  /* (unsupported)     */ [to(NO, SEND_OFF), _, _, _],
];

export class TelnetOptions {
  private readonly out: NegotiationOutput;
  /** QState of each supported (side, option), BITS each (all NO to start). */
  private states = 0;

  constructor(out: NegotiationOutput) {
    this.out = out;
  }

  /** The Q-method state of one side of one option (NO for every unsupported one). */
  state(side: Side, option: number): QState {
    const slot = slotOf(side, option);
    return slot === -1 ? NO : this.get(slot);
  }

  /** Whether the option is on (agreed by both ends) on that side. */
  isEnabled(side: Side, option: number): boolean {
    return this.state(side, option) === YES;
  }

  /**
   * A WILL, WONT, DO or DONT from the peer. Returns whether it changed
   * anything (a state or an answer sent).
   */
  receive(command: number, option: number): boolean {
    if (option === OPT_TIMING_MARK && command === DO) {
      // Always answered, never remembered: see the file comment.
      this.out.sendNegotiation(WILL, OPT_TIMING_MARK);
      return true;
    }
    switch (command) {
      case WILL:
        return this.apply(HIM, option, PEER_ON);
      case WONT:
        return this.apply(HIM, option, PEER_OFF);
      case DO:
        return this.apply(US, option, PEER_ON);
      case DONT:
        return this.apply(US, option, PEER_OFF);
      default:
        return false;
    }
  }

  /**
   * We want the option on, on that side (RFC 1143 "we want to enable").
   * Returns false when there is nothing to do (already on, being asked, or
   * unsupported): no message is sent twice.
   */
  enable(side: Side, option: number): boolean {
    return this.apply(side, option, ENABLE);
  }

  /** We want the option off, on that side (RFC 1143 "we want to disable"). */
  disable(side: Side, option: number): boolean {
    return this.apply(side, option, DISABLE);
  }

  /** One cell of the table; returns false for "-". */
  private apply(side: Side, option: number, event: Event): boolean {
    const slot = slotOf(side, option);
    const cell = TABLE[slot === -1 ? UNSUPPORTED : this.get(slot)]![event];
    if (cell === null) return false;
    if (slot !== -1) this.set(slot, cell.state);
    if (cell.send !== SEND_NOTHING) this.send(side, cell.send === SEND_ON, option);
    return true;
  }

  /** WILL/WONT for our side, DO/DONT for the peer's. */
  private send(side: Side, on: boolean, option: number): void {
    const command = side === US ? (on ? WILL : WONT) : on ? DO : DONT;
    this.out.sendNegotiation(command, option);
  }

  private get(slot: number): QState {
    return ((this.states >> (slot * BITS)) & MASK) as QState;
  }

  private set(slot: number, state: QState): void {
    const shift = slot * BITS;
    this.states = (this.states & ~(MASK << shift)) | (state << shift);
  }
}

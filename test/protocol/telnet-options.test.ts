import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  HIM,
  NO,
  type QState,
  TelnetOptions,
  US,
  WANTNO,
  WANTNO_OPPOSITE,
  WANTYES,
  WANTYES_OPPOSITE,
  YES,
} from "../../src/protocol/telnet-options.js";
import { DO, DONT, OPT_ECHO, OPT_LINEMODE, OPT_SGA, OPT_TIMING_MARK, WILL, WONT } from "../../src/protocol/telnet-parser.js";

const NAWS = 31;
const TTYPE = 24;

function options(): { options: TelnetOptions; sent: [number, number][] } {
  const sent: [number, number][] = [];
  return { options: new TelnetOptions({ sendNegotiation: (c, o) => sent.push([c, o]) }), sent };
}

describe("TelnetOptions: answers to a fresh connection", () => {
  const cases: { name: string; received: [number, number][]; answers: [number, number][] }[] = [
    { name: "DO ECHO is accepted", received: [[DO, OPT_ECHO]], answers: [[WILL, OPT_ECHO]] },
    { name: "DO SGA is accepted", received: [[DO, OPT_SGA]], answers: [[WILL, OPT_SGA]] },
    { name: "WILL SGA is accepted", received: [[WILL, OPT_SGA]], answers: [[DO, OPT_SGA]] },
    { name: "WILL ECHO (client echoing us) is refused", received: [[WILL, OPT_ECHO]], answers: [[DONT, OPT_ECHO]] },
    { name: "WILL LINEMODE is refused", received: [[WILL, OPT_LINEMODE]], answers: [[DONT, OPT_LINEMODE]] },
    { name: "WILL NAWS (the client's window size) is accepted", received: [[WILL, NAWS]], answers: [[DO, NAWS]] },
    { name: "DO NAWS (us telling a window size) is refused", received: [[DO, NAWS]], answers: [[WONT, NAWS]] },
    { name: "DO TTYPE is refused", received: [[DO, TTYPE]], answers: [[WONT, TTYPE]] },
    { name: "DONT on an option that is off changes nothing: no answer", received: [[DONT, OPT_ECHO]], answers: [] },
    { name: "WONT on an option that is off changes nothing: no answer", received: [[WONT, OPT_SGA]], answers: [] },
    {
      name: "DONT/WONT on unsupported options: no answer",
      received: [
        [DONT, 200],
        [WONT, 200],
      ],
      answers: [],
    },
    {
      name: "a repeated DO is answered once",
      received: [
        [DO, OPT_ECHO],
        [DO, OPT_ECHO],
        [DO, OPT_ECHO],
      ],
      answers: [[WILL, OPT_ECHO]],
    },
    {
      name: "DONT after DO turns it off, acknowledged",
      received: [
        [DO, OPT_ECHO],
        [DONT, OPT_ECHO],
        [DONT, OPT_ECHO],
      ],
      answers: [
        [WILL, OPT_ECHO],
        [WONT, OPT_ECHO],
      ],
    },
    {
      name: "every DO TIMING-MARK is answered (it is a question, not a state)",
      received: [
        [DO, OPT_TIMING_MARK],
        [DO, OPT_TIMING_MARK],
      ],
      answers: [
        [WILL, OPT_TIMING_MARK],
        [WILL, OPT_TIMING_MARK],
      ],
    },
    { name: "DONT TIMING-MARK: no answer", received: [[DONT, OPT_TIMING_MARK]], answers: [] },
    { name: "WILL TIMING-MARK (we never asked) is refused", received: [[WILL, OPT_TIMING_MARK]], answers: [[DONT, OPT_TIMING_MARK]] },
    {
      name: "Linux telnet `mode line` after `mode character`",
      received: [
        [DO, OPT_SGA],
        [DO, OPT_ECHO],
        [DONT, OPT_SGA],
        [WILL, OPT_LINEMODE],
        [DONT, OPT_ECHO],
      ],
      answers: [
        [WILL, OPT_SGA],
        [WILL, OPT_ECHO],
        [WONT, OPT_SGA],
        [DONT, OPT_LINEMODE],
        [WONT, OPT_ECHO],
      ],
    },
  ];
  for (const { name, received, answers } of cases) {
    test(name, { timeout: 5000 }, () => {
      const { options: o, sent } = options();
      for (const [command, option] of received) o.receive(command, option);
      assert.deepEqual(sent, answers);
    });
  }
});

describe("TelnetOptions: the Q method (RFC 1143) from every state", () => {
  // [start state, how to reach it from NO] for our side of ECHO.
  const reach: Record<QState, (o: TelnetOptions) => void> = {
    [NO]: () => {},
    [YES]: (o) => o.receive(DO, OPT_ECHO),
    [WANTYES]: (o) => o.enable(US, OPT_ECHO),
    [WANTYES_OPPOSITE]: (o) => (o.enable(US, OPT_ECHO), o.disable(US, OPT_ECHO)),
    [WANTNO]: (o) => (o.receive(DO, OPT_ECHO), o.disable(US, OPT_ECHO)),
    [WANTNO_OPPOSITE]: (o) => (o.receive(DO, OPT_ECHO), o.disable(US, OPT_ECHO), o.enable(US, OPT_ECHO)),
  };
  // RFC 1143 section 7, "us" side: (state, received) -> (new state, answer or null).
  const table: [QState, number, QState, number | null][] = [
    [NO, DO, YES, WILL],
    [YES, DO, YES, null],
    [WANTNO, DO, NO, null],
    [WANTNO_OPPOSITE, DO, YES, null],
    [WANTYES, DO, YES, null],
    [WANTYES_OPPOSITE, DO, WANTNO, WONT],
    [NO, DONT, NO, null],
    [YES, DONT, NO, WONT],
    [WANTNO, DONT, NO, null],
    [WANTNO_OPPOSITE, DONT, WANTYES, WILL],
    [WANTYES, DONT, NO, null],
    [WANTYES_OPPOSITE, DONT, NO, null],
  ];
  for (const [from, received, to, answer] of table) {
    test(`state ${from} + ${received === DO ? "DO" : "DONT"} -> state ${to}, answer ${answer ?? "none"}`, { timeout: 5000 }, () => {
      const { options: o, sent } = options();
      reach[from](o);
      assert.equal(o.state(US, OPT_ECHO), from);
      sent.length = 0;
      o.receive(received, OPT_ECHO);
      assert.equal(o.state(US, OPT_ECHO), to);
      assert.deepEqual(sent, answer === null ? [] : [[answer, OPT_ECHO]]);
    });
  }

  // The same section, our own wishes: (state, enable() or disable()) -> (new state, what is sent, what it returns).
  const wishes: [QState, "enable" | "disable", QState, number | null, boolean][] = [
    [NO, "enable", WANTYES, WILL, true],
    [YES, "enable", YES, null, false],
    [WANTNO, "enable", WANTNO_OPPOSITE, null, true],
    [WANTNO_OPPOSITE, "enable", WANTNO_OPPOSITE, null, false],
    [WANTYES, "enable", WANTYES, null, false],
    [WANTYES_OPPOSITE, "enable", WANTYES, null, true],
    [NO, "disable", NO, null, false],
    [YES, "disable", WANTNO, WONT, true],
    [WANTNO, "disable", WANTNO, null, false],
    [WANTNO_OPPOSITE, "disable", WANTNO, null, true],
    [WANTYES, "disable", WANTYES_OPPOSITE, null, true],
    [WANTYES_OPPOSITE, "disable", WANTYES_OPPOSITE, null, false],
  ];
  for (const [from, wish, to, sends, changed] of wishes) {
    test(`state ${from} + ${wish}() -> state ${to}, sends ${sends ?? "nothing"}`, { timeout: 5000 }, () => {
      const { options: o, sent } = options();
      reach[from](o);
      assert.equal(o.state(US, OPT_ECHO), from);
      sent.length = 0;
      assert.equal(o[wish](US, OPT_ECHO), changed);
      assert.equal(o.state(US, OPT_ECHO), to);
      assert.deepEqual(sent, sends === null ? [] : [[sends, OPT_ECHO]]);
    });
  }

  test("the peer's side is answered with DO / DONT from the same table", { timeout: 5000 }, () => {
    const { options: o, sent } = options();
    assert.equal(o.enable(HIM, NAWS), true);
    assert.equal(o.receive(WILL, NAWS), true, "the answer to our DO");
    assert.equal(o.receive(WILL, NAWS), false, "a repeat changes nothing");
    assert.equal(o.disable(HIM, NAWS), true);
    assert.equal(o.receive(WONT, NAWS), true);
    assert.equal(o.state(HIM, NAWS), NO);
    assert.deepEqual(sent, [
      [DO, NAWS],
      [DONT, NAWS],
    ]);
  });

  test("our own requests are sent once, then remembered", { timeout: 5000 }, () => {
    const { options: o, sent } = options();
    assert.equal(o.enable(US, OPT_ECHO), true);
    assert.equal(o.enable(US, OPT_ECHO), false);
    assert.equal(o.enable(US, 99), false, "unsupported: never asked for");
    assert.deepEqual(sent, [[WILL, OPT_ECHO]]);
    assert.equal(o.isEnabled(US, OPT_ECHO), false, "not on before the client agrees");
    o.receive(DO, OPT_ECHO);
    assert.equal(o.isEnabled(US, OPT_ECHO), true);
    assert.deepEqual(sent, [[WILL, OPT_ECHO]], "the DO was the answer: not answered again");
  });

  test("the sides are separate", { timeout: 5000 }, () => {
    const { options: o } = options();
    o.receive(WILL, OPT_SGA);
    assert.equal(o.isEnabled(HIM, OPT_SGA), true);
    assert.equal(o.isEnabled(US, OPT_SGA), false);
  });

  test("property: two Q-method ends never loop, and agree when quiet", { timeout: 30000 }, () => {
    // Our TelnetOptions against a peer that wants to turn options on and off
    // at random, with messages crossing in flight: the exchange must settle
    // within a bounded number of messages, with both ends agreeing.
    const option = fc.constantFrom(OPT_ECHO, OPT_SGA, OPT_LINEMODE, OPT_TIMING_MARK, NAWS);
    const action = fc.record({ peer: fc.boolean(), on: fc.boolean(), option, side: fc.constantFrom(US, HIM) });
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), fc.array(fc.boolean(), { maxLength: 200 }), (actions, order) => {
        const toServer: [number, number][] = [];
        const toPeer: [number, number][] = [];
        const server = new TelnetOptions({ sendNegotiation: (c, o) => toPeer.push([c, o]) });
        const peer = new PermissivePeer((c, o) => void toServer.push([c, o]));
        let messages = 0;
        let k = 0;
        const step = (): boolean => {
          const fromPeer = order[k++ % Math.max(order.length, 1)] ?? true;
          if (fromPeer && toServer.length > 0) {
            const [c, o] = toServer.shift()!;
            server.receive(c, o);
          } else if (toPeer.length > 0) {
            const [c, o] = toPeer.shift()!;
            peer.receive(c, o);
          } else if (toServer.length > 0) {
            const [c, o] = toServer.shift()!;
            server.receive(c, o);
          } else return false;
          messages++;
          return true;
        };
        for (const a of actions) {
          if (a.peer) peer.request(a.side === US ? "server" : "peer", a.option, a.on);
          else if (a.on) server.enable(a.side, a.option);
          else server.disable(a.side, a.option);
          step();
        }
        while (step()) assert.ok(messages < 10 * (actions.length + 1) + 10, "negotiation does not settle");
        for (const o of [OPT_ECHO, OPT_SGA, OPT_LINEMODE, NAWS]) {
          assert.equal(server.isEnabled(US, o), peer.isOn("server", o), `us ${o}`);
          assert.equal(server.isEnabled(HIM, o), peer.isOn("peer", o), `him ${o}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * A reference peer, written independently of TelnetOptions: the Q method of
 * RFC 1143 with a peer that agrees to every option. "server" is the server's
 * side of an option (we DO/DONT it), "peer" its own (it WILL/WONTs it).
 */
class PermissivePeer {
  private readonly q = new Map<string, "NO" | "YES" | "WANTNO" | "WANTNO_OPP" | "WANTYES" | "WANTYES_OPP">();
  constructor(private readonly send: (command: number, option: number) => void) {}
  isOn(side: "server" | "peer", option: number): boolean {
    return this.q.get(`${side}:${option}`) === "YES";
  }
  request(side: "server" | "peer", option: number, on: boolean): void {
    if (option === OPT_TIMING_MARK) return; // not a state; skipped in this model
    const key = `${side}:${option}`;
    const state = this.q.get(key) ?? "NO";
    const yes = side === "server" ? DO : WILL;
    const no = side === "server" ? DONT : WONT;
    if (on) {
      if (state === "NO") this.q.set(key, "WANTYES"), this.send(yes, option);
      else if (state === "WANTNO") this.q.set(key, "WANTNO_OPP");
      else if (state === "WANTYES_OPP") this.q.set(key, "WANTYES");
    } else {
      if (state === "YES") this.q.set(key, "WANTNO"), this.send(no, option);
      else if (state === "WANTNO_OPP") this.q.set(key, "WANTNO");
      else if (state === "WANTYES") this.q.set(key, "WANTYES_OPP");
    }
  }
  receive(command: number, option: number): void {
    if (option === OPT_TIMING_MARK) return; // the server's WILL TM answers; not a state
    const side = command === WILL || command === WONT ? "server" : "peer";
    const key = `${side}:${option}`;
    const state = this.q.get(key) ?? "NO";
    const positive = command === WILL || command === DO;
    const yes = side === "server" ? DO : WILL;
    const no = side === "server" ? DONT : WONT;
    if (positive) {
      if (state === "NO") this.q.set(key, "YES"), this.send(yes, option);
      else if (state === "WANTNO") this.q.set(key, "NO");
      else if (state === "WANTNO_OPP") this.q.set(key, "YES");
      else if (state === "WANTYES") this.q.set(key, "YES");
      else if (state === "WANTYES_OPP") this.q.set(key, "WANTNO"), this.send(no, option);
    } else {
      if (state === "YES") this.q.set(key, "NO"), this.send(no, option);
      else if (state === "WANTNO") this.q.set(key, "NO");
      else if (state === "WANTNO_OPP") this.q.set(key, "WANTYES"), this.send(yes, option);
      else if (state === "WANTYES" || state === "WANTYES_OPP") this.q.set(key, "NO");
    }
  }
}

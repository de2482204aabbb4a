/**
 * The `--balance` modes the worker tests run in on this Node: every mode it
 * has (reuseport only where reusePort is), and the one `auto` picks here.
 */
import { decideBalance, type Balance } from "../../src/cli/workers.js";
import { reusePortUnavailable } from "../../src/server/reuse-port.js";

export const BALANCES: readonly Balance[] = reusePortUnavailable() === null ? ["reuseport", "shared", "round-robin"] : ["shared", "round-robin"];

/** The mode `--balance auto` (the default) runs in on this Node. */
export const AUTO_BALANCE: Balance = decideBalance("auto").mode;

#!/usr/bin/python3
"""compare.py — run the standard name-echo workloads against several servers and print a
Markdown table: workload x server, absolute figure and ratio to c-epoll.

Every server is started fresh for every measurement, pinned to CPU 0 (taskset -c 0);
build/loadgen runs pinned to CPU 1. Servers are interleaved (each repeat runs every
server once per workload, in a rotated order) and every measurement is repeated
(--repeats, default 3); the table shows the median, a second table min/median/max.

Examples (from the bench folder, after `make`; `npm run bench:compare` adds name-echo):
    ./compare.py                                   # the peers, standard settings (~10 min on 2 cores)
    ./compare.py --servers go --workloads pingpong --repeats 1      # one quick check
    ./compare.py --servers c-epoll --target 'mine=node ../bin/name-echo serve --port {port} --name {name}'
    ./compare.py --quick                           # everything, short and once (~2 min)

Standard library only; run it with /usr/bin/python3 (or any python3 >= 3.8).
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
LOADGEN = os.path.join(BENCH, "build", "loadgen")
WORKLOADS = ["pingpong", "pipeline", "churn", "hold"]
# name -> (command template relative to the bench folder, workloads it takes part in)
PEERS = {
    "c-epoll": ("peers/c-epoll.sh {port} {name}", set(WORKLOADS)),
    "go": ("peers/go.sh {port} {name}", set(WORKLOADS)),
    "py-threads": ("peers/py-threads.sh {port} {name}", set(WORKLOADS)),
    "py-asyncio": ("peers/py-asyncio.sh {port} {name}", set(WORKLOADS)),
    "node-readline": ("peers/node-readline.sh {port} {name}", set(WORKLOADS)),
    "node-raw": ("peers/node-raw.sh {port} {name}", set(WORKLOADS)),
    "bun": ("peers/bun.sh {port} {name}", set(WORKLOADS)),
    # process per connection: only meaningful for connection-oriented workloads
    "socat-fork": ("peers/socat-fork.sh {port} {name}", {"pingpong", "churn"}),
}
SHELL_OPS = {"&&", "||", ";", "|", "&", ">", "<", ">>", "2>", "2>&1"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- process memory
def _children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return kids


def tree_pids(root):
    seen, todo = [], [root]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo += _children(p)
    return seen


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


CLK_TCK = os.sysconf("SC_CLK_TCK")


def tree_cpu_s(root):
    """CPU seconds used by the tree (user+sys, plus reaped children), summed."""
    total = 0
    for p in tree_pids(root):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            pass
    return total / CLK_TCK


def listen_drops():
    """Kernel counters: SYNs/ACKs dropped because a listen queue was full (system-wide)."""
    try:
        with open("/proc/net/netstat") as f:
            lines = f.read().splitlines()
        for head, vals in zip(lines[::2], lines[1::2]):
            if head.startswith("TcpExt:"):
                d = dict(zip(head.split()[1:], (int(v) for v in vals.split()[1:])))
                return d.get("ListenOverflows", 0), d.get("ListenDrops", 0)
    except (OSError, ValueError):
        pass
    return 0, 0


def tree_mem(root):
    """(VmRSS, VmHWM, process count) summed over the process tree, KiB."""
    pids = tree_pids(root)
    return (sum(status_kib(p, "VmRSS") for p in pids),
            sum(status_kib(p, "VmHWM") for p in pids), len(pids))


# ---------------------------------------------------------------- servers
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exchange(port, payload, expect_len, timeout=5.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        got, end = b"", time.time() + timeout
        while len(got) < expect_len and time.time() < end:
            s.settimeout(max(0.01, end - time.time()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            got += chunk
        return got


class Server:
    """One server process (tree), started pinned to a CPU in its own process group."""

    def __init__(self, label, template, name="Ali", cpu=0, logdir=None):
        self.label, self.template, self.name, self.cpu, self.logdir = label, template, name, cpu, logdir
        self.proc = None
        self.port = None
        self.logf = None

    def argv(self, port):
        cmd = self.template.replace("{port}", str(port)).replace("{name}", shlex.quote(self.name))
        toks = shlex.split(cmd)
        if any(t in SHELL_OPS for t in toks):
            return ["/bin/sh", "-c", cmd]
        return toks

    def start(self, tag="", timeout=15.0):
        self.port = free_port()
        argv = self.argv(self.port)
        if self.cpu is not None and shutil.which("taskset"):
            argv = ["taskset", "-c", str(self.cpu)] + argv
        if self.logdir:
            os.makedirs(self.logdir, exist_ok=True)
            self.logf = open(os.path.join(self.logdir, f"{self.label}{tag}.log"), "ab")
        out = self.logf or subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, cwd=BENCH, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode} at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"{self.label} did not listen on port {self.port} within {timeout}s")
        line = b"sanity-check"
        want = line + b" " + self.name.encode() + b"\r\n"
        got = exchange(self.port, line + b"\r\n", len(want))
        if got != want:
            self.stop()
            raise RuntimeError(f"{self.label} sanity check failed: sent {line!r}, got {got!r}")
        return self.port

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def mem(self):
        return tree_mem(self.proc.pid) if self.alive() else (0, 0, 0)

    def cpu_s(self):
        return tree_cpu_s(self.proc.pid) if self.alive() else 0.0

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        else:
            try:  # the leader is gone; forked children may still be there
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.logf:
            self.logf.close()
            self.logf = None
        self.proc = None


# ---------------------------------------------------------------- one measurement
def loadgen_args(wl, a, hold_conns=None):
    common = ["--warmup", str(a.warmup), "--line-len", str(a.line_len)]
    if wl == "pingpong":
        return ["pingpong", "--conns", str(a.pingpong_conns), "--duration", str(a.pingpong_secs)] + common
    if wl == "pipeline":
        return ["pipeline", "--conns", str(a.pipeline_conns), "--window", str(a.pipeline_window),
                "--duration", str(a.pipeline_secs)] + common
    if wl == "churn":
        return ["churn", "--workers", str(a.churn_workers), "--duration", str(a.churn_secs)] + common
    if wl == "hold":
        n = hold_conns or a.hold_conns
        return ["hold", "--conns", str(n), "--hold-secs", str(a.hold_secs), "--hold-after", "1.5",
                "--src-addrs", str(max(2, -(-n // 10000) + 1)), "--line-len", str(a.line_len)]
    raise ValueError(wl)


def loadgen_timeout(wl, a):
    if wl == "hold":
        return 60 + a.hold_secs + 30 + 1.5 + 30
    secs = {"pingpong": a.pingpong_secs, "pipeline": a.pipeline_secs, "churn": a.churn_secs}[wl]
    return 10 + a.warmup + secs + 2 + 30


def measure(server, wl, a, rep, hold_conns=None):
    rec = {"server": server.label, "workload": wl, "rep": rep, "ok": False}
    tag = f"-{wl}{'-' + str(hold_conns) if hold_conns else ''}-r{rep}"
    try:
        port = server.start(tag=tag)
    except Exception as e:  # noqa: BLE001 — any start failure is reported, not fatal
        rec["error"] = str(e)
        server.stop()
        return rec
    try:
        time.sleep(0.3)
        rss0, hwm0, _ = server.mem()
        rec["rss_idle_kib"] = rss0
        argv = loadgen_args(wl, a, hold_conns) + ["--port", str(port), "--name", server.name,
                                                  "--label", f"{server.label} {wl} r{rep}"]
        argv = [LOADGEN] + argv
        if a.loadgen_cpu is not None and shutil.which("taskset"):
            argv = ["taskset", "-c", str(a.loadgen_cpu)] + argv
        cpu0 = server.cpu_s()
        lo0 = listen_drops()
        p = subprocess.Popen(argv, cwd=BENCH, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        phase = {"now": "run"}
        errlines = []

        def read_err():
            for line in p.stderr:
                errlines.append(line.rstrip("\n"))
                if line.startswith("HOLD-OPEN"):
                    phase["now"] = "open"
                elif line.startswith("HOLD-REPLIED"):
                    phase["now"] = "replied"

        t = threading.Thread(target=read_err, daemon=True)
        t.start()
        samples = []  # (phase, rss, hwm, nproc)
        deadline = time.time() + loadgen_timeout(wl, a)
        while p.poll() is None and time.time() < deadline:
            rss, hwm, n = server.mem()
            samples.append((phase["now"], rss, hwm, n))
            time.sleep(0.2 if wl == "hold" else 0.5)  # fewer /proc walks while the server is busy
        if p.poll() is None:
            p.kill()
            rec["error"] = "loadgen timed out"
        out = p.stdout.read()
        p.wait()
        t.join(timeout=2)
        rec["server_cpu_s"] = server.cpu_s() - cpu0
        lo1 = listen_drops()
        rec["listen_overflows"] = lo1[0] - lo0[0]
        rss1, hwm1, _ = server.mem()
        rec["server_alive_after"] = server.alive()
        rec["loadgen_stderr"] = errlines[-8:]
        try:
            rec["loadgen"] = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            rec["error"] = rec.get("error") or f"no JSON from loadgen (exit {p.returncode})"
            return rec
        wall = rec["loadgen"].get("wall_s") or 0
        rec["server_cpu_frac"] = rec["server_cpu_s"] / wall if wall else None
        rec["rss_peak_kib"] = max([s[1] for s in samples] + [rss1, rss0])
        rec["hwm_end_kib"] = hwm1
        rec["procs_peak"] = max([s[3] for s in samples] + [1])
        if wl == "hold":
            held = [s[1] for s in samples if s[0] == "replied"] or [s[1] for s in samples if s[0] == "open"]
            opened = [s[1] for s in samples if s[0] == "open"]
            rec["rss_held_kib"] = max(held) if held else None
            rec["rss_open_kib"] = max(opened) if opened else None
            ok = rec["loadgen"].get("succeeded", 0)
            if held and ok:
                rec["per_conn_kib"] = (max(held) - rss0) / ok
            if opened and rec["loadgen"].get("opened"):
                rec["per_idle_conn_kib"] = (max(opened) - rss0) / rec["loadgen"]["opened"]
        rec["ok"] = "error" not in rec
        return rec
    finally:
        server.stop()


# ---------------------------------------------------------------- tables
def metrics_for(wl, a, hold_n=None):
    """(key, label, getter, unit, higher_is_better)"""
    lg = lambda k: (lambda r: r.get("loadgen", {}).get(k))  # noqa: E731
    lat = lambda k: (lambda r: r.get("loadgen", {}).get("lat_us", {}).get(k))  # noqa: E731
    mib = lambda k: (lambda r: (r.get(k) / 1024.0) if r.get(k) is not None else None)  # noqa: E731
    if wl == "pingpong":
        t = f"pingpong {a.pingpong_conns} conns"
        return [("pp_rate", f"{t}: msgs/s", lg("msgs_per_s"), "", True),
                ("pp_p50", f"{t}: p50 µs", lat("p50"), "", False),
                ("pp_p99", f"{t}: p99 µs", lat("p99"), "", False),
                ("pp_p999", f"{t}: p99.9 µs", lat("p999"), "", False),
                ("pp_rss", f"{t}: server RSS peak MiB", mib("rss_peak_kib"), "", False)]
    if wl == "pipeline":
        t = f"pipeline {a.pipeline_conns}x{a.pipeline_window}"
        return [("pl_rate", f"{t}: lines/s", lg("lines_per_s"), "", True),
                ("pl_rss", f"{t}: server RSS peak MiB", mib("rss_peak_kib"), "", False)]
    if wl == "churn":
        t = f"churn {a.churn_workers} workers"
        return [("ch_rate", f"{t}: conns/s", lg("conns_per_s"), "", True),
                ("ch_p99", f"{t}: connect→reply p99 µs", lat("p99"), "", False)]
    if wl == "hold":
        n = hold_n or a.hold_conns
        t = f"hold {n:,}"
        return [("ho_ok", f"{t}: replies ok", lg("succeeded"), "", True),
                ("ho_open", f"{t}: time to open all, s", lg("open_s"), "", False),
                ("ho_reply", f"{t}: time for all replies, s", lg("reply_s"), "", False),
                ("ho_idle", f"{t}: server RSS idle MiB", mib("rss_idle_kib"), "", False),
                ("ho_held", f"{t}: server RSS held MiB", mib("rss_held_kib"), "", False),
                ("ho_pc", f"{t}: KiB per connection", lambda r: r.get("per_conn_kib"), "", False)]
    return []


def fmt(v):
    if v is None:
        return "—"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and (abs(v) >= 1000 or v == 0)):
        return f"{int(v):,}"
    av = abs(v)
    if av >= 1000:
        return f"{v:,.0f}"
    if av >= 100:
        return f"{v:.0f}"
    if av >= 10:
        return f"{v:.1f}"
    if av >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def build_tables(records, servers, a, baseline="c-epoll"):
    """Median table (with ratio to the baseline) and min/median/max table.

    The ratio is the median over repeats of value(rep) / baseline(rep): each repeat runs
    all servers back to back, so a slow drift of the machine cancels out of the ratio.
    """
    rows_med, rows_noise = [], []
    groups = [(wl, None) for wl in a.workloads]
    if a.hold_big_done:
        groups.append(("hold", a.hold_big_done))

    def runs(s, wl, hold_n):
        return [r for r in records if r["server"] == s and r["workload"] == wl and r.get("hold_n") == hold_n]

    for wl, hold_n in groups:
        mets = metrics_for(wl, a, hold_n)
        if wl in ("pingpong", "pipeline", "churn"):
            cpu = lambda r: (r["loadgen"]["loadgen_cpu_frac"] * 100, r.get("server_cpu_frac"))  # noqa: E731
            mets = mets + [("cpu", f"{mets[0][1].split(':')[0]}: CPU % loadgen / server", cpu, "", None)]
        if wl == "hold":
            mets = mets + [("lo", f"{mets[0][1].split(':')[0]}: listen-queue overflows (kernel)",
                            lambda r: r.get("listen_overflows"), "", False)]
        for key, label, get, _u, higher in mets:
            cells_med, cells_noise = [], []
            base_by_rep = {}
            for r in runs(baseline, wl, hold_n):
                if r.get("ok") and key != "cpu" and get(r) is not None:
                    base_by_rep[r["rep"]] = get(r)
            for s in servers:
                rs = runs(s, wl, hold_n)
                good = [r for r in rs if r.get("ok") and get(r) is not None]
                if not good:
                    cells_med.append("failed" if rs else "—")
                    cells_noise.append("failed" if rs else "—")
                    continue
                if key == "cpu":
                    lc = median([get(r)[0] for r in good])
                    sc = median([get(r)[1] * 100 for r in good if get(r)[1] is not None])
                    low = sum(1 for r in good if get(r)[0] < 90 and (get(r)[1] or 0) * 100 < 90)
                    cells_med.append((f"{lc:.0f} / {sc:.0f}" if sc is not None else f"{lc:.0f} / ?")
                                     + (f" ⚠{low}" if low else ""))
                    cells_noise.append(cells_med[-1])
                    continue
                vals = [get(r) for r in good]
                m = median(vals)
                ratios = [get(r) / base_by_rep[r["rep"]] for r in good
                          if base_by_rep.get(r["rep"]) not in (None, 0)]
                ratio = f" ({median(ratios):.2f}×)" if ratios else ""
                cells_med.append(fmt(m) + ratio)
                if len(vals) > 1:
                    spread = (max(vals) - min(vals)) / m * 100 if m else 0
                    cells_noise.append(f"{fmt(min(vals))} / {fmt(m)} / {fmt(max(vals))} (±{spread / 2:.0f}%)")
                else:
                    cells_noise.append(fmt(vals[0]) + " (1 run)")
            arrow = "" if higher is None else (" ↑" if higher else " ↓")
            rows_med.append(f"| {label}{arrow} | " + " | ".join(cells_med) + " |")
            if key != "cpu":
                rows_noise.append(f"| {label} | " + " | ".join(cells_noise) + " |")
    head = "| workload: metric | " + " | ".join(servers) + " |\n|---|" + "---|" * len(servers)
    err_cells = []
    for s in servers:
        rs = [r for r in records if r["server"] == s]
        errs = sum(r.get("loadgen", {}).get("errors", 0) for r in rs)
        fails = sum(1 for r in rs if not r.get("ok"))
        crashed = sum(1 for r in rs if r.get("server_alive_after") is False)
        err_cells.append(f"{errs}" + (f", {fails} failed runs" if fails else "") +
                         (f", {crashed} crashes" if crashed else ""))
    rows_med.append("| reply errors seen by loadgen, all runs | " + " | ".join(err_cells) + " |")
    return head + "\n" + "\n".join(rows_med), head + "\n" + "\n".join(rows_noise)


# ---------------------------------------------------------------- main
def machine_facts():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass

    def ver(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            return "not found"

    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "python": ver(["/usr/bin/python3", "--version"]), "node": ver(["node", "--version"]),
            "go": ver(["go", "version"]), "gcc": ver(["gcc", "--version"]),
            "socat": ver(["socat", "-V"]) if shutil.which("socat") else "not found",
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)}


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
        except (ValueError, OSError):
            pass
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default=",".join(PEERS), help="comma list of built-in peers (default: all)")
    ap.add_argument("--target", action="append", default=[], metavar="LABEL=COMMAND",
                    help="extra server; COMMAND uses {port} and {name}, runs in the bench folder")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--name", default="Ali")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--line-len", type=int, default=24)
    ap.add_argument("--pingpong-conns", type=int, default=50)
    ap.add_argument("--pingpong-secs", type=float, default=5)
    ap.add_argument("--pipeline-conns", type=int, default=10)
    ap.add_argument("--pipeline-window", type=int, default=64)
    ap.add_argument("--pipeline-secs", type=float, default=5)
    ap.add_argument("--churn-workers", type=int, default=4)
    ap.add_argument("--churn-secs", type=float, default=5)
    ap.add_argument("--hold-conns", type=int, default=10000)
    ap.add_argument("--hold-secs", type=float, default=3)
    ap.add_argument("--hold-big", type=int, default=50000,
                    help="one extra hold run with this many connections (0: skip); capped by RLIMIT_NOFILE")
    ap.add_argument("--hold-big-servers", default="c-epoll,go,node-readline")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--loadgen-cpu", type=int, default=1)
    ap.add_argument("--no-pin", action="store_true", help="do not use taskset")
    ap.add_argument("--baseline", default="c-epoll")
    ap.add_argument("--out", default=None, help="results folder (default results/<timestamp>)")
    ap.add_argument("--quick", action="store_true", help="1 repeat, 2 s runs, hold 2000, no big hold")
    ap.add_argument("--from-raw", nargs="+", metavar="RAW_JSONL",
                    help="measure nothing: rebuild the tables from raw.jsonl files of earlier runs "
                         "(several files are pooled; give the same workload flags as those runs)")
    a = ap.parse_args()
    if a.quick:
        a.repeats = 1
        a.pingpong_secs = a.pipeline_secs = a.churn_secs = 2
        a.hold_conns, a.hold_secs, a.hold_big = 2000, 1, 0
    if a.no_pin:
        a.server_cpu = a.loadgen_cpu = None
    a.workloads = [w for w in a.workloads.split(",") if w]
    for w in a.workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w}")
    if a.from_raw:
        return report_from_raw(a)
    if not os.access(LOADGEN, os.X_OK):
        ap.error("build/loadgen missing: run `make -C bench` in the repository first")

    servers = {}
    for s in [s for s in a.servers.split(",") if s]:
        if s not in PEERS:
            ap.error(f"unknown peer {s} (known: {', '.join(PEERS)})")
        servers[s] = PEERS[s]
    for t in a.target:
        if "=" not in t:
            ap.error("--target wants LABEL=COMMAND")
        label, cmd = t.split("=", 1)
        servers[label.strip()] = (cmd.strip(), set(WORKLOADS))
    # skip peers whose tools are missing, say so
    missing = {}
    for s, (tmpl, _) in list(servers.items()):
        need = {"go": "build/go-server", "c-epoll": "build/c-epoll-server"}.get(s)
        if need and not os.access(os.path.join(BENCH, need), os.X_OK):
            missing[s] = f"{need} not built (make -C bench)"
        if s == "go" and missing.get(s) and not shutil.which("go"):
            missing[s] = "go not installed (apt-get install golang-go, then make -C bench)"
        if s == "socat-fork" and not shutil.which("socat"):
            missing[s] = "socat not installed"
        if s == "node-readline" and not shutil.which("node"):
            missing[s] = "node not installed"
    for s, why in missing.items():
        log(f"skipping {s}: {why}")
        del servers[s]

    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    out = a.out or os.path.join(BENCH, "results", stamp)
    os.makedirs(out, exist_ok=True)
    nofile = raise_nofile(max(a.hold_conns, a.hold_big) + 1000)
    facts = machine_facts()
    facts["nofile"] = nofile
    log(f"results -> {os.path.relpath(out, BENCH)}; RLIMIT_NOFILE {nofile}")

    big_n = 0
    if a.hold_big and "hold" in a.workloads:
        big_n = min(a.hold_big, nofile[0] - 200)
        if big_n < a.hold_big:
            log(f"hold-big: {a.hold_big} connections need that many descriptors per process; "
                f"RLIMIT_NOFILE hard limit is {nofile[1]} and cannot be raised here -> using {big_n}")
        if big_n <= a.hold_conns:
            big_n = 0
    a.hold_big_done = big_n or None

    plan = []
    names = list(servers)
    for rep in range(a.repeats):
        for wl in a.workloads:
            who = [s for s in names if wl in servers[s][1]]
            k = rep % max(1, len(who))
            for s in who[k:] + who[:k]:
                plan.append((s, wl, rep, None))
    if big_n:
        for s in [s for s in a.hold_big_servers.split(",") if s in servers]:
            plan.append((s, "hold", 0, big_n))
    est = 0
    for s, wl, rep, hn in plan:
        est += {"pingpong": a.pingpong_secs, "pipeline": a.pipeline_secs, "churn": a.churn_secs}.get(wl, 0)
        est += a.warmup + 1.5 if wl != "hold" else a.hold_secs + 6 + (hn or a.hold_conns) / 5000
    log(f"{len(plan)} measurements, roughly {est / 60:.1f} min")

    records = []
    t0 = time.time()
    raw = open(os.path.join(out, "raw.jsonl"), "w")
    for i, (s, wl, rep, hn) in enumerate(plan):
        srv = Server(s, servers[s][0], a.name, a.server_cpu, os.path.join(out, "logs"))
        rec = measure(srv, wl, a, rep, hn)
        rec["hold_n"] = hn
        records.append(rec)
        raw.write(json.dumps(rec) + "\n")
        raw.flush()
        lg = rec.get("loadgen", {})
        if wl == "hold":
            brief = (f"ok {lg.get('succeeded')}/{lg.get('conns')} open {lg.get('open_s')}s "
                     f"reply {lg.get('reply_s')}s per-conn {rec.get('per_conn_kib') or 0:.1f} KiB")
        else:
            brief = f"{lg.get('msgs_per_s', 0):,.0f}/s p99 {lg.get('lat_us', {}).get('p99')}µs"
        log(f"[{i + 1}/{len(plan)} {time.time() - t0:5.0f}s] {s:14} {wl:8}{'-' + str(hn) if hn else ''} r{rep}: "
            f"{brief} errors {lg.get('errors')}" + (f" ERROR {rec['error']}" if rec.get("error") else ""))
    raw.close()

    med, noise = build_tables(records, list(servers), a, a.baseline)
    took = time.time() - t0
    settings = (f"pingpong {a.pingpong_conns} conns {a.pingpong_secs:g}s; pipeline {a.pipeline_conns} conns "
                f"window {a.pipeline_window} {a.pipeline_secs:g}s; churn {a.churn_workers} workers "
                f"{a.churn_secs:g}s; hold {a.hold_conns} conns idle {a.hold_secs:g}s"
                + (f" (+ once {big_n})" if big_n else "") +
                f"; warmup {a.warmup:g}s; line {a.line_len} B + CRLF; repeats {a.repeats}; "
                f"server on CPU {a.server_cpu}, loadgen on CPU {a.loadgen_cpu}")
    md = (f"## name-echo baseline — {datetime.date.today().isoformat()}\n\n"
          f"Machine: {facts['nproc']} CPUs, {facts['cpu']}, kernel {facts['kernel']}. "
          f"Settings: {settings}. Took {took / 60:.1f} min.\n\n"
          f"Median of {a.repeats} runs. (×) = ratio to {a.baseline}: the median of the per-repeat ratios "
          f"(each repeat runs all servers back to back). ↑ higher is better, ↓ lower is better. "
          f"CPU % = CPU time / wall time of the run (loadgen on its core; server summed over its "
          f"process tree); ⚠k = k runs in which neither reached 90 % (both idle at times: likely disturbed "
          f"by the host). RSS = VmRSS summed over the server's process tree.\n\n"
          f"{med}\n\n### Noise: min / median / max (± half the spread, % of median)\n\n{noise}\n")
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "machine.json"), "w") as f:
        json.dump(facts, f, indent=1)
    print(md)
    log(f"wrote {os.path.relpath(os.path.join(out, 'table.md'), BENCH)} and raw.jsonl")


def report_from_raw(a):
    records, order = [], []
    for i, path in enumerate(a.from_raw):
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                r["rep"] = i * 1000 + r.get("rep", 0)  # pair each repeat with its own baseline run
                records.append(r)
                if r["server"] not in order:
                    order.append(r["server"])
    bigs = sorted({r["hold_n"] for r in records if r.get("hold_n")})
    a.hold_big_done = bigs[-1] if bigs else None
    present = {r["workload"] for r in records}
    a.workloads = [w for w in a.workloads if w in present]
    servers = [s for s in PEERS if s in order] + [s for s in order if s not in PEERS]
    n_rep = len({(r["rep"]) for r in records if r["server"] == a.baseline and r["workload"] == "pingpong"})
    med, noise = build_tables(records, servers, a, a.baseline)
    print(f"Pooled from {len(a.from_raw)} file(s): {', '.join(os.path.relpath(p) for p in a.from_raw)}; "
          f"{n_rep or '?'} runs per cell (hold-big: one per file).\n\n"
          f"Median; (×) = median of the per-repeat ratios to {a.baseline}. ↑ higher is better, ↓ lower is better. "
          f"⚠k in a CPU row = k runs in which neither loadgen nor server reached 90 % CPU (likely disturbed).\n\n"
          f"{med}\n\n### Noise: min / median / max (± half the spread, % of median)\n\n{noise}")


if __name__ == "__main__":
    main()

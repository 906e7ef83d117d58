#!/usr/bin/python3
"""The proxy section of `make bench`: shoal-proxy against the cluster it fronts.

Starts a 3-master cluster (shoal-node by default, or redis-server with --backend redis),
bin/shoal-proxy in front of it, and a standalone redis-server, all on free loopback ports
(P and P+10000 free, P+10000 < 32768 for cluster nodes). For SET and GET at -P 1 and
-P 16, and a 10-key MSET (cross-slot through the proxy: redis-benchmark's plain keys; one
slot straight at the cluster: `--cluster` adds a hash tag), it runs redis-benchmark

  * through the proxy                      -> ops/s, proxy CPU time per request
  * straight at the cluster (`--cluster`)  -> ops/s
  * at the standalone redis-server         -> ops/s, its CPU time per request

interleaved over rounds (the order rotates each round), and prints a markdown table of
medians with the two ratios the issue sets targets for: proxy CPU/request vs the
standalone redis-server's (target <= 0.8 at both depths) and -P 16 throughput through
the proxy vs straight at the cluster (target >= 0.85). CPU time is utime+stime of the
process (all threads) from /proc/PID/stat around each run.

It also runs PING_MBULK through the proxy (answered by the proxy itself) and at the
standalone redis-server, and prints the floor those allow (floor_report): the lowest
CPU ratio any forwarded request could reach, and the highest throughput ratio with the
machine fully busy.

Usage: /usr/bin/python3 tools/proxy_bench.py [--quick] [--rounds N] [--seconds S]
           [--backend shoal|redis] [--threads N] [--clients 50] [--tests set,get,mset]
           [--pipelines 1,16] [--no-floor] [--json FILE]
Environment: SHOAL_PROXY_BIN, SHOAL_NODE_BIN, REDIS_SERVER_BIN, BENCH_PORTS (default
21300-21999), PROXY_BENCH_BACKEND, PROXY_BENCH_THREADS, and BENCH_ROUNDS /
BENCH_SECONDS / BENCH_QUICK=1 / BENCH_CLIENTS as defaults.
"""

import argparse
import json
import os
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BENCH_LABELS, _die_with_parent, encode  # noqa: E402

# PING_MBULK is the floor: the proxy answers it itself, so it costs the client-side
# read, parse and write that any forwarded command pays too, and nothing more.
LABELS = {**BENCH_LABELS, "ping_mbulk": "PING_MBULK"}

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
REDIS_BASE_ARGS = ["--save", "", "--appendonly", "no"]
BUS_OFFSET = 10000
TARGET_CPU = 0.8
TARGET_TPUT = 0.85
FLOOR = "ping_mbulk"


# ---------------------------------------------------------------------------
# Processes

def _bindable(port):
    s = socket.socket()
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


_used = set()


def free_port(bus=False):
    lo, hi = (int(x) for x in os.environ.get("BENCH_PORTS", "21300-21999").split("-"))
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(2000):
        p = rng.randint(lo, hi)
        if p in _used or not _bindable(p):
            continue
        if bus and (p + BUS_OFFSET >= 32768 or not _bindable(p + BUS_OFFSET)):
            continue
        _used.add(p)
        return p
    raise RuntimeError(f"no free port in {lo}-{hi}")


def _abs(binary):
    return (shutil.which(binary) or binary) if os.sep not in binary else os.path.abspath(binary)


def command(port, *args, timeout=10.0):
    """One command on a fresh connection; returns the raw reply bytes (first reply)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(encode(*args))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk
            head, _, rest = data.partition(b"\r\n")
            if not head.startswith(b"$") or len(rest) >= int(head[1:]) + 2:
                return data


class Proc:
    """A process on a free port in its own temp dir; stop() kills it by PID."""

    def __init__(self, name, argv_fn, bus=False):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"shoal-pbench-{name}-")
        self.port = free_port(bus)
        self.argv = argv_fn(self.port, self.dir)
        self.logf = open(os.path.join(self.dir, "log"), "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd=self.dir,
                                     preexec_fn=_die_with_parent)

    @property
    def pid(self):
        return self.proc.pid

    def wait_ready(self, timeout=15.0, check=lambda r: r == b"+PONG\r\n", cmd=("PING",)):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                last = command(self.port, *cmd, timeout=1.0)
                if check(last):
                    return self
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} ({shlex.join(self.argv)}) not ready ({last!r}):\n"
                           f"{self.log()[-3000:]}")

    def log(self):
        try:
            with open(os.path.join(self.dir, "log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cpu_ticks(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster(kind, masters=3):
    binary = _abs(os.environ.get("SHOAL_NODE_BIN", os.path.join(REPO, "bin", "shoal-node"))
                  if kind == "shoal" else os.environ.get("REDIS_SERVER_BIN", "redis-server"))
    base = REDIS_BASE_ARGS if os.path.basename(binary).startswith("redis-server") else []

    def argv(port, d):
        return [binary, "--port", str(port), "--bind", HOST, "--dir", d, *base,
                "--cluster-enabled", "yes", "--cluster-node-timeout", "5000",
                "--cluster-config-file", "nodes.conf"]
    nodes = []
    try:
        for i in range(masters):
            nodes.append(Proc(f"{kind}-{i + 1}", argv, bus=True).wait_ready())
        r = subprocess.run(["redis-cli", "--cluster", "create", *[f"{HOST}:{n.port}" for n in nodes],
                            "--cluster-replicas", "0", "--cluster-yes"], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        if r.returncode != 0 or "[OK] All 16384 slots covered" not in r.stdout:
            raise RuntimeError(f"cluster create failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        for n in nodes:
            n.wait_ready(20, check=lambda r: b"cluster_state:ok" in r, cmd=("CLUSTER", "INFO"))
        return nodes
    except Exception:
        for n in nodes:
            n.stop()
        raise


def start_proxy(nodes, threads):
    binary = _abs(os.environ.get("SHOAL_PROXY_BIN", os.path.join(REPO, "bin", "shoal-proxy")))
    if not os.path.exists(binary):
        raise RuntimeError(f"{binary} not found (make bin/shoal-proxy)")
    seeds = ",".join(f"{HOST}:{n.port}" for n in nodes)

    def argv(port, d):
        return [binary, "--port", str(port), "--bind", HOST, "--seeds", seeds,
                "--threads", str(threads)]
    p = Proc("proxy", argv)
    p.wait_ready()
    # Routable everywhere before measuring: one SET per 1024 slots.
    for i in range(64):
        k = f"warm:{i}"
        p.wait_ready(10, check=lambda r: r == b"+OK\r\n", cmd=("SET", k, "1"))
        command(p.port, "DEL", k)
    return p


def start_redis():
    binary = _abs(os.environ.get("REDIS_SERVER_BIN", "redis-server"))
    return Proc("redis", lambda port, d: [binary, "--port", str(port), "--bind", HOST,
                                          "--dir", d, *REDIS_BASE_ARGS]).wait_ready()


# ---------------------------------------------------------------------------
# Benchmark

def run_benchmark(port, test, n, pipeline, clients, keyspace, cluster=False, cpu_of=(),
                  side=(), timeout=300):
    """One redis-benchmark run; returns dict(rps, p50, seconds, cpu_us_per_req,
    side_us_per_req, client_us_per_req): the CPU of the processes in cpu_of (None when
    empty), of those in side (other processes on the request path), and of
    redis-benchmark itself, each in µs per request."""
    argv = ["redis-benchmark", "-h", HOST, "-p", str(port), "--csv", "-t", test, "-n", str(n),
            "-P", str(pipeline), "-c", str(clients), "-r", str(keyspace)]
    if cluster:
        argv.insert(1, "--cluster")
    t0 = sum(p.cpu_ticks() for p in cpu_of)
    s0 = sum(p.cpu_ticks() for p in side)
    c0 = os.times()
    w0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - w0
    c1 = os.times()
    t1 = sum(p.cpu_ticks() for p in cpu_of)
    s1 = sum(p.cpu_ticks() for p in side)
    out = r.stdout.decode(errors="replace")
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({r.returncode}):\n{out}\n"
                           f"{r.stderr.decode(errors='replace')}")
    row = None
    for line in out.splitlines():
        cols = [c.strip('"') for c in line.split('","')]
        if cols and cols[0] == LABELS[test]:
            row = cols
    if row is None:
        raise RuntimeError(f"no CSV row for {test} in:\n{out}")
    client = (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system)
    return {"rps": float(row[1]), "p50": float(row[4]), "seconds": wall,
            "cpu_us_per_req": ((t1 - t0) / CLK_TCK * 1e6 / n) if cpu_of else None,
            "side_us_per_req": (s1 - s0) / CLK_TCK * 1e6 / n,
            "client_us_per_req": client * 1e6 / n}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def floor_report(results, pipelines, tests, rows):
    """What the targets allow at best on this machine, from the same run.

    CPU: a forwarded GET or SET does everything the proxy does for a PING it answers
    itself (read, parse, reply) plus the backend round trip, so the proxy's PING CPU per
    request is a floor for its GET/SET CPU ratio.

    Throughput: through the proxy, every request costs the machine at least
    redis-benchmark's CPU + the nodes' CPU (both measured in the proxy runs) + that
    PING floor. With all cores busy (no idle at all), ops/s can't exceed
    cores / that sum; over the measured straight-at-the-cluster ops/s, that is a
    ceiling for the throughput ratio."""
    cores = os.cpu_count() or 1
    print()
    print("Floor (same run): PING_MBULK through the proxy is answered by the proxy itself, "
          "so it costs only the client-side read, parse and write that a forwarded request "
          "also pays.")
    print()
    print("| P | proxy PING µs CPU/req | redis PING µs CPU/req | test | redis µs CPU/req | "
          "CPU ratio floor | best-case proxy/cluster ops/s |")
    print("|---|---|---|---|---|---|---|")
    for p in pipelines:
        fl = median([r["cpu_us_per_req"] for r in results[(FLOOR, p, "proxy")]])
        rp = median([r["cpu_us_per_req"] for r in results[(FLOOR, p, "redis")]])
        for t in tests:
            rd = median([r["cpu_us_per_req"] for r in results[(t, p, "redis")]])
            px = results[(t, p, "proxy")]
            machine = fl + median([r["side_us_per_req"] + r["client_us_per_req"] for r in px])
            ceiling = cores * 1e6 / machine / median([r["rps"] for r in results[(t, p, "cluster")]])
            shown = f"{ceiling:.2f}" if p >= 16 else "(no target at this depth)"
            print(f"| {p} | {fl:.2f} | {rp:.2f} | {LABELS[t]} | {rd:.2f} | {fl / rd:.2f} | "
                  f"{shown} |")
            for row in rows:
                if row["test"] == t and row["pipeline"] == p:
                    row.update(cpu_ratio_floor=fl / rd, throughput_ceiling=ceiling)
    print()
    print("Where the time goes (µs of CPU per request, medians): through the proxy, "
          "redis-benchmark + proxy + nodes; straight at the cluster, redis-benchmark + nodes.")
    print()
    print("| test | P | through the proxy | straight at the cluster |")
    print("|---|---|---|---|")
    for p in pipelines:
        for t in tests:
            px, cl = results[(t, p, "proxy")], results[(t, p, "cluster")]
            b1, x1, n1 = (median([r[k] for r in px]) for k in
                          ("client_us_per_req", "cpu_us_per_req", "side_us_per_req"))
            b2, n2 = (median([r[k] for r in cl]) for k in ("client_us_per_req", "cpu_us_per_req"))
            print(f"| {LABELS[t]} | {p} | {b1 + x1 + n1:.2f} = {b1:.2f} + {x1:.2f} + {n1:.2f} | "
                  f"{b2 + n2:.2f} = {b2:.2f} + {n2:.2f} |")


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", default=env("BENCH_QUICK") == "1")
    ap.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "0")) or None)
    ap.add_argument("--seconds", type=float, default=float(env("BENCH_SECONDS", "0")) or None)
    ap.add_argument("--backend", default=env("PROXY_BENCH_BACKEND", "shoal"),
                    choices=["shoal", "redis"])
    ap.add_argument("--threads", type=int, default=int(env("PROXY_BENCH_THREADS", "1")))
    ap.add_argument("--clients", type=int, default=int(env("BENCH_CLIENTS", "50")))
    ap.add_argument("--tests", default="set,get,mset")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--keyspace", type=int, default=100000)
    ap.add_argument("--no-floor", dest="floor", action="store_false",
                    help="skip the PING floor runs (see floor_report)")
    ap.add_argument("--json", help="also write raw results here")
    a = ap.parse_args()
    rounds = a.rounds or (1 if a.quick else 3)
    seconds = a.seconds or (0.3 if a.quick else 1.5)
    tests = [t.strip() for t in a.tests.split(",") if t.strip()]
    pipelines = [int(p) for p in a.pipelines.split(",")]
    if not shutil.which("redis-benchmark"):
        sys.exit("redis-benchmark not found (apt-get install redis-tools)")

    nodes, proxy, redis = [], None, None
    results = {}  # (test, pipeline, target) -> [run]
    try:
        nodes = start_cluster(a.backend)
        proxy = start_proxy(nodes, a.threads)
        redis = start_redis()
        targets = {
            "proxy": dict(port=proxy.port, cpu_of=[proxy], side=nodes),
            "cluster": dict(port=nodes[0].port, cluster=True, cpu_of=nodes),
            "redis": dict(port=redis.port, cpu_of=[redis]),
        }
        print(f"# proxy: {shlex.join(proxy.argv)}\n# cluster: {a.backend} x{len(nodes)} "
              f"{[n.port for n in nodes]}\n# standalone: {shlex.join(redis.argv)}",
              file=sys.stderr)
        # Requests per run: ~seconds for the fastest target (the slowest capped at 4x).
        ns = {}
        for p in pipelines:
            for t in tests:
                probe = 5000 * p
                rates = [run_benchmark(test=t, n=probe, pipeline=p, clients=a.clients,
                                       keyspace=a.keyspace, **kw)["rps"]
                         for kw in targets.values()]
                n = min(int(max(rates) * seconds), int(min(rates) * seconds * 4))
                ns[(t, p)] = max(1000, n // 1000 * 1000)
            if a.floor:
                ns[(FLOOR, p)] = max(ns[(t, p)] for t in tests if t != "mset" or len(tests) == 1)
        order = list(targets)
        for rnd in range(rounds):
            for p in pipelines:
                for i, t in enumerate(tests):
                    k = (rnd + i) % len(order)
                    for name in order[k:] + order[:k]:
                        res = run_benchmark(test=t, n=ns[(t, p)], pipeline=p, clients=a.clients,
                                            keyspace=a.keyspace, **targets[name])
                        results.setdefault((t, p, name), []).append(res)
                        cpu = res["cpu_us_per_req"]
                        print(f"round {rnd + 1}/{rounds} P={p:<2} {t:5s} {name:8s} "
                              f"{res['rps']:>12,.0f} ops/s  {cpu:.2f} us CPU/req", file=sys.stderr)
                if a.floor:
                    for name in (("proxy", "redis") if rnd % 2 == 0 else ("redis", "proxy")):
                        res = run_benchmark(test=FLOOR, n=ns[(FLOOR, p)], pipeline=p,
                                            clients=a.clients, keyspace=a.keyspace,
                                            **targets[name])
                        results.setdefault((FLOOR, p, name), []).append(res)
                        print(f"round {rnd + 1}/{rounds} P={p:<2} ping  {name:8s} "
                              f"{res['rps']:>12,.0f} ops/s  {res['cpu_us_per_req']:.2f} us "
                              f"CPU/req", file=sys.stderr)
    finally:
        for proc in [proxy, redis, *nodes]:
            if proc:
                proc.stop()

    print()
    print(f"shoal-proxy ({a.threads} threads) in front of a 3-master {a.backend} cluster; "
          f"rounds={rounds}, clients={a.clients}, keyspace={a.keyspace}, ~{seconds}s per run; "
          f"medians. MSET: 10 keys, cross-slot through the proxy, one slot with --cluster.")
    print()
    print("| test | P | proxy ops/s | cluster ops/s | proxy/cluster | standalone redis ops/s | "
          "proxy µs CPU/req | redis µs CPU/req | CPU ratio | cluster nodes µs CPU/req "
          "(direct) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows, verdicts = [], []
    for p in pipelines:
        for t in tests:
            px, cl, rd = (results[(t, p, x)] for x in ("proxy", "cluster", "redis"))
            px_rps, cl_rps, rd_rps = (median([r["rps"] for r in x]) for x in (px, cl, rd))
            px_cpu, rd_cpu, cl_cpu = (median([r["cpu_us_per_req"] for r in x])
                                      for x in (px, rd, cl))
            tput, cpu = px_rps / cl_rps, px_cpu / rd_cpu
            print(f"| {BENCH_LABELS[t]} | {p} | {px_rps:,.0f} | {cl_rps:,.0f} | {tput:.2f} | "
                  f"{rd_rps:,.0f} | {px_cpu:.2f} | {rd_cpu:.2f} | {cpu:.2f} | {cl_cpu:.2f} |")
            rows.append({"test": t, "pipeline": p, "requests": ns[(t, p)], "proxy": px,
                         "cluster": cl, "redis": rd, "throughput_ratio": tput,
                         "cpu_ratio": cpu})
            if t in ("set", "get"):
                verdicts.append(f"{BENCH_LABELS[t]} -P{p}: CPU/req {cpu:.2f}x standalone "
                                f"({'met' if cpu <= TARGET_CPU else 'NOT met'}, target "
                                f"<= {TARGET_CPU})")
                if p >= 16:
                    verdicts.append(f"{BENCH_LABELS[t]} -P{p}: throughput {tput:.2f}x cluster "
                                    f"({'met' if tput >= TARGET_TPUT else 'NOT met'}, "
                                    f"target >= {TARGET_TPUT})")
    print()
    for v in verdicts:
        print(f"- {v}")
    if a.floor:
        floor_report(results, pipelines, [t for t in tests if t in ("set", "get")], rows)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rounds": rounds, "clients": a.clients, "backend": a.backend,
                       "threads": a.threads, "rows": rows,
                       "floor": {f"{name} P{p}": runs for (t, p, name), runs in results.items()
                                 if t == FLOOR}}, f, indent=1)


if __name__ == "__main__":
    main()

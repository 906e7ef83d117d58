#!/usr/bin/python3
"""Throughput and CPU-cost comparison of shoal-node against redis-server.

Starts both servers on free loopback ports with the same settings (no persistence),
runs redis-benchmark against each, interleaved and repeated (the server that goes first
alternates), and prints a markdown table with the median ops/s of each, their ratio, and
each server process's CPU time per request (utime+stime from /proc/PID/stat around each
redis-benchmark run).

Usage: /usr/bin/python3 tools/bench.py [--quick] [--rounds N] [--seconds S]
           [--tests set,get,...] [--pipelines 1,16] [--clients 50] [--json FILE]
Environment: SHOAL_NODE_BIN, SHOAL_NODE_ARGS, REDIS_SERVER_BIN, BENCH_PORTS (default
21300-21999), and BENCH_ROUNDS / BENCH_SECONDS / BENCH_TESTS / BENCH_PIPELINES /
BENCH_CLIENTS / BENCH_QUICK=1 as defaults for the options.
"""

import argparse
import ctypes
import json
import os
import random
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "127.0.0.1"
REDIS_BASE_ARGS = ["--save", "", "--appendonly", "no"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
BENCH_LABELS = {  # redis-benchmark -t name -> the label it prints
    "set": "SET", "get": "GET", "incr": "INCR", "lpush": "LPUSH", "lpop": "LPOP",
    "sadd": "SADD", "hset": "HSET", "zadd": "ZADD", "mset": "MSET (10 keys)",
}


# ---------------------------------------------------------------------------
# Servers (shared with tools/memcheck.py)

def _bindable(port):
    s = socket.socket()
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(used=set()):
    lo, hi = (int(x) for x in os.environ.get("BENCH_PORTS", "21300-21999").split("-"))
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(1000):
        p = rng.randint(lo, hi)
        if p not in used and _bindable(p):
            used.add(p)
            return p
    raise RuntimeError(f"no free port in {lo}-{hi}")


def _die_with_parent():
    try:  # PR_SET_PDEATHSIG: never leave servers behind if this script is killed
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


class Proc:
    """A server process on a free port with its own temp dir; stop() kills by PID."""

    def __init__(self, name, binary, extra=()):
        # Runs with cwd = its temp dir: make relative paths and bare names absolute.
        binary = (shutil.which(binary) or binary) if os.sep not in binary else os.path.abspath(binary)
        self.name, self.binary = name, binary
        self.dir = tempfile.mkdtemp(prefix=f"shoal-bench-{name}-")
        self.port = free_port()
        argv = [binary, "--port", str(self.port), "--bind", HOST, "--dir", self.dir]
        if os.path.basename(binary).startswith("redis-server"):
            argv += REDIS_BASE_ARGS
        argv += list(extra)
        self.argv = argv
        self.log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir,
                                     preexec_fn=_die_with_parent)
        self._wait_ready(10.0)

    @property
    def pid(self):
        return self.proc.pid

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.command("PING", timeout=1.0) == b"+PONG\r\n":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        with open(os.path.join(self.dir, "server.log"), "rb") as f:
            log = f.read().decode("utf-8", "replace")[-3000:]
        raise RuntimeError(f"{self.name} ({shlex.join(self.argv)}) did not start:\n{log}")

    def command(self, *args, timeout=10.0):
        """One command on a fresh connection; returns the raw first reply line(s)."""
        with socket.create_connection((HOST, self.port), timeout=timeout) as s:
            s.sendall(encode(*args))
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data

    def info(self, section=""):
        with socket.create_connection((HOST, self.port), timeout=10) as s:
            s.sendall(encode("INFO", section) if section else encode("INFO"))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                head, _, rest = data.partition(b"\r\n")
                if head.startswith(b"$") and len(rest) >= int(head[1:]) + 2:
                    break
            body = data.partition(b"\r\n")[2].decode("utf-8", "replace")
        out = {}
        for line in body.splitlines():
            if ":" in line and not line.startswith("#"):
                k, _, v = line.partition(":")
                out[k] = v.strip()
        return out

    def cpu_ticks(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (all threads)

    def rss_bytes(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def shoal_binary():
    return os.environ.get("SHOAL_NODE_BIN", os.path.join(REPO, "bin", "shoal-node"))


def redis_binary():
    return os.environ.get("REDIS_SERVER_BIN", "/usr/bin/redis-server")


def start_pair():
    """(shoal, redis) started with the same settings."""
    shoal = Proc("shoal", shoal_binary(), shlex.split(os.environ.get("SHOAL_NODE_ARGS", "")))
    try:
        redis = Proc("redis", redis_binary())
    except Exception:
        shoal.stop()
        raise
    return shoal, redis


# ---------------------------------------------------------------------------
# Benchmark

def run_benchmark(srv, test, n, pipeline, clients, keyspace, timeout=300):
    """One redis-benchmark run; returns dict(rps, p50, cpu_us_per_req, seconds)."""
    argv = ["redis-benchmark", "-h", HOST, "-p", str(srv.port), "--csv", "-t", test,
            "-n", str(n), "-P", str(pipeline), "-c", str(clients), "-r", str(keyspace)]
    t0 = srv.cpu_ticks()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, timeout=timeout)
    wall = time.monotonic() - w0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t1 = srv.cpu_ticks()
    # How busy redis-benchmark itself was: near 100% means the client, not the
    # server, sets the pace (the case at -P 1 on two cores).
    client_busy = ((c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)) / wall
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({r.returncode}):\n"
                           f"{r.stdout.decode()}\n{r.stderr.decode()}")
    row = None
    for line in r.stdout.decode().splitlines():
        cols = [c.strip('"') for c in line.split('","')]
        if cols and cols[0] == BENCH_LABELS[test]:
            row = cols
    if row is None:
        raise RuntimeError(f"no CSV row for {test} in:\n{r.stdout.decode()}")
    return {"rps": float(row[1]), "p50": float(row[4]), "seconds": wall,
            "client_busy": client_busy,
            "cpu_us_per_req": (t1 - t0) / CLK_TCK * 1e6 / n}


def prefill_list(srv, n):
    """LPOP needs elements: fill redis-benchmark's key "mylist" with n items."""
    with socket.create_connection((HOST, srv.port), timeout=30) as s:
        batch, sent = 1000, 0
        while sent < n:
            k = min(batch, n - sent)
            s.sendall(encode("RPUSH", "mylist", *(["xxx"] * k)))
            data = b""
            while not data.endswith(b"\r\n"):
                data += s.recv(4096)
            sent += k


def calibrate(servers, tests, pipelines, clients, keyspace, seconds):
    """Requests per run so the faster server needs ~seconds (slower capped at 4x)."""
    ns = {}
    for p in pipelines:
        for t in tests:
            if t == "lpop":
                continue
            probe = 5000 * p
            rates = [run_benchmark(s, t, probe, p, clients, keyspace)["rps"] for s in servers]
            n = int(max(rates) * seconds)
            n = min(n, int(min(rates) * seconds * 4))
            ns[(t, p)] = max(1000, n // 1000 * 1000)
        if "lpop" in tests:
            ns[("lpop", p)] = ns.get(("lpush", p)) or ns[(tests[0], p)]
    for s in servers:
        s.command("FLUSHALL")
    return ns


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", default=env("BENCH_QUICK") == "1",
                    help="1 round of ~0.3 s per test (smoke run)")
    ap.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "0")) or None)
    ap.add_argument("--seconds", type=float, default=float(env("BENCH_SECONDS", "0")) or None)
    ap.add_argument("--tests", default=env("BENCH_TESTS", ",".join(BENCH_LABELS)))
    ap.add_argument("--pipelines", default=env("BENCH_PIPELINES", "1,16"))
    ap.add_argument("--clients", type=int, default=int(env("BENCH_CLIENTS", "50")))
    ap.add_argument("--keyspace", type=int, default=100000)
    ap.add_argument("--json", help="also write raw results here")
    a = ap.parse_args()
    rounds = a.rounds or (1 if a.quick else 7)
    seconds = a.seconds or (0.3 if a.quick else 1.0)
    tests = [t.strip() for t in a.tests.split(",") if t.strip()]
    for t in tests:
        if t not in BENCH_LABELS:
            ap.error(f"unknown test {t}; known: {','.join(BENCH_LABELS)}")
    pipelines = [int(p) for p in a.pipelines.split(",")]
    if not shutil.which("redis-benchmark"):
        sys.exit("redis-benchmark not found (apt-get install redis-tools)")

    shoal, redis = start_pair()
    servers = {"shoal": shoal, "redis": redis}
    results = {}  # (test, pipeline, server) -> list of run dicts
    try:
        print(f"# shoal-node vs redis-server: {shlex.join(shoal.argv)}  |  "
              f"{shlex.join(redis.argv)}", file=sys.stderr)
        ns = calibrate([shoal, redis], tests, pipelines, a.clients, a.keyspace, seconds)
        for rnd in range(rounds):
            for s in servers.values():
                s.command("FLUSHALL")
            for p in pipelines:
                for i, t in enumerate(tests):
                    order = ["shoal", "redis"] if (rnd + i) % 2 == 0 else ["redis", "shoal"]
                    for name in order:
                        srv = servers[name]
                        if t == "lpop":
                            srv.command("DEL", "mylist")
                            prefill_list(srv, ns[(t, p)])
                        res = run_benchmark(srv, t, ns[(t, p)], p, a.clients, a.keyspace)
                        results.setdefault((t, p, name), []).append(res)
                        print(f"round {rnd + 1}/{rounds} P={p} {t:6s} {name:5s} "
                              f"{res['rps']:>12,.0f} ops/s  "
                              f"{res['cpu_us_per_req']:.2f} us CPU/req", file=sys.stderr)
    finally:
        shoal.stop()
        redis.stop()

    rows = []
    print()
    print(f"rounds={rounds}, clients={a.clients}, keyspace={a.keyspace}, "
          f"~{seconds}s per run; ops/s and CPU are medians over rounds, ratios are "
          f"medians of the per-round (back-to-back) ratios")
    print()
    print("| test | P | requests | shoal ops/s | redis ops/s | ratio | shoal us CPU/req | "
          "redis us CPU/req | CPU ratio | shoal p50 ms | redis p50 ms | client busy shoal/redis |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ratios, cpu_ratios = [], []
    for p in pipelines:
        for t in tests:
            sh, rd = results[(t, p, "shoal")], results[(t, p, "redis")]
            s_rps, r_rps = median([x["rps"] for x in sh]), median([x["rps"] for x in rd])
            s_cpu = median([x["cpu_us_per_req"] for x in sh])
            r_cpu = median([x["cpu_us_per_req"] for x in rd])
            # Paired: round i of shoal against round i of redis, then the median.
            ratio = median([x["rps"] / y["rps"] for x, y in zip(sh, rd) if y["rps"]])
            cratio = median([x["cpu_us_per_req"] / y["cpu_us_per_req"]
                             for x, y in zip(sh, rd) if y["cpu_us_per_req"]])
            ratios.append(ratio)
            if cratio == cratio and cratio > 0:
                cpu_ratios.append(cratio)
            print(f"| {BENCH_LABELS[t]} | {p} | {ns[(t, p)]} | {s_rps:,.0f} | {r_rps:,.0f} | "
                  f"{ratio:.2f} | {s_cpu:.2f} | {r_cpu:.2f} | {cratio:.2f} | "
                  f"{median([x['p50'] for x in sh]):.3f} | "
                  f"{median([x['p50'] for x in rd]):.3f} | "
                  f"{median([x['client_busy'] for x in sh]):.0%} / "
                  f"{median([x['client_busy'] for x in rd]):.0%} |")
            rows.append({"test": t, "pipeline": p, "requests": ns[(t, p)],
                         "shoal": sh, "redis": rd, "ratio": ratio, "cpu_ratio": cratio})
    print()
    if ratios:
        print(f"geometric mean: throughput ratio {statistics.geometric_mean(ratios):.2f}, "
              f"CPU/req ratio {statistics.geometric_mean(cpu_ratios):.2f}"
              if cpu_ratios else "")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rounds": rounds, "clients": a.clients, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()

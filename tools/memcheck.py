#!/usr/bin/python3
"""Memory comparison of shoal-node against redis-server on the same data.

For each dataset, starts a fresh pair of servers (same settings, no persistence), loads
the data with pipelined raw RESP writes, and reports INFO used_memory and the process RSS
(/proc/PID/status VmRSS) before and after, with the ratio shoal/redis:
  strings: 1M keys "key:%012d" with 16-byte values
  hashes:  100k hashes "hash:%012d" with 10 fields "f0".."f9", 8-byte values

Usage: /usr/bin/python3 tools/memcheck.py [--scale 0.1] [--only strings|hashes]
Environment: SHOAL_NODE_BIN, SHOAL_NODE_ARGS, REDIS_SERVER_BIN, BENCH_PORTS,
MEMCHECK_SCALE (default 1.0).
"""

import argparse
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import HOST, encode, start_pair  # noqa: E402

BATCH = 5000


def load(srv, commands, expect_prefix):
    """Pipeline an iterator of encoded commands; every reply must start with
    expect_prefix (all replies here are single-line).  Returns the reply count."""
    s = socket.create_connection((HOST, srv.port), timeout=60)
    s.setblocking(False)
    pending, sent, replies, inbuf, outbuf = 0, 0, 0, b"", b""
    it = iter(commands)
    done = False
    deadline = time.monotonic() + 600
    try:
        while not done or outbuf or replies < sent:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{srv.name}: load timed out")
            if not outbuf and not done and sent - replies < 4 * BATCH:
                chunk = []
                for _ in range(BATCH):
                    c = next(it, None)
                    if c is None:
                        done = True
                        break
                    chunk.append(c)
                sent += len(chunk)
                outbuf = b"".join(chunk)
            r, w, _ = select.select([s], [s] if outbuf else [], [], 5)
            if w:
                n = s.send(outbuf)
                outbuf = outbuf[n:]
            if r:
                data = s.recv(1 << 20)
                if not data:
                    raise RuntimeError(f"{srv.name} closed the connection")
                inbuf += data
                lines = inbuf.split(b"\r\n")
                inbuf = lines.pop()
                for line in lines:
                    if not line.startswith(expect_prefix):
                        raise RuntimeError(f"{srv.name}: unexpected reply {line[:200]!r}")
                replies += len(lines)
    finally:
        s.close()
    return replies


def gen_strings(n):
    for i in range(n):
        yield encode(b"SET", b"key:%012d" % i, b"val:%012d" % i)  # 16-byte value


def gen_hashes(n):
    for i in range(n):
        args = [b"HSET", b"hash:%012d" % i]
        for j in range(10):
            args += [b"f%d" % j, b"%08d" % (i * 10 + j)]
        yield encode(*args)


DATASETS = {
    "strings": ("strings, 16 B values", 1_000_000, gen_strings, b"+OK"),
    "hashes": ("hashes of 10 fields", 100_000, gen_hashes, b":10"),
}


def measure(srv):
    info = srv.info("memory")
    return int(info.get("used_memory", 0)), srv.rss_bytes()


def mb(x):
    return f"{x / 1048576:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=float(os.environ.get("MEMCHECK_SCALE", "1")))
    ap.add_argument("--only", choices=list(DATASETS))
    a = ap.parse_args()
    rows = []
    for key, (label, count, gen, ok) in DATASETS.items():
        if a.only and a.only != key:
            continue
        n = max(1, int(count * a.scale))
        shoal, redis = start_pair()
        try:
            res = {}
            for name, srv in (("shoal", shoal), ("redis", redis)):
                um0, rss0 = measure(srv)
                t0 = time.monotonic()
                got = load(srv, gen(n), ok)
                secs = time.monotonic() - t0
                time.sleep(0.5)  # let lazy frees / background work settle
                um1, rss1 = measure(srv)
                dbsize = srv.command("DBSIZE").strip()
                if got != n or dbsize != b":%d" % n:
                    raise RuntimeError(f"{name}: {got} replies, DBSIZE {dbsize!r}, expected {n}")
                res[name] = {"um0": um0, "um1": um1, "rss0": rss0, "rss1": rss1, "secs": secs}
                print(f"{label}: {name} loaded {n} in {secs:.1f}s", file=sys.stderr)
        finally:
            shoal.stop()
            redis.stop()
        rows.append((label, n, res))

    print()
    print("| dataset | keys | metric | shoal | redis | ratio shoal/redis |")
    print("|---|---|---|---|---|---|")
    for label, n, res in rows:
        s, r = res["shoal"], res["redis"]
        metrics = [
            ("used_memory MB", s["um1"], r["um1"], mb),
            ("used_memory delta MB", s["um1"] - s["um0"], r["um1"] - r["um0"], mb),
            ("used_memory bytes/key", (s["um1"] - s["um0"]) / n, (r["um1"] - r["um0"]) / n,
             lambda x: f"{x:.1f}"),
            ("RSS MB", s["rss1"], r["rss1"], mb),
            ("RSS delta MB", s["rss1"] - s["rss0"], r["rss1"] - r["rss0"], mb),
            ("load seconds", s["secs"], r["secs"], lambda x: f"{x:.2f}"),
        ]
        for name, sv, rv, f in metrics:
            ratio = f"{sv / rv:.2f}" if rv else "n/a"
            print(f"| {label} | {n} | {name} | {f(sv)} | {f(rv)} | {ratio} |")


if __name__ == "__main__":
    main()

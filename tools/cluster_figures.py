#!/usr/bin/python3
"""Cluster-mode figures: shoal-node against redis-server 7.0, same settings, same run.

For each kind (all nodes "shoal" or all "redis"; cluster-node-timeout 2000, no
persistence, 127.0.0.1), alternating which kind goes first in each round:

1. create -> ok: 3 fresh masters are started and left idle 2.5 s (so Redis's 2 s
   boot-time "writable delay" is not what gets measured), then the time from launching
   `redis-cli --cluster create ... --cluster-yes` to cluster_state:ok on all 3 nodes
   (CLUSTER INFO polled every 10 ms). The redis-cli run time is shown too; it includes
   redis-cli's own 1 s join-poll sleeps, the same for both kinds.
2. kill -> FAIL: in a 6-master cluster, a master is killed with SIGKILL and the time to
   the `fail` flag in CLUSTER NODES of all 5 survivors is measured (polled every 20 ms);
   the node is restarted and the cluster waited back to ok before the next kill (a
   different master each time).
3. idle bus cost of the same 6-master cluster, after it is ok and settled, over
   --idle-seconds (default 20) with no client traffic at all:
   * CPU: utime+stime from /proc/PID/stat of the 6 node processes, summed, as % of
     one core;
   * bytes: TCP payload bytes acknowledged on every established socket whose local or
     peer port is one of the 6 bus ports (`ss -tin`, tcp_info bytes_acked, summed over
     both ends of each connection = bytes sent by all nodes), delta over the window;
     implementation-independent (counts what actually crossed the sockets, whatever
     syscalls each server uses); connections closed inside the window would be missed
     and are reported if any;
   * messages: cluster_stats_messages_sent from CLUSTER INFO (read just before and
     after the window, outside it), summed; bytes per message = bytes / messages.

Prints a markdown table: medians (min-max) for both kinds and the shoal/redis ratio.

Usage: /usr/bin/python3 tools/cluster_figures.py [--rounds N] [--creates N] [--kills N]
           [--idle-seconds S] [--quick] [--json FILE]
Environment: SHOAL_NODE_BIN, SHOAL_NODE_ARGS, REDIS_SERVER_BIN (as the tests), and
CLUSTER_FIGURES_PORTS (default 22000-22767: P and P+10000 must be free, P+10000 < 32768).
Nodes are started and stopped by PID; every wait is bounded.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["SHOAL_TEST_PORTS"] = os.environ.get("CLUSTER_FIGURES_PORTS", "22000-22767")
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from cluster_util import (REDIS_CLI, ClusterNode, cluster_create, describe_views,  # noqa: E402
                          views_consistent, wait_for, wait_state)

CLK_TCK = os.sysconf("SC_CLK_TCK")
NODE_TIMEOUT = 2000
KINDS = ("shoal", "redis")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Nodes

class Fleet:
    """The nodes of one measurement; stop() kills them by PID and removes their dirs."""

    def __init__(self, kind, n):
        self.nodes = [ClusterNode(kind, node_timeout=NODE_TIMEOUT, name=f"{kind}-{i}")
                      for i in range(n)]

    def start(self):
        for node in self.nodes:
            node.start()
        return self.nodes

    def stop(self):
        for node in self.nodes:
            try:
                node.cleanup()
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                log(f"stopping {node.name}: {e!r}")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # fields 14, 15: utime, stime


def bus_socket_bytes(bus_ports):
    """{(local, peer): bytes_acked} for established TCP sockets touching a bus port."""
    out = subprocess.run(["ss", "-tinH", "state", "established"], capture_output=True,
                         text=True, timeout=10).stdout.splitlines()
    res, key = {}, None
    for line in out:
        if line and not line[0].isspace():
            f = line.split()
            local, peer = f[2], f[3]
            lp, pp = int(local.rsplit(":", 1)[1]), int(peer.rsplit(":", 1)[1])
            key = (local, peer) if (lp in bus_ports or pp in bus_ports) else None
            if key:
                res[key] = 0
        elif key:
            for tok in line.split():
                if tok.startswith("bytes_acked:"):
                    res[key] = int(tok.split(":", 1)[1])
    return res


def messages_sent(nodes):
    return sum(n.info().get("cluster_stats_messages_sent", 0) for n in nodes)


# ---------------------------------------------------------------------------
# Measurements

def measure_create(kind):
    fleet = Fleet(kind, 3)
    try:
        nodes = fleet.start()
        time.sleep(2.5)
        t0 = time.monotonic()
        cli = subprocess.Popen([REDIS_CLI, "--cluster", "create", *[n.addr for n in nodes],
                                "--cluster-replicas", "0", "--cluster-yes"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
        t_ok = None
        deadline = t0 + 60
        while time.monotonic() < deadline:
            try:
                if all(n.state() == "ok" for n in nodes):
                    t_ok = time.monotonic() - t0
                    break
            except Exception:  # noqa: BLE001 - not ready yet
                pass
            time.sleep(0.01)
        try:
            out, _ = cli.communicate(timeout=max(1.0, deadline - time.monotonic()))
            t_cli = time.monotonic() - t0
        except subprocess.TimeoutExpired:
            cli.kill()
            out, _ = cli.communicate()
            t_cli = None
        if t_ok is None or cli.returncode != 0:
            raise RuntimeError(f"{kind}: create did not reach ok (rc {cli.returncode}):\n"
                               f"{out.decode(errors='replace')[-2000:]}\n{describe_views(nodes)}")
        return t_ok, t_cli
    finally:
        fleet.stop()


def measure_six(kind, kills, idle_seconds):
    """Builds a 6-master cluster; returns (idle figures dict, [kill->FAIL seconds])."""
    fleet = Fleet(kind, 6)
    try:
        nodes = fleet.start()
        cluster_create(nodes, timeout=60)
        wait_state(nodes, "ok", 30)
        ids = [n.myid() for n in nodes]
        wait_for(lambda: views_consistent(nodes, ids), 20, interval=0.1,
                 what=f"{kind}: consistent 6-node view", describe=lambda: describe_views(nodes))
        time.sleep(2.0)  # let the post-create burst settle
        idle = measure_idle(nodes, idle_seconds)

        fails = []
        for i in range(kills):
            victim = nodes[i % len(nodes)]
            survivors = [n for n in nodes if n is not victim]
            vid = victim.myid()
            t0 = time.monotonic()
            victim.kill9()

            def all_fail():
                return all("fail" in s.view()[vid].flags for s in survivors)
            wait_for(all_fail, 30, interval=0.02, what=f"{kind}: FAIL on all survivors",
                     describe=lambda: describe_views(survivors))
            fails.append(time.monotonic() - t0)
            victim.restart()
            wait_state(nodes, "ok", 30)
            wait_for(lambda: all("fail" not in n.view()[vid].flags for n in nodes), 30,
                     what=f"{kind}: FAIL cleared", describe=lambda: describe_views(nodes))
        return idle, fails
    finally:
        fleet.stop()


def measure_idle(nodes, seconds):
    bus_ports = {n.port + 10000 for n in nodes}
    pids = [n.pid for n in nodes]
    msgs0 = messages_sent(nodes)
    sock0 = bus_socket_bytes(bus_ports)
    cpu0 = sum(cpu_ticks(p) for p in pids)
    t0 = time.monotonic()
    time.sleep(seconds)
    cpu1 = sum(cpu_ticks(p) for p in pids)
    sock1 = bus_socket_bytes(bus_ports)
    elapsed = time.monotonic() - t0
    msgs1 = messages_sent(nodes)
    sent = sum(v - sock0.get(k, 0) for k, v in sock1.items())
    closed = len(set(sock0) - set(sock1))
    msgs = msgs1 - msgs0
    return {
        "cpu_pct": 100.0 * (cpu1 - cpu0) / CLK_TCK / elapsed,
        "bytes_per_s": sent / elapsed,
        "msgs_per_s": msgs / elapsed,
        "bytes_per_msg": sent / msgs if msgs else 0.0,
        "sockets": len(sock1),
        "sockets_closed": closed,
    }


# ---------------------------------------------------------------------------
# Report

def summary(values, fmt):
    if not values:
        return "-", None
    med = statistics.median(values)
    if len(values) == 1:
        return format(med, fmt), med
    return f"{med:{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})", med


def table(res, args):
    rows = [
        ("create -> cluster_state:ok on all, 3 masters (s)", "create_ok", ".2f"),
        ("redis-cli --cluster create run time, 3 masters (s)", "create_cli", ".2f"),
        ("kill -9 -> FAIL on all 5 survivors, 6 masters (s)", "fail", ".2f"),
        (f"idle 6 masters: CPU of all nodes (% of one core, {args.idle_seconds:g} s window)",
         "cpu_pct", ".2f"),
        ("idle 6 masters: bus bytes/s sent by all nodes", "bytes_per_s", ",.0f"),
        ("idle 6 masters: bus messages/s sent by all nodes", "msgs_per_s", ".1f"),
        ("idle 6 masters: bytes per bus message", "bytes_per_msg", ".0f"),
    ]
    lines = ["| metric (median, min-max) | shoal | redis | shoal/redis |",
             "|---|---:|---:|---:|"]
    for label, key, fmt in rows:
        s_txt, s_med = summary(res["shoal"][key], fmt)
        r_txt, r_med = summary(res["redis"][key], fmt)
        ratio = f"{s_med / r_med:.2f}" if s_med is not None and r_med else "-"
        lines.append(f"| {label} | {s_txt} | {r_txt} | {ratio} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2, help="rounds, alternating kind order (2)")
    ap.add_argument("--creates", type=int, default=3, help="3-master creates per kind per round (3)")
    ap.add_argument("--kills", type=int, default=3, help="kills per 6-master cluster (3)")
    ap.add_argument("--idle-seconds", type=float, default=20.0, help="idle window (20)")
    ap.add_argument("--quick", action="store_true", help="1 round, 1 create, 1 kill, 5 s idle")
    ap.add_argument("--json", help="also write the raw samples here")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.creates, args.kills, args.idle_seconds = 1, 1, 1, 5.0

    res = {k: {"create_ok": [], "create_cli": [], "fail": [], "cpu_pct": [], "bytes_per_s": [],
               "msgs_per_s": [], "bytes_per_msg": [], "sockets": [], "sockets_closed": []}
           for k in KINDS}
    for rnd in range(args.rounds):
        order = KINDS if rnd % 2 == 0 else KINDS[::-1]
        for kind in order:
            for i in range(args.creates):
                t_ok, t_cli = measure_create(kind)
                res[kind]["create_ok"].append(t_ok)
                if t_cli is not None:
                    res[kind]["create_cli"].append(t_cli)
                log(f"round {rnd + 1} {kind}: create #{i + 1}: ok after {t_ok:.3f}s "
                    f"(redis-cli {t_cli:.3f}s)")
            idle, fails = measure_six(kind, args.kills, args.idle_seconds)
            for k, v in idle.items():
                res[kind][k].append(v)
            res[kind]["fail"].extend(fails)
            log(f"round {rnd + 1} {kind}: idle cpu {idle['cpu_pct']:.2f}% "
                f"{idle['bytes_per_s']:.0f} B/s {idle['msgs_per_s']:.1f} msg/s "
                f"({idle['sockets']} bus sockets, {idle['sockets_closed']} closed); "
                f"kill->FAIL {', '.join(f'{x:.2f}s' for x in fails)}")

    print(f"Cluster figures: cluster-node-timeout {NODE_TIMEOUT} ms, {args.rounds} round(s) "
          f"alternating kind order; create = 3 masters x {args.creates}/round; FAIL = "
          f"6 masters, {args.kills} kill(s)/round; idle = 6 masters, {args.idle_seconds:g} s "
          f"window/round.\n")
    print(table(res, args))
    closed = sum(sum(res[k]["sockets_closed"]) for k in KINDS)
    if closed:
        print(f"\nNote: {closed} bus connection(s) closed inside an idle window; their bytes "
              f"are not counted.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()

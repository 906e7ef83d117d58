"""The proxy's topology observer (proxy/topology.c) against real clusters.

tests/tools/topowatch runs the observer alone and prints each map it publishes as a JSON
line (built here from source if stale, like busprobe). Clusters run on client ports
18000-18999 (bus ports 28000-28999), started by cluster_util, stopped by PID.

Per cluster kind (module fixture, "redis" = Debian redis-server 7.0, "shoal" =
bin/shoal-node when its cluster mode works):
* the learned map equals CLUSTER SLOTS exactly (owner per range, addresses, replicas) and
  the configEpochs in CLUSTER NODES -- epochs only come over the bus, so this also shows
  the map came from PONGs;
* the observer never joins: every node's CLUSTER NODES lists only the cluster's nodes;
* with a 60 s ping interval the map goes stale after a reshard until topology_refresh_now
  (SIGUSR1 in topowatch) makes it follow at once;
* after `redis-cli --cluster reshard` the map follows within a few seconds;
* discovery from the bus alone (the seed's client port is dead, only its bus port given);
* after kill -9 of a master: with replicas the map points at the promoted replica soon
  after the cluster promotes it; without replicas (shoal-node has no replication yet) the
  dead master keeps its slots and is flagged noreply, then fail.
Without a cluster: CLUSTER SHARDS refused -> CLUSTER SLOTS bootstrap, and the fallback
bootstrap when no bus port answers, against a small fake RESP server.
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import HOST, RespError
from cluster_util import (ClusterFactory, attach, describe_views, parse_cluster_nodes, redis_cli,
                          wait_for, wait_state)

REPO = Path(__file__).resolve().parents[2]
PORT_LO, PORT_HI = 18000, 18999
NODE_TIMEOUT = 2000
C_SRC = ["tests/tools/topowatch.c", "proxy/topology.c", "common/slotmap.c", "common/busproto.c",
         "common/mem.c", "common/buf.c", "common/util.c", "common/log.c"]
H_SRC = ["proxy/topology.h", "common/slotmap.h", "common/busproto.h", "common/mem.h",
         "common/buf.h", "common/util.h", "common/log.h"]


# ---------------------------------------------------------------------------
# topowatch binary: Makefile target build/tools/topowatch, rebuilt here if stale.

def _topowatch_path():
    env = os.environ.get("TOPOWATCH_BIN")
    if env:
        return env
    out = REPO / "build" / "tools" / "topowatch"
    newest = max((REPO / s).stat().st_mtime for s in C_SRC + H_SRC)
    if not out.exists() or out.stat().st_mtime < newest:
        out.parent.mkdir(parents=True, exist_ok=True)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libevent", "hiredis"],
                               capture_output=True, text=True, timeout=30).stdout.split()
        fd, tmp = tempfile.mkstemp(prefix="topowatch.", dir=str(out.parent))
        os.close(fd)
        cmd = ["gcc", "-std=gnu11", "-O1", "-g", "-Icommon", "-Iproxy", "-o", tmp, *C_SRC,
               *flags, "-lpthread", "-lm"]
        r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            os.unlink(tmp)
            pytest.fail(f"building topowatch failed:\n{r.stderr}")
        os.replace(tmp, out)  # atomic: parallel runs never see a half-written binary
    return str(out)


@pytest.fixture(scope="module")
def topowatch_bin():
    return _topowatch_path()


# ---------------------------------------------------------------------------
# Ports in our range (P and P+10000 both free)

_handed_out = set()


def _bindable(port):
    s = socket.socket()
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_ports(n):
    got = []
    start = PORT_LO + (os.getpid() * 13) % (PORT_HI - PORT_LO + 1)
    for i in range(PORT_HI - PORT_LO + 1):
        p = PORT_LO + (start - PORT_LO + i) % (PORT_HI - PORT_LO + 1)
        if p in _handed_out:
            continue
        if _bindable(p) and _bindable(p + 10000):
            _handed_out.add(p)
            got.append(p)
            if len(got) == n:
                return got
    pytest.skip(f"no {n} free port pairs in {PORT_LO}-{PORT_HI}")


# ---------------------------------------------------------------------------
# A running topowatch

class Watch:
    """topowatch in the background; a thread collects its JSON lines."""

    def __init__(self, binary, seeds, *args, seconds=600):
        fd, self.err_path = tempfile.mkstemp(prefix="topowatch-", suffix=".log")
        self.err = os.fdopen(fd, "wb")
        argv = [binary, "--seconds", str(seconds), "--verbose", *map(str, args), *seeds]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.err,
                                     stdin=subprocess.DEVNULL)
        self.lock = threading.Lock()
        self.events = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        start = wait_for(lambda: self.first("start"), 10, what="topowatch start line")
        self.observer_id = start["observer_id"]

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "garbage", "line": line.decode(errors="replace")}
            with self.lock:
                self.events.append(ev)

    def first(self, kind):
        with self.lock:
            return next((e for e in self.events if e["event"] == kind), None)

    def maps(self):
        with self.lock:
            return [e for e in self.events if e["event"] == "map"]

    def latest(self):
        m = self.maps()
        return m[-1] if m else None

    def refresh(self):
        self.proc.send_signal(signal.SIGUSR1)

    def log(self):
        self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        """SIGTERM, bounded wait; returns the final stats event."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(5)
        self.err.close()
        with self.lock:
            stats = next((e for e in self.events if e["event"] == "stats"), None)
        try:
            os.unlink(self.err_path)
        except OSError:
            pass
        return stats


def describe_watch(w):
    m = w.latest()
    brief = None
    if m:
        brief = {"version": m["version"], "source": m["source"], "ranges": m["ranges"],
                 "nodes": [(n["id"][:8], n["role"], n["epoch"], n["flags"], (n["master"] or "")[:8])
                           for n in m["nodes"]]}
    return f"topowatch latest map: {brief}\ntopowatch log tail:\n{w.log()[-3000:]}"


# ---------------------------------------------------------------------------
# The cluster's own view

def slots_view(node):
    """CLUSTER SLOTS of one node -> (ranges [(start, end, master_id)], {master_id: addr},
    {master_id: frozenset(replica ids)})."""
    r = node.call("CLUSTER", "SLOTS")
    if isinstance(r, RespError):
        return None
    ranges, addrs, replicas = [], {}, {}
    for item in sorted(r, key=lambda x: x[0]):
        start, end, master = item[0], item[1], item[2]
        mid = master[2]
        ranges.append((start, end, mid))
        addrs[mid] = (master[0], master[1])
        replicas.setdefault(mid, set()).update(rep[2] for rep in item[3:])
    return ranges, addrs, {k: frozenset(v) for k, v in replicas.items()}


def cluster_truth(nodes):
    """The common CLUSTER SLOTS view of all alive nodes, or None while they disagree."""
    views = []
    for n in nodes:
        if not n.alive():
            continue
        try:
            views.append(slots_view(n))
        except Exception:  # noqa: BLE001 - a node in the middle of something: not yet
            return None
    if not views or any(v is None or v != views[0] for v in views):
        return None
    return views[0]


def merge_ranges(ranges):
    """CLUSTER SLOTS lists one entry per contiguous run of an owner: merge adjacent equal."""
    out = []
    for s, e, o in sorted(ranges):
        if out and out[-1][2] == o and out[-1][1] + 1 == s:
            out[-1] = (out[-1][0], e, o)
        else:
            out.append((s, e, o))
    return out


def map_matches(m, truth):
    """Our map says exactly what CLUSTER SLOTS says: owner per range (unassigned runs
    aside), the masters' addresses, each master's available replicas."""
    if not m or not truth:
        return False
    ranges, addrs, replicas = truth
    ours = [(s, e, o) for s, e, o in m["ranges"] if o is not None]
    if ours != merge_ranges(ranges):
        return False
    byid = {n["id"]: n for n in m["nodes"]}
    for mid, (ip, port) in addrs.items():
        n = byid.get(mid)
        if not n or n["role"] != "master" or (n["ip"], n["port"]) != (ip, port):
            return False
        ok_replicas = {r for r in n["replicas"] if "fail" not in byid[r]["flags"]}
        if ok_replicas != set(replicas.get(mid, ())):
            return False
    return True


def wait_matches(w, nodes, timeout, what):
    state = {}

    def ok():
        truth = cluster_truth(nodes)
        state["truth"] = truth
        return truth if map_matches(w.latest(), truth) else None
    return wait_for(ok, timeout, interval=0.05, what=what,
                    describe=lambda: f"CLUSTER SLOTS: {state.get('truth')}\n{describe_watch(w)}\n"
                                     f"{describe_views([n for n in nodes if n.alive()])}")


# ---------------------------------------------------------------------------
# Cluster fixture: one cluster per kind for the whole module

class Env:
    def __init__(self, kind, nodes, replicas, watch):
        self.kind, self.nodes, self.replicas, self.watch = kind, nodes, replicas, watch

    def alive(self):
        return [n for n in self.nodes if n.alive()]

    def masters(self):
        view = parse_cluster_nodes(self.alive()[0].ok("CLUSTER", "NODES"))
        ms = [v for v in view.values() if "master" in v.flags and "fail" not in v.flags and v.slots]
        return sorted(ms, key=lambda v: v.slots[0][0])

    def node_by_id(self, nid):
        for n in self.nodes:
            if n.alive() and n.myid() == nid:
                return n
        return None


def _start_nodes(factory, kind, count):
    ports = free_ports(count)
    nodes = []
    for p in ports:
        try:
            nodes.append(factory.node(kind, port=p, node_timeout=NODE_TIMEOUT))
        except pytest.fail.Exception as e:
            if kind == "shoal":
                pytest.skip(f"bin/shoal-node --cluster-enabled yes does not start a cluster node "
                            f"yet: {str(e)[:300]}")
            raise
    return nodes


def _supports_replication(node):
    r = node.call("CLUSTER", "REPLICATE", "0" * 40)
    return not (isinstance(r, RespError) and "unknown subcommand" in str(r).lower())


@pytest.fixture(scope="module", params=["redis", "shoal"])
def env(request, topowatch_bin):
    kind = request.param
    if kind == "redis" and not shutil.which(os.environ.get("REDIS_SERVER_BIN", "redis-server")):
        pytest.skip("redis-server not installed")
    if kind == "shoal" and not (REPO / "bin" / "shoal-node").exists():
        pytest.skip("bin/shoal-node not built")
    factory = ClusterFactory(request)
    watch = None
    try:
        first = _start_nodes(factory, kind, 1)
        replicas = _supports_replication(first[0])
        nodes = first + _start_nodes(factory, kind, 5 if replicas else 2)
        r = redis_cli("--cluster", "create", *[n.addr for n in nodes], "--cluster-replicas",
                      "1" if replicas else "0", "--cluster-yes", timeout=60)
        out = r.stdout + r.stderr
        if r.returncode != 0 or "[OK] All 16384 slots covered" not in out:
            if kind == "shoal":
                pytest.skip(f"redis-cli --cluster create fails on shoal-node:\n{out[-1500:]}")
            pytest.fail(f"cluster create failed:\n{out[-3000:]}")
        wait_state(nodes, "ok", 30)
        # Replicas are listed by CLUSTER SLOTS once synced: wait for the full picture.
        want = 3 if replicas else 0

        def settled():
            t = cluster_truth(nodes)
            return t if t and sum(len(v) for v in t[2].values()) == want else None
        wait_for(settled, 30, interval=0.1, what="all nodes agree on CLUSTER SLOTS",
                 describe=lambda: describe_views(nodes))
        watch = Watch(topowatch_bin, [nodes[0].addr])
        yield Env(kind, nodes, replicas, watch)
    finally:
        if watch:
            watch.stop()
        factory.teardown()


@pytest.fixture(autouse=True)
def _attach_logs(request):
    if "env" in request.fixturenames:
        attach(request, request.getfixturevalue("env").nodes)


def reshard(env, src_id, dst_id, count):
    r = redis_cli("--cluster", "reshard", env.alive()[0].addr, "--cluster-from", src_id,
                  "--cluster-to", dst_id, "--cluster-slots", str(count), "--cluster-yes",
                  timeout=120)
    assert r.returncode == 0, f"reshard failed:\n{(r.stdout + r.stderr)[-3000:]}"


# ---------------------------------------------------------------------------
# Tests on a real cluster

@pytest.mark.timeout_s(60)
def test_initial_map_matches_cluster(env):
    w = env.watch
    wait_matches(w, env.nodes, 10, "topowatch map == CLUSTER SLOTS")
    # configEpochs only travel on the bus: once they match, the map came from PONGs.
    view = parse_cluster_nodes(env.nodes[0].ok("CLUSTER", "NODES"))

    def epochs_match():
        m = w.latest()
        byid = {n["id"]: n for n in m["nodes"]}
        return m["source"] == "bus" and set(byid) == set(view) and all(
            byid[i]["epoch"] == v.epoch for i, v in view.items() if "master" in v.flags)
    wait_for(epochs_match, 5, what="map carries the masters' configEpochs",
             describe=lambda: describe_watch(w))
    m = w.latest()
    byid = {n["id"]: n for n in m["nodes"]}
    for nid, v in view.items():
        n = byid[nid]
        assert (n["ip"], n["port"], n["cport"]) == (v.ip, v.port, v.cport)
        assert n["flags"] == []
        if "slave" in v.flags:
            assert n["role"] == "replica" and n["master"] == v.master and n["master_known"]
        else:
            assert n["role"] == "master" and n["master"] is None
    assert m["current_epoch"] == env.nodes[0].info()["cluster_current_epoch"]
    # The very first map is the bootstrap (CLUSTER SHARDS) one.
    assert w.maps()[0]["source"] == "bootstrap"


@pytest.mark.timeout_s(60)
def test_observer_never_joins(env):
    w = env.watch
    wait_matches(w, env.nodes, 10, "topowatch map == CLUSTER SLOTS")
    time.sleep(1.0)  # ~10 more PINGs to every node
    ids = {n.myid() for n in env.nodes}
    for n in env.nodes:
        view = parse_cluster_nodes(n.ok("CLUSTER", "NODES"))
        assert set(view) == ids, f"{n.name} lists {set(view) - ids}"
        assert not any("handshake" in v.flags for v in view.values())
        assert n.info()["cluster_known_nodes"] == len(ids)
        assert w.observer_id not in n.log()
    assert w.observer_id not in ids


@pytest.mark.timeout_s(90)
def test_refresh_now_follows_reshard(env, topowatch_bin):
    # A 60 s interval: after the first round nothing is pinged unless asked.
    w = Watch(topowatch_bin, [env.nodes[0].addr], "--interval-ms", 60000)
    try:
        wait_matches(w, env.nodes, 10, "slow-interval map == CLUSTER SLOTS")
        time.sleep(0.5)  # the first PONG round is in
        before = w.latest()
        ms = env.masters()
        reshard(env, ms[0].id, ms[1].id, 10)
        truth = wait_for(lambda: cluster_truth(env.nodes), 15, what="cluster agrees after reshard")
        time.sleep(1.0)
        assert w.latest()["version"] == before["version"], "map changed without a ping"
        assert not map_matches(w.latest(), truth)
        t0 = time.monotonic()
        w.refresh()
        wait_matches(w, env.nodes, 5, "map follows after topology_refresh_now")
        assert time.monotonic() - t0 < 3
        assert w.first("refresh")
    finally:
        stats = w.stop()
    assert stats and stats["refreshes"] == 1 and stats["reader_errors"] == 0


@pytest.mark.timeout_s(120)
def test_reshard_followed(env):
    w = env.watch
    wait_matches(w, env.nodes, 10, "map == CLUSTER SLOTS before reshard")
    ms = env.masters()
    before = w.latest()["version"]
    reshard(env, ms[1].id, ms[2].id, 100)
    t0 = time.monotonic()
    wait_matches(w, env.nodes, 10, "map follows the reshard")
    assert time.monotonic() - t0 < 5
    assert w.latest()["version"] > before
    # The importing master bumped its epoch: the map has it.
    m = w.latest()
    dst = next(n for n in m["nodes"] if n["id"] == ms[2].id)
    assert dst["epoch"] == env.node_by_id(ms[2].id).view()[ms[2].id].epoch


@pytest.mark.timeout_s(60)
def test_bus_only_discovery(env, topowatch_bin):
    """No bootstrap possible (port 1 refuses): the seed's bus port alone is enough."""
    seed = env.nodes[0]
    w = Watch(topowatch_bin, [f"{HOST}:1@{seed.port + 10000}"])
    try:
        wait_matches(w, env.nodes, 10, "map learned from the bus alone")
        assert all(m["source"] == "bus" for m in w.maps())
    finally:
        stats = w.stop()
    assert stats["bootstrap_failures"] >= 1 and stats["bootstraps"] == 0
    assert stats["pongs_received"] > 0 and stats["decode_errors"] == 0


@pytest.mark.timeout_s(120)
def test_failover_followed(env):
    if not env.replicas:
        pytest.skip(f"{env.kind} nodes have no replication yet (CLUSTER REPLICATE unknown): "
                    "no failover to follow")
    w = env.watch
    wait_matches(w, env.nodes, 10, "map == CLUSTER SLOTS before the kill")
    victim_line = env.masters()[0]
    victim = env.node_by_id(victim_line.id)
    view = victim.view()
    replica_ids = {v.id for v in view.values() if v.master == victim_line.id}
    assert replica_ids
    t_kill = time.monotonic()
    victim.kill9()
    survivors = env.alive()

    def promoted():
        t = cluster_truth(survivors)
        if not t:
            return None
        owner = next((o for s, e, o in t[0] if s <= victim_line.slots[0][0] <= e), None)
        return t if owner in replica_ids else None
    wait_for(promoted, 30, interval=0.1, what="a replica of the killed master is promoted",
             describe=lambda: describe_views(survivors))
    t_promoted = time.monotonic()
    wait_matches(w, survivors, 10, "map points at the promoted replica")
    assert time.monotonic() - t_promoted < 3, "map lagged the cluster by more than 3 s"
    assert time.monotonic() - t_kill < 30
    m = w.latest()
    dead = next(n for n in m["nodes"] if n["id"] == victim_line.id)
    assert "noreply" in dead["flags"]
    wait_for(lambda: "fail" in next(n for n in w.latest()["nodes"]
                                    if n["id"] == victim_line.id)["flags"], 10,
             what="killed master flagged fail", describe=lambda: describe_watch(w))


@pytest.mark.timeout_s(60)
def test_dead_master_flagged_without_replicas(env):
    if env.replicas:
        pytest.skip("covered by test_failover_followed on clusters with replicas")
    w = env.watch
    wait_matches(w, env.nodes, 10, "map == CLUSTER SLOTS before the kill")
    victim_line = env.masters()[0]
    env.node_by_id(victim_line.id).kill9()

    def flagged():
        n = next(n for n in w.latest()["nodes"] if n["id"] == victim_line.id)
        return "noreply" in n["flags"] and "fail" in n["flags"]
    wait_for(flagged, 15, what="dead master flagged noreply and fail",
             describe=lambda: describe_watch(w))
    # Nobody can take its slots: the cluster and the map keep them on the dead node.
    m = w.latest()
    assert any(o == victim_line.id for s, e, o in m["ranges"])
    assert map_matches(m, cluster_truth(env.alive()))


# ---------------------------------------------------------------------------
# Bootstrap paths against a fake node (no cluster bus anywhere)

def _resp(v):
    if isinstance(v, Exception):
        return f"-{v}\r\n".encode()
    if isinstance(v, int):
        return f":{v}\r\n".encode()
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"$%d\r\n%s\r\n" % (len(v), v)
    return b"*%d\r\n" % len(v) + b"".join(_resp(x) for x in v)


class FakeNode:
    """Answers CLUSTER SHARDS with an error and CLUSTER SLOTS with self.slots."""

    def __init__(self, port):
        self.slots = []
        self.commands = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._client, args=(c,), daemon=True).start()

    def _client(self, c):
        c.settimeout(5)
        f = c.makefile("rb")
        try:
            while True:
                line = f.readline()
                if not line.startswith(b"*"):
                    return
                args = []
                for _ in range(int(line[1:])):
                    n = int(f.readline()[1:])
                    args.append(f.read(n + 2)[:-2].decode())
                cmd = " ".join(args).upper()
                self.commands.append(cmd)
                if cmd == "CLUSTER SHARDS":
                    reply = Exception("ERR unknown subcommand 'SHARDS'. Try CLUSTER HELP.")
                elif cmd == "CLUSTER SLOTS":
                    reply = self.slots
                else:
                    reply = Exception("ERR unknown command")
                c.sendall(_resp(reply))
        except (OSError, ValueError):
            return
        finally:
            c.close()

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


@pytest.mark.timeout_s(60)
def test_cluster_slots_bootstrap_and_fallback(topowatch_bin):
    fake_port, p1, p2, p3 = free_ports(4)  # p1-p3: "nodes" nobody listens on (nor on +10000)
    a, b, r = "a" * 40, "b" * 40, "c" * 40
    fake = FakeNode(fake_port)
    fake.slots = [[0, 8191, [HOST, p1, a, []], [HOST, p3, r, []]],
                  [8192, 16383, [HOST, p2, b, []]]]
    w = Watch(topowatch_bin, [f"{HOST}:{fake_port}"], "--fallback-ms", 1000,
              "--redis-timeout-ms", 500)
    try:
        wait_for(lambda: w.latest(), 10, what="bootstrap map", describe=lambda: describe_watch(w))
        m = w.maps()[0]
        assert m["source"] == "bootstrap"
        assert m["ranges"] == [[0, 8191, a], [8192, 16383, b]]
        byid = {n["id"]: n for n in m["nodes"]}
        assert byid[r]["role"] == "replica" and byid[r]["master"] == a
        assert byid[a]["replicas"] == [r] and byid[a]["epoch"] == 0
        assert (byid[a]["port"], byid[a]["cport"]) == (p1, p1 + 10000)
        assert "CLUSTER SHARDS" in fake.commands and "CLUSTER SLOTS" in fake.commands
        # No bus port answers: nodes get flagged, then the fallback bootstrap picks up
        # a change made on the "cluster" (b takes everything).
        wait_for(lambda: all("noreply" in n["flags"] for n in w.latest()["nodes"]), 10,
                 what="unreachable bus ports flagged noreply", describe=lambda: describe_watch(w))
        fake.slots = [[0, 16383, [HOST, p2, b, []]]]
        wait_for(lambda: w.latest()["ranges"] == [[0, 16383, b]], 10,
                 what="fallback bootstrap follows the change", describe=lambda: describe_watch(w))
        m = next(x for x in w.maps() if x["ranges"] == [[0, 16383, b]])
        assert m["source"] == "bootstrap"
        # a and r are gone from the cluster's answer: no claim left, still known.
        assert {n["id"] for n in m["nodes"]} == {a, b, r}
    finally:
        stats = w.stop()
        fake.close()
    assert stats["bootstraps"] >= 2 and stats["pongs_received"] == 0
    assert stats["connect_failures"] > 0 and stats["reader_errors"] == 0


@pytest.mark.timeout_s(30)
def test_bad_seed_rejected(topowatch_bin):
    for bad in ["nohost", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:60000", "[::1:7000",
                "127.0.0.1:7000@x"]:
        r = subprocess.run([topowatch_bin, "--seconds", "1", bad], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == 2 and "bad seed" in r.stderr, (bad, r.stderr)


# ---------------------------------------------------------------------------
# Bus paths against fake bus nodes (PONGs encoded here, independently of busproto)

HDR_FMT = ">4sIHHHHQQQ40s2048s40s46sH30sHHHB3s"   # 2256 bytes, bus-protocol.md §3
GOSSIP_FMT = ">40sII46sHHHHH"                      # 104 bytes, §5.1
F_MASTER, F_SLAVE, F_PFAIL, F_FAIL = 1, 2, 4, 8


def _bitmap(ranges):
    bm = bytearray(2048)
    for a, b in ranges:
        for s in range(a, b + 1):
            bm[s >> 3] |= 1 << (s & 7)
    return bytes(bm)


def encode_pong(sender, port, cport, epoch, slots=(), slaveof=None, gossip=(), current_epoch=0):
    body = b"".join(struct.pack(GOSSIP_FMT, g["id"].encode(), 0, int(time.time()),
                                HOST.encode(), g["port"], g["port"] + 10000, g["flags"], 0, 0)
                    for g in gossip)
    hdr = struct.pack(HDR_FMT, b"RCmb", 2256 + len(body), 1, port, 1, len(gossip),
                      max(current_epoch, epoch), epoch, 0, sender.encode(), _bitmap(slots),
                      (slaveof or "").encode(), b"", 0, b"", 0, cport,
                      (F_SLAVE if slaveof else F_MASTER) | 16, 0, b"\0\0\0")
    return hdr + body


class FakeBusNode:
    """Listens on a bus port; answers every PING with whatever self.pong() returns and
    records the PINGs' headers."""

    def __init__(self, port, **pong):
        self.port, self.pong_args, self.pings = port, pong, []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, port + 10000))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def pong(self):
        return encode_pong(port=self.port, cport=self.port + 10000, **self.pong_args)

    def _serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(c)
            threading.Thread(target=self._client, args=(c,), daemon=True).start()

    def _client(self, c):
        c.settimeout(10)
        try:
            while not self.stopping:
                head = c.recv(8, socket.MSG_WAITALL)
                if len(head) < 8:
                    return
                totlen = struct.unpack(">I", head[4:8])[0]
                rest = c.recv(totlen - 8, socket.MSG_WAITALL)
                f = struct.unpack(HDR_FMT, head + rest[:2248])
                self.pings.append({"totlen": f[1], "type": f[4], "port": f[3], "count": f[5],
                                   "current_epoch": f[6], "config_epoch": f[7],
                                   "sender": f[9].decode(), "slots": f[10] != bytes(2048),
                                   "cport": f[16], "flags": f[17]})
                c.sendall(self.pong())
        except OSError:
            return

    def close(self):
        self.stopping = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.timeout_s(60)
def test_fake_bus_identity_gossip_and_epochs(topowatch_bin):
    px, py = free_ports(2)
    idx, idy, idz = "1" * 40, "2" * 40, "3" * 40
    y = FakeBusNode(py, sender=idy, epoch=5, slots=[(0, 99)])
    x = FakeBusNode(px, sender=idx, epoch=1, slots=[(0, 16383)],
                    gossip=[{"id": idy, "port": py, "flags": F_MASTER}])
    # Bootstrap is impossible (port 1): everything below comes over the bus.
    w = Watch(topowatch_bin, [f"{HOST}:1@{px + 10000}"], "--forget-ms", 60000)
    try:
        # y learned from x's gossip; y's higher configEpoch wins slots 0-99.
        m = wait_for(lambda: (v := w.latest()) and len(v["nodes"]) == 2 and
                     v["ranges"] == [[0, 99, idy], [100, 16383, idx]] and v, 10,
                     what="map from gossip and the epoch rule", describe=lambda: describe_watch(w))
        byid = {n["id"]: n for n in m["nodes"]}
        assert (byid[idy]["port"], byid[idy]["cport"], byid[idy]["epoch"]) == (py, py + 10000, 5)
        assert m["current_epoch"] == 5

        # x's gossip flags y as failed.
        x.pong_args["gossip"] = [{"id": idy, "port": py, "flags": F_MASTER | F_FAIL}]
        wait_for(lambda: "fail" in {n["id"]: n for n in w.latest()["nodes"]}[idy]["flags"], 5,
                 what="gossiped FAIL flag", describe=lambda: describe_watch(w))

        # y's address now answers with another ID (restarted with a new identity) as a
        # replica of x: z takes the address, y keeps its last claim but loses its address.
        y.pong_args = dict(sender=idz, epoch=1, slaveof=idx)
        m = wait_for(lambda: (v := w.latest()) and len(v["nodes"]) == 3 and v, 5,
                     what="new identity at y's address", describe=lambda: describe_watch(w))
        byid = {n["id"]: n for n in m["nodes"]}
        assert (byid[idz]["port"], byid[idz]["role"], byid[idz]["master"]) == (py, "replica", idx)
        assert byid[idx]["replicas"] == [idz]
        assert byid[idy]["ip"] == "" and "noreply" in byid[idy]["flags"]
        assert m["ranges"] == [[0, 99, idy], [100, 16383, idx]]

        # x bumps its epoch above y's stale claim and takes everything.
        x.pong_args.update(epoch=9, gossip=[])
        wait_for(lambda: w.latest()["ranges"] == [[0, 16383, idx]], 5,
                 what="higher epoch takes the slots", describe=lambda: describe_watch(w))
    finally:
        stats = w.stop()
        x.close()
        y.close()
    # What the nodes received: only our PINGs, as an unknown sender with nothing to offer.
    pings = x.pings + y.pings
    assert pings and stats["pongs_received"] > 0 and stats["decode_errors"] == 0
    for p in pings:
        assert p == {"totlen": 2256, "type": 0, "port": 0, "count": 0, "current_epoch": 0,
                     "config_epoch": 0, "sender": w.observer_id, "slots": False, "cport": 0,
                     "flags": 0}, p


@pytest.mark.timeout_s(30)
def test_fake_bus_garbage_drops_link(topowatch_bin):
    (px,) = free_ports(1)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, px + 10000))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()
    accepted = []

    def serve():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            accepted.append(c)
            try:
                c.sendall(b"-ERR this is not a cluster bus\r\n")
            except OSError:
                pass
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    w = Watch(topowatch_bin, [f"{HOST}:1@{px + 10000}"], "--fallback-ms", 60000)
    try:
        wait_for(lambda: len(accepted) >= 3, 10, what="reconnects after bad frames",
                 describe=lambda: describe_watch(w))
    finally:
        stats = w.stop()
        stop.set()
        th.join(2)
        for c in accepted:
            c.close()
        srv.close()
    assert stats["frame_errors"] >= 2 and stats["pongs_received"] == 0 and stats["publishes"] == 0

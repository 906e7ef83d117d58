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
        self.err_path = tempfile.mktemp(prefix="topowatch-", suffix=".log")
        self.err = open(self.err_path, "wb")
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

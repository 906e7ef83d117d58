"""Cluster bus interop: shoal-node (node/cluster_*.c) and real redis-server 7.0 nodes on
one cluster bus.

Nodes come from conftest's node_factory (kind="shoal" / kind="redis") with
--cluster-enabled yes and a 2000 ms node timeout; bus port = port + 10000. The bus
messages this file sends itself are built by a tiny encoder of the 2256-byte header
(shared/bus-protocol.md §3), checked against a real redis-server first.

1. a PING from an unknown sender gets a PONG (sender = CLUSTER MYID) and the node does
   not add the sender (shoal and redis alike);
2. garbage on the bus (random bytes, bad signature, huge/short totlen, wrong-length or
   wrong-version PING, huge claimed PUBLISH) closes the link or is ignored; the node
   stays up, allocates nothing up front and its cluster stays ok;
3. MEET shoal->redis and redis->shoal both complete;
4. a 2 shoal + 1 redis cluster with ADDSLOTSRANGE on each reaches cluster_state:ok;
5. equal configEpochs set with SET-CONFIG-EPOCH converge to unique ones (§9.3);
6. kill -9 of a node: every survivor of both kinds marks it fail;
7. no redis-server log complains about what we sent.
"""

import os
import random
import socket
import struct
import time

import pytest

NODE_TIMEOUT = 2000
BUS_OFFSET = 10000
HDR_LEN = 2256
T_PING, T_PONG, T_MEET, T_FAIL, T_PUBLISH = 0, 1, 2, 3, 4
F_MASTER, F_MYSELF = 1, 16
# Lines a 7.0 node logs when a peer sends something it can't use.
BAD_LOG_WORDS = ("bad message length", "received invalid", "unknown packet type",
                 "unknown extension", "unknown")

pytestmark = pytest.mark.timeout_s(60)


# ---------------------------------------------------------------------------
# A minimal bus codec (header only; enough for PING/PUBLISH probes)

def bus_msg(mtype, sender, body=b"", count=0, totlen=None, ver=1, sig=b"RCmb", port=0,
            cport=0, flags=F_MASTER, current_epoch=0, config_epoch=0):
    h = bytearray(HDR_LEN)
    h[0:4] = sig
    tl = HDR_LEN + len(body) if totlen is None else totlen
    struct.pack_into(">IHHHH", h, 4, tl, ver, port, mtype, count)
    struct.pack_into(">QQQ", h, 16, current_epoch, config_epoch, 0)
    h[40:80] = sender
    struct.pack_into(">HHH", h, 2246, 0, cport, flags)
    return bytes(h) + body


def random_id():
    return "".join(random.choice("0123456789abcdef") for _ in range(40)).encode()


def read_msg(sock, timeout=3.0):
    """One framed bus message, or None if nothing complete arrives in time / closed."""
    deadline = time.monotonic() + timeout
    buf = b""
    need = 8
    while len(buf) < need:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            d = sock.recv(65536)
        except (socket.timeout, OSError):
            return None
        if not d:
            return None
        buf += d
        if len(buf) >= 8 and need == 8:
            need = struct.unpack(">I", buf[4:8])[0]
    return buf[:need]


def parse_hdr(m):
    totlen, ver, port, mtype, count = struct.unpack(">IHHHH", m[4:16])
    cur, cfg, _off = struct.unpack(">QQQ", m[16:40])
    cport, flags = struct.unpack(">HH", m[2248:2252])
    return dict(sig=m[:4], totlen=totlen, ver=ver, port=port, type=mtype, count=count,
                current_epoch=cur, config_epoch=cfg, sender=m[40:80], slaveof=m[2128:2168],
                cport=cport, flags=flags, state=m[2252], slots=m[80:2128])


def bus_connect(srv):
    s = socket.create_connection(("127.0.0.1", srv.port + BUS_OFFSET), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_peer(sock, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except OSError:
            return True
    return False


# ---------------------------------------------------------------------------
# Cluster helpers

def cluster_args():
    return ("--cluster-enabled", "yes", "--cluster-node-timeout", str(NODE_TIMEOUT),
            "--cluster-config-file", "nodes.conf")


def call(srv, *args):
    with srv.raw(timeout=5) as c:
        r = c.call(*args)
    if isinstance(r, Exception):
        raise r
    return r.decode() if isinstance(r, bytes) else r


def nodes_view(srv):
    out = {}
    for line in call(srv, "CLUSTER", "NODES").splitlines():
        f = line.split(" ")
        if len(f) >= 8:
            out[f[0]] = dict(addr=f[1], flags=set(f[2].split(",")), master=f[3],
                             epoch=int(f[6]), link=f[7], slots=f[8:])
    return out


def info(srv):
    out = {}
    for line in call(srv, "CLUSTER", "INFO").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def myid(srv):
    return call(srv, "CLUSTER", "MYID")


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
        except Exception as e:  # noqa: BLE001 - transient (node restarting, link coming up)
            v, last = None, e
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not true after {timeout}s (last error: {last!r})")
        time.sleep(0.1)


def fully_joined(servers):
    """Every node lists every other, none in handshake / noaddr."""
    ids = {myid(s) for s in servers}
    for s in servers:
        v = nodes_view(s)
        if set(v) != ids:
            return False
        if any(f & {"handshake", "noaddr"} for f in (n["flags"] for n in v.values())):
            return False
    return True


def meet(a, b):
    assert call(a, "CLUSTER", "MEET", "127.0.0.1", str(b.port)) == "OK"


def addslots(srv, lo, hi):
    try:
        return call(srv, "CLUSTER", "ADDSLOTSRANGE", str(lo), str(hi))
    except Exception as e:  # noqa: BLE001
        if "unknown subcommand" in str(e).lower():
            pytest.skip("CLUSTER ADDSLOTSRANGE not implemented yet")
        raise


def assert_clean_redis_logs(servers):
    for s in servers:
        if s.kind != "redis":
            continue
        for line in s.log().splitlines():
            low = line.lower()
            assert not any(w in low for w in BAD_LOG_WORDS), f"{s.name} complained: {line}"


def build_cluster(node_factory, kinds):
    servers = [node_factory(*cluster_args(), kind=k, name=f"{k}-{i}") for i, k in enumerate(kinds)]
    for s in servers[1:]:
        meet(servers[0], s)
    wait_for(lambda: fully_joined(servers), 15, "all nodes know each other")
    step = 16384 // len(servers)
    for i, s in enumerate(servers):
        addslots(s, i * step, 16383 if i == len(servers) - 1 else (i + 1) * step - 1)
    wait_for(lambda: all(info(s)["cluster_state"] == "ok" for s in servers), 15,
             "cluster_state:ok everywhere")
    return servers


# ---------------------------------------------------------------------------
# 1. unknown-sender PING

@pytest.mark.parametrize("kind", ["redis", "shoal"])
def test_ping_from_unknown_sender_gets_pong_only(node_factory, kind):
    srv = node_factory(*cluster_args(), kind=kind)
    addslots(srv, 100, 199)
    me = myid(srv).encode()
    known_before = info(srv)["cluster_known_nodes"]
    sender = random_id()
    with bus_connect(srv) as s:
        s.sendall(bus_msg(T_PING, sender, port=1, cport=2))
        m = read_msg(s)
        assert m is not None, "no PONG for a PING from an unknown sender"
        h = parse_hdr(m)
        assert h["sig"] == b"RCmb" and h["ver"] == 1 and h["type"] == T_PONG
        assert h["totlen"] == len(m) == HDR_LEN + 104 * h["count"]
        assert h["sender"] == me
        assert h["flags"] & F_MASTER and h["flags"] & F_MYSELF
        assert h["slaveof"] == b"\0" * 40
        assert h["port"] == srv.port and h["cport"] == srv.port + BUS_OFFSET
        slots = h["slots"]
        claimed = [i for i in range(16384) if slots[i >> 3] >> (i & 7) & 1]
        assert claimed == list(range(100, 200))
        # A second PING on the same link gets a second PONG (link kept).
        s.sendall(bus_msg(T_PING, sender))
        assert read_msg(s) is not None
        time.sleep(0.3)
        view = nodes_view(srv)
        assert sender.decode() not in view
        assert info(srv)["cluster_known_nodes"] == known_before
        assert all("handshake" not in n["flags"] for n in view.values())
    assert int(info(srv)["cluster_stats_messages_ping_received"]) >= 2
    assert_clean_redis_logs([srv])


# ---------------------------------------------------------------------------
# 2. garbage on the bus

def test_garbage_on_bus_port(node_factory):
    shoal, redis_ = build_cluster(node_factory, ["shoal", "redis"])
    used_before = int(call(shoal, "INFO", "memory").split("used_memory:")[1].split()[0])

    def fresh():
        return bus_connect(shoal)

    rnd = random.Random(7)
    # Framing errors: the link is closed.
    for data in (bytes(rnd.randrange(256) for _ in range(5000)),
                 b"XXXX" + bytes(3000),
                 bus_msg(T_PING, random_id(), totlen=0xFFFFFFFF),
                 bus_msg(T_PING, random_id(), totlen=100)[:100],
                 bus_msg(T_PING, random_id(), totlen=50 << 20)):   # PING can't be 50 MB
        with fresh() as s:
            s.sendall(data)
            assert closed_by_peer(s), f"link not closed after {data[:16]!r}..."
    # Message errors: dropped, the link stays usable.
    sender = random_id()
    with fresh() as s:
        s.sendall(bus_msg(T_PING, sender, body=b"", count=1))          # count says 104 more
        s.sendall(bus_msg(T_PING, sender, body=bytes(104), count=0))   # 104 bytes too many
        s.sendall(bus_msg(T_PING, sender, ver=2))                      # other version
        s.sendall(bus_msg(T_FAIL, sender))                             # FAIL without a body
        s.sendall(bus_msg(T_PING, b"\xff" * 40))                       # garbage sender ID
        m = read_msg(s)
        assert m is not None and parse_hdr(m)["type"] == T_PONG, "valid PING after bad ones got no PONG"
        assert read_msg(s, timeout=0.5) is None, "an invalid message was answered"
    # A huge claimed PUBLISH: only the header arrives, nothing is sized from totlen.
    with fresh() as s:
        s.sendall(bus_msg(T_PUBLISH, sender, totlen=400 << 20))
        time.sleep(0.3)
        used = int(call(shoal, "INFO", "memory").split("used_memory:")[1].split()[0])
        assert used - used_before < 8 << 20, f"used_memory grew {used - used_before} bytes"
    # Truncated header, then close.
    with fresh() as s:
        s.sendall(bus_msg(T_PING, sender)[:1000])
    assert call(shoal, "PING") == "PONG"
    assert shoal.alive()
    time.sleep(0.5)
    for s in (shoal, redis_):
        assert info(s)["cluster_state"] == "ok"
    assert fully_joined([shoal, redis_])
    assert sender.decode() not in nodes_view(shoal)
    assert_clean_redis_logs([redis_])


# ---------------------------------------------------------------------------
# 3. MEET in both directions

@pytest.mark.parametrize("direction", ["shoal_meets_redis", "redis_meets_shoal"])
def test_meet_completes(node_factory, direction):
    shoal = node_factory(*cluster_args(), kind="shoal")
    redis_ = node_factory(*cluster_args(), kind="redis")
    a, b = (shoal, redis_) if direction == "shoal_meets_redis" else (redis_, shoal)
    meet(a, b)
    wait_for(lambda: fully_joined([shoal, redis_]), 10, "MEET completed on both sides")
    ids = {myid(shoal), myid(redis_)}
    for s in (shoal, redis_):
        v = nodes_view(s)
        assert set(v) == ids
        for nid, n in v.items():
            assert "master" in n["flags"]
            assert n["link"] == "connected"
            if nid != myid(s):
                assert n["addr"].startswith("127.0.0.1:")
    # configEpochs were all 0: the collision rule makes them unique.
    wait_for(lambda: len({n["epoch"] for n in nodes_view(shoal).values()}) == 2, 10,
             "unique configEpochs")
    assert_clean_redis_logs([redis_])


# ---------------------------------------------------------------------------
# 4. mixed cluster reaches ok

def test_mixed_cluster_reaches_ok(node_factory):
    servers = build_cluster(node_factory, ["shoal", "redis", "shoal"])
    views = [nodes_view(s) for s in servers]
    # Everyone agrees on who owns what.
    owners = [{nid: tuple(n["slots"]) for nid, n in v.items()} for v in views]
    assert owners[0] == owners[1] == owners[2]
    for s in servers:
        i = info(s)
        assert i["cluster_known_nodes"] == "3" and i["cluster_size"] == "3"
        assert i["cluster_slots_assigned"] == "16384" and i["cluster_slots_ok"] == "16384"
    # CLUSTER LINKS on shoal: one outbound and one inbound link per peer.
    with servers[0].raw() as c:
        links = c.call("CLUSTER", "LINKS")
    dirs = sorted((dict(zip(l[0::2], l[1::2]))[b"direction"]) for l in links)
    assert dirs == [b"from", b"from", b"to", b"to"]
    # PUBLISH crosses the bus both ways (§20).
    for pub, sub in ((servers[1], servers[0]), (servers[0], servers[1]), (servers[2], servers[0])):
        p = sub.client().pubsub()
        p.subscribe("bus-chan")
        assert p.get_message(timeout=2)["type"] == "subscribe"
        assert pub.client().publish("bus-chan", f"from-{pub.kind}") == 0   # no local subscriber
        m = p.get_message(timeout=3)
        assert m and m["type"] == "message" and m["data"] == f"from-{pub.kind}".encode(), m
        p.close()
    assert_clean_redis_logs(servers)


# ---------------------------------------------------------------------------
# 5. configEpoch collisions

def test_set_config_epoch_collisions_converge(node_factory):
    servers = [node_factory(*cluster_args(), kind=k, name=f"{k}-{i}")
               for i, k in enumerate(["shoal", "redis", "shoal", "redis"])]
    for s in servers:
        assert call(s, "CLUSTER", "SET-CONFIG-EPOCH", "5") == "OK"
    for s in servers[1:]:
        meet(servers[0], s)
    wait_for(lambda: fully_joined(servers), 15, "all nodes know each other")

    def unique_and_agreed():
        views = [nodes_view(s) for s in servers]
        epochs = [{nid: n["epoch"] for nid, n in v.items()} for v in views]
        return all(e == epochs[0] for e in epochs) and len(set(epochs[0].values())) == len(servers)

    wait_for(unique_and_agreed, 15, "unique configEpochs agreed by every node")
    # The greatest node ID never moves.
    top = max(myid(s) for s in servers)
    assert nodes_view(servers[0])[top]["epoch"] == 5
    assert_clean_redis_logs(servers)


# ---------------------------------------------------------------------------
# 6. failure detection across kinds

@pytest.mark.parametrize("victim", ["shoal", "redis"])
def test_kill_node_marked_fail_everywhere(node_factory, victim):
    kinds = ["shoal", "redis", "shoal", "redis"]
    servers = build_cluster(node_factory, kinds)
    dead = next(s for s in servers if s.kind == victim)
    dead_id = myid(dead)
    survivors = [s for s in servers if s is not dead]
    dead.kill()
    t0 = time.monotonic()
    wait_for(lambda: all("fail" in nodes_view(s)[dead_id]["flags"] for s in survivors),
             6 * NODE_TIMEOUT / 1000, "every survivor marks the killed node fail")
    assert time.monotonic() - t0 >= NODE_TIMEOUT / 1000 * 0.9   # not before the timeout
    wait_for(lambda: all(info(s)["cluster_state"] == "fail" for s in survivors), 5,
             "cluster_state:fail (slots of a FAIL master)")
    assert_clean_redis_logs(servers)

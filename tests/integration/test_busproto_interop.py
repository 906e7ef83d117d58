"""Interop of common/busproto with a real redis-server 7.0 cluster bus.

The codec runs in tests/tools/busprobe (encode: args -> raw message on stdout; decode:
stream on stdin -> JSON lines); this file does the sockets. A redis-server with
--cluster-enabled yes runs on a port in 23400-23599 (bus port = port + 10000) and is
stopped by PID by the node_factory fixture. Checks:

* a PING from an unknown sender gets a PONG whose header matches CLUSTER MYID, the
  master flag and the CLUSTER ADDSLOTS we did; the node does not add the sender;
* with cluster-announce-hostname set, the PONG carries a hostname extension padded
  exactly as our encoder pads it;
* a PING whose totlen disagrees with its gossip count is silently dropped (no PONG,
  link kept), as 7.0 does;
* a MEET makes the node add a handshake node; answering its PING with our PONG
  completes the handshake (the node renames it to our ID, master);
* then, as a known node: a PING with an unknown extension followed by a hostname
  extension (the node skips the first, stores the hostname), our claimed slots are
  adopted; UPDATE, PUBLISH, PUBLISHSHARD and FAIL are all acted on.
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HOST, RawConn

REPO = Path(__file__).resolve().parents[2]
PORT_LO, PORT_HI = 23400, 23599
HDR_LEN = 2256
PROBE_SRC = ["tests/tools/busprobe.c", "common/busproto.c", "common/busproto.h",
             "common/mem.c", "common/mem.h", "common/buf.c", "common/buf.h"]


# ---------------------------------------------------------------------------
# busprobe binary: Makefile target build/tools/busprobe, rebuilt here if stale.

def _busprobe_path():
    env = os.environ.get("BUSPROBE_BIN")
    if env:
        return env
    out = REPO / "build" / "tools" / "busprobe"
    newest = max((REPO / s).stat().st_mtime for s in PROBE_SRC)
    if not out.exists() or out.stat().st_mtime < newest:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="busprobe.", dir=str(out.parent))
        os.close(fd)
        cmd = ["gcc", "-std=gnu11", "-O1", "-g", "-Icommon", "-o", tmp,
               "tests/tools/busprobe.c", "common/busproto.c", "common/mem.c", "common/buf.c"]
        r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            os.unlink(tmp)
            pytest.fail(f"building busprobe failed:\n{r.stderr}")
        os.replace(tmp, out)  # atomic: parallel runs never see a half-written binary
    return str(out)


@pytest.fixture(scope="module")
def probe():
    return _busprobe_path()


def encode(probe, **kw):
    """One bus message from key=value pairs (lists become repeated keys)."""
    args = [probe, "encode"]
    for k, v in kw.items():
        for item in (v if isinstance(v, list) else [v]):
            args.append(f"{k}={item}")
    r = subprocess.run(args, capture_output=True, timeout=10)
    assert r.returncode == 0, f"busprobe encode failed: {r.stdout!r} {r.stderr!r}"
    return r.stdout


def decode(probe, data):
    r = subprocess.run([probe, "decode"], input=data, capture_output=True, timeout=10)
    msgs = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert r.returncode == 0 and msgs and all("error" not in m for m in msgs), \
        f"busprobe decode failed: {msgs} {r.stderr!r}"
    return msgs


# ---------------------------------------------------------------------------
# sockets

def _bindable(port):
    s = socket.socket()
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _free_ports(n):
    """n client ports in our range whose port+10000 is free as well."""
    got = []
    start = PORT_LO + (os.getpid() * 7) % (PORT_HI - PORT_LO)
    for i in range(PORT_HI - PORT_LO + 1):
        p = PORT_LO + (start - PORT_LO + i) % (PORT_HI - PORT_LO + 1)
        if _bindable(p) and _bindable(p + 10000):
            got.append(p)
            if len(got) == n:
                return got
    pytest.skip("no free ports in 23400-23599")


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out with {len(buf)}/{n} bytes")
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("bus link closed by peer")
        buf += chunk
    return buf


def recv_frame(sock, timeout=5.0):
    """One raw bus message (our own minimal framing; busprobe re-checks it)."""
    deadline = time.monotonic() + timeout
    head = recv_exact(sock, 8, deadline)
    assert head[:4] == b"RCmb", head
    totlen = struct.unpack(">I", head[4:8])[0]
    assert HDR_LEN <= totlen <= (1 << 20) + HDR_LEN, totlen
    return head + recv_exact(sock, totlen - 8, deadline)


def recv_msg(probe, sock, timeout=5.0):
    return decode(probe, recv_frame(sock, timeout))[0]


def recv_type(probe, sock, type_name, timeout=5.0):
    """Next message of a type, skipping others (e.g. the node's own PINGs)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {type_name} within {timeout}s")
        m = recv_msg(probe, sock, left)
        if m["type_name"] == type_name:
            return m


def bus_connect(port):
    s = socket.create_connection((HOST, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def wait_for(pred, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def new_id():
    return os.urandom(20).hex()


@pytest.fixture
def cluster_node(node_factory):
    if not shutil.which(os.environ.get("REDIS_SERVER_BIN", "redis-server")):
        pytest.skip("redis-server not installed")
    (port,) = _free_ports(1)
    srv = node_factory("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                       kind="redis", port=port, name="redis-cluster")
    conn = RawConn(srv.port, timeout=5)
    yield srv, conn
    conn.close()


def cluster_nodes(conn):
    return conn.call("CLUSTER", "NODES").decode()


# ---------------------------------------------------------------------------

@pytest.mark.timeout_s(20)
def test_ping_from_unknown_sender(probe, cluster_node):
    srv, conn = cluster_node
    assert conn.call("CLUSTER", "ADDSLOTSRANGE", 0, 99) == b"OK"
    assert conn.call("CLUSTER", "ADDSLOTS", 5000, 16383) == b"OK"
    myid = conn.call("CLUSTER", "MYID").decode()
    our_port = srv.port + 1  # never listened on: the node must not need it
    with bus_connect(srv.port + 10000) as s:
        # Wrong length for its gossip count: 7.0 drops it silently, keeps the link.
        bad = bytearray(encode(probe, type="ping", sender=new_id(), port=our_port,
                               cport=our_port + 10000, flags="master"))
        bad[14:16] = struct.pack(">H", 1)
        s.sendall(bytes(bad))
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(1)

        ping = encode(probe, type="ping", sender=new_id(), port=our_port,
                      cport=our_port + 10000, flags="master", current_epoch=0)
        s.sendall(ping)
        pong = recv_msg(probe, s)
    assert pong["type_name"] == "pong"
    assert pong["ver"] == 1
    assert pong["sender"] == myid and pong["sender_valid"]
    assert pong["flags_str"] == "myself,master"
    assert pong["slaveof"] is None
    assert pong["slots"] == [[0, 99], [5000, 5000], [16383, 16383]]
    assert pong["slot_count"] == 102
    assert pong["port"] == srv.port and pong["cport"] == srv.port + 10000
    assert pong["count"] == 0 and pong["gossip"] == [] and pong["ext"] == []
    assert pong["state"] == 1  # slots uncovered -> cluster_state fail
    assert pong["totlen"] == HDR_LEN
    assert pong["extensions"] == 0 and pong["mflags"][0] & 4 == 0  # no EXT_DATA
    # An unknown sender's PING is answered but never adds a node.
    assert len(cluster_nodes(conn).strip().splitlines()) == 1

    # With cluster-announce-hostname, 7.0 appends its only extension (type 0):
    # 8-byte header + "bus-a.example\0" padded to 16 -> 24 bytes, EXT_DATA set.
    assert conn.call("CONFIG", "SET", "cluster-announce-hostname", "bus-a.example") == b"OK"
    with bus_connect(srv.port + 10000) as s:
        s.sendall(encode(probe, type="ping", sender=new_id(), port=our_port,
                         cport=our_port + 10000, flags="master"))
        pong = recv_msg(probe, s)
    assert pong["type_name"] == "pong" and pong["sender"] == myid
    assert pong["extensions"] == 1 and pong["mflags"][0] & 4
    assert pong["ext"] == [{"type": 0, "type_name": "hostname", "len": 24, "text": "bus-a.example"}]
    assert pong["totlen"] == HDR_LEN + 24


@pytest.mark.timeout_s(20)
def test_meet_handshake_and_known_sender_messages(probe, cluster_node):
    srv, conn = cluster_node
    assert conn.call("CLUSTER", "ADDSLOTSRANGE", 0, 99) == b"OK"
    myid = conn.call("CLUSTER", "MYID").decode()
    ours = new_id()
    (our_port,) = _free_ports(1)  # the node holds srv.port, so it is not picked
    our_cport = our_port + 10000
    hdr = dict(sender=ours, port=our_port, cport=our_cport, flags="master")

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, our_cport))
    listener.listen(4)
    out = bus_connect(srv.port + 10000)  # our outbound link to the node
    inbound = None
    try:
        out.sendall(encode(probe, type="meet", **hdr))
        pong = recv_msg(probe, out)
        assert pong["type_name"] == "pong" and pong["sender"] == myid

        # The node now has a handshake placeholder (random name) at our address.
        def handshake_line():
            for line in cluster_nodes(conn).splitlines():
                f = line.split()
                if f[1].startswith(f"127.0.0.1:{our_port}@{our_cport}") and "handshake" in f[2]:
                    return f
            return None
        f = wait_for(handshake_line, 5, "handshake node in CLUSTER NODES")
        assert f[0] != ours

        # Its cron connects to our bus port and PINGs; our PONG completes the handshake.
        listener.settimeout(5)
        inbound, _ = listener.accept()
        ping = recv_type(probe, inbound, "ping")
        assert ping["sender"] == myid and ping["slots"] == [[0, 99]]
        inbound.sendall(encode(probe, type="pong", **hdr))

        def our_line():
            for line in cluster_nodes(conn).splitlines():
                f = line.split()
                if f[0] == ours:
                    return f
            return None
        f = wait_for(lambda: (l := our_line()) and "handshake" not in l[2] and l, 5,
                     "handshake to complete with our node ID")
        assert f[2] == "master" and f[3] == "-"

        # Known sender now: unknown extension (skipped) + hostname, 100 slots, and a
        # gossip entry about a node the real one has never seen (it adds it with the
        # exact ID, address and flags we describe).
        ghost, ghost_port = new_id(), our_port + 1 if our_port < PORT_HI else our_port - 1
        out.sendall(encode(probe, type="ping", slots="200-299", ext="9/0102030405",
                           hostname="probe.example",
                           gossip=f"{ghost}/127.0.0.1/{ghost_port}/{ghost_port + 10000}/master/0/0",
                           **hdr))
        pong = recv_type(probe, out, "pong")
        assert pong["sender"] == myid
        f = wait_for(lambda: (l := our_line()) and "200-299" in l[8:] and l, 5,
                     "node to adopt our slots")
        assert f[1] == f"127.0.0.1:{our_port}@{our_cport},probe.example"
        g = [l.split() for l in cluster_nodes(conn).splitlines() if l.startswith(ghost)]
        assert g and g[0][1] == f"127.0.0.1:{ghost_port}@{ghost_port + 10000}"
        assert g[0][2] == "master"

        # UPDATE about ourselves with a higher configEpoch and more slots.
        out.sendall(encode(probe, type="update", sender=ours, port=our_port, cport=our_cport,
                           flags="master", slots="200-299", node=ours, update_epoch=7,
                           update_slots="200-399"))
        f = wait_for(lambda: (l := our_line()) and "200-399" in l[8:] and l, 5,
                     "node to apply our UPDATE")
        assert f[6] == "7"  # configEpoch column

        # PUBLISH and PUBLISHSHARD from a known node reach local subscribers.
        with RawConn(srv.port, timeout=5) as sub, RawConn(srv.port, timeout=5) as ssub:
            sub.cmd("SUBSCRIBE", "news")
            ssub.cmd("SSUBSCRIBE", "{06S}x")  # slot 0, served by the node
            assert conn.call("CLUSTER", "KEYSLOT", "{06S}x") == 0
            out.sendall(encode(probe, type="publish", channel="news", message="hello bus", **hdr))
            msg = sub.read_reply(timeout=5).to_py()
            assert msg == [b"message", b"news", b"hello bus"]
            out.sendall(encode(probe, type="publishshard", channel="{06S}x", message="sharded",
                               **hdr))
            msg = ssub.read_reply(timeout=5).to_py()
            assert msg == [b"smessage", b"{06S}x", b"sharded"]

        # FAIL about ourselves: a known sender's FAIL is applied at once.
        out.sendall(encode(probe, type="fail", node=ours, **hdr))
        f = wait_for(lambda: (l := our_line()) and "fail" in l[2].split(",") and l, 5,
                     "node to mark us FAIL")
        assert f[2] == "master,fail"
        log = srv.log()
        assert "Received unknown extension type 9" in log  # skipped, hostname still applied
        assert f"FAIL message received from {ours} about {ours}" in log
        assert "padding" not in log and "invalid" not in log.lower()
    finally:
        out.close()
        if inbound:
            inbound.close()
        listener.close()


@pytest.mark.timeout_s(20)
def test_decode_real_gossip(probe, node_factory):
    """Three real nodes met into one cluster: a PONG from one of them carries gossip
    entries about the others, which must decode to their IDs, ports and flags."""
    ports = _free_ports(3)
    nodes = [node_factory("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                          "--cluster-node-timeout", "5000", kind="redis", port=p,
                          name=f"redis-cluster-{i}") for i, p in enumerate(ports)]
    conns = [RawConn(n.port, timeout=5) for n in nodes]
    try:
        ids = [c.call("CLUSTER", "MYID").decode() for c in conns]
        for i, c in enumerate(conns):
            assert c.call("CLUSTER", "ADDSLOTSRANGE", i * 1000, i * 1000 + 9) == b"OK"
        for n in nodes[1:]:
            assert conns[0].call("CLUSTER", "MEET", HOST, n.port) == b"OK"

        def converged():
            for c in conns:
                lines = cluster_nodes(c).splitlines()
                if len(lines) != 3 or any("handshake" in l or "disconnected" in l for l in lines):
                    return False
            return True
        wait_for(converged, 10, "three nodes to know each other")

        # wanted = max(3, 3/10) capped at known_nodes - 2 = 1 entry. Redis draws it at
        # random with at most 3 draws, and a draw of itself is skipped, so about one PONG
        # in 27 carries none: ask again (bounded) until one carries it.
        for _ in range(30):
            with bus_connect(nodes[0].port + 10000) as s:
                s.sendall(encode(probe, type="ping", sender=new_id(), port=1, cport=2,
                                 flags="master"))
                pong = recv_msg(probe, s)
            assert pong["sender"] == ids[0] and pong["slots"] == [[0, 9]]
            assert pong["count"] <= 1 and len(pong["gossip"]) == pong["count"]
            if pong["count"] == 1:
                break
        assert pong["count"] == 1 and len(pong["gossip"]) == 1
        assert pong["totlen"] == HDR_LEN + 104
        for g in pong["gossip"]:
            i = ids.index(g["nodename"])
            assert i in (1, 2)
            assert g["ip"] == HOST
            assert g["port"] == nodes[i].port and g["cport"] == nodes[i].port + 10000
            assert g["flags_str"] == "master" and g["pport"] == 0
            assert g["pong_received"] > 1_600_000_000  # seconds, not ms
    finally:
        for c in conns:
            c.close()

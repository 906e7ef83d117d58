"""The CLUSTER command family, READONLY/READWRITE/ASKING, client redirection (MOVED, ASK,
TRYAGAIN, CROSSSLOT, CLUSTERDOWN) and nodes.conf persistence of shoal-node, compared with
a real redis-server 7.0 cluster node (the oracle) wherever the reply is deterministic.

* standalone mode: every cluster command answers "cluster support disabled";
* one lone node of each kind: argument errors, SLOTS/SHARDS/NODES/INFO shapes in RESP2 and
  RESP3, slot assignment, SETSLOT open-slot markers, epochs, RESET — replies compared
  after replacing the node ID and own port by placeholders;
* keys on a lone node owning all slots: CROSSSLOT (also for EXEC), SELECT refused,
  COUNTKEYSINSLOT / GETKEYSINSLOT, the CLUSTERDOWN variants, reads-when-down; the
  per-slot key index, SCAN and RANDOMKEY over thousands of slots through deletes,
  renames, expiry and FLUSHALL;
* a node started from a hand-written nodes.conf that names unreachable peers (the very
  same file for both kinds, so node IDs match): MOVED, ASK, TRYAGAIN, ASKING, READONLY,
  REPLICAS, FORGET, SHARDS/SLOTS/NODES — byte for byte where the data is the same;
* nodes.conf: a restart keeps ID, slots, epochs and open slots; Shoal and Redis load each
  other's files; a second node on the same file, and a corrupt file, are refused;
* a 3-master cluster per kind (SHOAL_CLUSTER_KINDS) built by redis-cli: redis-py
  RedisCluster writes and reads one key in every one of the 16384 slots, SHARDS/SLOTS
  shapes, MOVED inside MULTI.
"""

import os
import re
import shutil

import pytest

from cluster_util import (SLOTS, cluster, kind_params, myself_of, redis_cli,  # noqa: F401
                          wait_for, wait_state)
from conftest import HOST, RawConn, free_port

BOTH = ("shoal", "redis")


# ---------------------------------------------------------------------------
# Reply normalisation: node IDs and the node's own ports differ between the two kinds

def _norm(reply, subs, ports):
    t, v = reply.type, reply.value
    if t in "*~>":
        return (t, None if v is None else [_norm(x, subs, ports) for x in v])
    if t in "%|":
        return (t, [(_norm(k, subs, ports), _norm(x, subs, ports)) for k, x in v])
    if t == ":":
        return (t, "<PORT>" if v in ports else v)
    if isinstance(v, bytes):
        for a, b in subs:
            v = v.replace(a, b)
        # Bus message counters: any process may PING a bus port (a node of an earlier
        # test that remembers the address); both kinds answer, so the counts are noise.
        v = re.sub(rb"cluster_stats_messages_[a-z-]+_(sent|received):\d+\r\n", b"", v)
        v = re.sub(rb"cluster_stats_messages_(sent|received):\d+\r\n", b"", v)
    return (t, v)


class Side:
    """One node under comparison: a raw connection plus what to normalise."""

    def __init__(self, node, proto=2):
        self.node = node
        self.conn = RawConn(node.port, timeout=10)
        if proto == 3:
            assert self.conn.cmd("HELLO", 3).type == "%"
        self.ids = {}
        self.refresh_id()

    def refresh_id(self):
        myid = self.conn.call("CLUSTER", "MYID")
        self.ids[myid] = b"<MYID>"

    def norm(self, reply):
        p = self.node.port
        subs = [(k, v) for k, v in self.ids.items()]
        subs += [(b":%d@%d" % (p, p + 10000), b":<PORT>@<CPORT>")]
        return _norm(reply, subs, {p})

    def close(self):
        self.conn.close()


def compare(sides, script):
    """Run every command on both sides; normalised replies must be equal. Items:
    a command tuple, ("@refresh_id",) after an ID change."""
    for i, cmd in enumerate(script):
        if cmd == ("@refresh_id",):
            for s in sides:
                s.refresh_id()
            continue
        got = []
        for s in sides:
            r = s.conn.cmd(*cmd)
            got.append((r, s.norm(r)))
        (ra, na), (rb, nb) = got
        assert na == nb, (f"#{i} {cmd}:\n  {sides[0].node.kind}: {ra.raw!r}\n"
                          f"  {sides[1].node.kind}: {rb.raw!r}")


def lone_pair(cluster, **kw):  # noqa: F811
    return cluster.node("shoal", **kw), cluster.node("redis", **kw)


# ---------------------------------------------------------------------------
# Standalone mode

def test_standalone_mode_refuses(node, oracle):
    cmds = [("CLUSTER", "INFO"), ("CLUSTER", "HELP"), ("CLUSTER", "KEYSLOT", "a"),
            ("CLUSTER", "NODES"), ("CLUSTER", "SLOTS"), ("CLUSTER", "MEET", "1", "2", "3", "4"),
            ("CLUSTER", "FOO"), ("CLUSTER", "MEET"), ("READONLY",), ("READWRITE",), ("ASKING",),
            ("READONLY", "x"), ("CLUSTER", "ADDSLOTS", "1"), ("CLUSTER", "MYID")]
    a, b = node.raw(), oracle.raw()
    for c in cmds:
        assert a.cmd(*c).raw == b.cmd(*c).raw, c


def test_info_cluster_section(cluster):  # noqa: F811
    for n in lone_pair(cluster):
        assert n.raw().cmd("INFO", "cluster").value == b"# Cluster\r\ncluster_enabled:1\r\n"


# ---------------------------------------------------------------------------
# One lone node per kind: argument errors and reply shapes

ERROR_SCRIPT = [
    ("CLUSTER", "FOO"), ("CLUSTER", "MEET"), ("CLUSTER", "MEET", "1.2.3.4"),
    ("CLUSTER", "MEET", "1.2.3.4", "x"), ("CLUSTER", "MEET", "1.2.3.4", "5", "x"),
    ("CLUSTER", "MEET", "1.2.3.4", "5", "6", "7"), ("CLUSTER", "MEET", "1.2.3.4", "70000"),
    ("CLUSTER", "MEET", "foo", "5"), ("CLUSTER", "MEET", "1.2.3.4", "0"),
    ("CLUSTER", "MEET", "1.2.3.4", "-5"), ("CLUSTER", "MEET", "1.2.3.4", "+5"),
    ("CLUSTER", "MEET", HOST, "7000", "-1"), ("CLUSTER", "MEET", HOST, "7000", "0"),
    ("CLUSTER", "ADDSLOTS", "x"), ("CLUSTER", "ADDSLOTS", "16384"), ("CLUSTER", "ADDSLOTS", "-1"),
    ("CLUSTER", "ADDSLOTS", "0010"), ("CLUSTER", "ADDSLOTS", "1", "1"),
    ("CLUSTER", "ADDSLOTS", "1", "x"), ("CLUSTER", "DELSLOTS", "5"),
    ("CLUSTER", "ADDSLOTSRANGE", "1"), ("CLUSTER", "ADDSLOTSRANGE", "5", "1"),
    ("CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"), ("CLUSTER", "ADDSLOTSRANGE", "1", "x"),
    ("CLUSTER", "ADDSLOTSRANGE", "0", "10", "5", "20"), ("CLUSTER", "DELSLOTSRANGE", "0", "1"),
    ("CLUSTER", "SETSLOT", "1"), ("CLUSTER", "SETSLOT", "x", "node", "a"),
    ("CLUSTER", "SETSLOT", "1", "foo"), ("CLUSTER", "SETSLOT", "1", "stable", "x"),
    ("CLUSTER", "SETSLOT", "1", "node"), ("CLUSTER", "SETSLOT", "16384", "stable"),
    ("CLUSTER", "SETSLOT", "1", "migrating", "abc"), ("CLUSTER", "SETSLOT", "1", "importing", "abc"),
    ("CLUSTER", "SETSLOT", "1", "node", "abc"),
    ("CLUSTER", "COUNTKEYSINSLOT", "x"), ("CLUSTER", "COUNTKEYSINSLOT", "-1"),
    ("CLUSTER", "COUNTKEYSINSLOT", "16384"), ("CLUSTER", "COUNTKEYSINSLOT", "5"),
    ("CLUSTER", "GETKEYSINSLOT", "5", "x"), ("CLUSTER", "GETKEYSINSLOT", "x", "5"),
    ("CLUSTER", "GETKEYSINSLOT", "16384", "1"), ("CLUSTER", "GETKEYSINSLOT", "1", "-1"),
    ("CLUSTER", "GETKEYSINSLOT", "1", "0"), ("CLUSTER", "KEYSLOT"), ("CLUSTER", "KEYSLOT", "a", "b"),
    ("CLUSTER", "KEYSLOT", "foo"), ("CLUSTER", "KEYSLOT", "{user1000}.following"),
    ("CLUSTER", "KEYSLOT", ""),
    ("CLUSTER", "FORGET", "abc"), ("CLUSTER", "FORGET", "a" * 40),
    ("CLUSTER", "COUNT-FAILURE-REPORTS", "abc"), ("CLUSTER", "REPLICAS", "abc"),
    ("CLUSTER", "SLAVES", "abc"), ("CLUSTER", "SET-CONFIG-EPOCH", "x"),
    ("CLUSTER", "SET-CONFIG-EPOCH", "-1"), ("CLUSTER", "RESET", "foo"),
    ("CLUSTER", "RESET", "soft", "hard"), ("CLUSTER", "NODES", "x"), ("CLUSTER", "INFO", "x"),
    ("CLUSTER", "MYID", "x"), ("READONLY", "x"), ("ASKING", "x"),
]


@pytest.mark.parametrize("proto", [2, 3])
def test_lone_node_errors_and_shapes(cluster, proto):  # noqa: F811
    sides = [Side(n, proto) for n in lone_pair(cluster)]
    myid = ("@myid",)
    script = list(ERROR_SCRIPT) + [
        ("CLUSTER", "INFO"), ("CLUSTER", "NODES"), ("CLUSTER", "SLOTS"), ("CLUSTER", "SHARDS"),
        ("CLUSTER", "LINKS"), ("CLUSTER", "MYID"),
        ("CLUSTER", "ADDSLOTSRANGE", "0", "10"), ("CLUSTER", "ADDSLOTS", "5"),
        ("CLUSTER", "ADDSLOTSRANGE", "3", "6"), ("CLUSTER", "DELSLOTSRANGE", "11", "12"),
        ("CLUSTER", "ADDSLOTS", "100", "99", "101", "16383"), ("CLUSTER", "DELSLOTS", "10"),
        ("CLUSTER", "NODES"), ("CLUSTER", "SLOTS"), ("CLUSTER", "SHARDS"),
        ("CLUSTER", "COUNT-FAILURE-REPORTS", myid), ("CLUSTER", "REPLICAS", myid),
        ("CLUSTER", "SLAVES", myid), ("CLUSTER", "FORGET", myid),
        ("CLUSTER", "SETSLOT", "1", "migrating", myid), ("CLUSTER", "SETSLOT", "1", "importing", myid),
        ("CLUSTER", "SETSLOT", "2000", "importing", myid), ("CLUSTER", "SETSLOT", "2000", "migrating", myid),
        ("CLUSTER", "NODES"),
        ("CLUSTER", "SETSLOT", "1", "STABLE"), ("CLUSTER", "SETSLOT", "2000", "stable"),
        ("CLUSTER", "SETSLOT", "3000", "node", myid), ("CLUSTER", "NODES"),
        ("CLUSTER", "SETSLOT", "1", "node", myid, "5"),
        ("CLUSTER", "BUMPEPOCH"), ("CLUSTER", "BUMPEPOCH"), ("CLUSTER", "SET-CONFIG-EPOCH", "5"),
        ("CLUSTER", "INFO"), ("CLUSTER", "SAVECONFIG"),
        ("CLUSTER", "FLUSHSLOTS"), ("CLUSTER", "NODES"), ("CLUSTER", "SLOTS"),
        ("CLUSTER", "ADDSLOTS", "7"), ("CLUSTER", "RESET"), ("CLUSTER", "NODES"), ("CLUSTER", "INFO"),
        ("CLUSTER", "RESET", "HARD"), ("@refresh_id",), ("CLUSTER", "NODES"), ("CLUSTER", "INFO"),
        ("CLUSTER", "SET-CONFIG-EPOCH", "5"), ("CLUSTER", "SET-CONFIG-EPOCH", "6"), ("CLUSTER", "INFO"),
        ("READONLY",), ("READWRITE",), ("ASKING",), ("CLUSTER", "HELP"),
    ]
    try:
        for i, cmd in enumerate(script):
            if cmd == ("@refresh_id",):
                compare(sides, [cmd])
                continue
            if myid in cmd:
                per = []
                for s in sides:
                    me = s.conn.call("CLUSTER", "MYID")
                    r = s.conn.cmd(*[me if a == myid else a for a in cmd])
                    per.append((r, s.norm(r)))
                assert per[0][1] == per[1][1], f"#{i} {cmd}: {per[0][0].raw!r} vs {per[1][0].raw!r}"
                continue
            if cmd == ("CLUSTER", "HELP"):
                # Our own words: same shape (status lines), starting with the usage line.
                for s in sides:
                    r = s.conn.cmd(*cmd)
                    assert r.type == "*" and all(x.type == "+" for x in r.value), r.raw[:200]
                    assert r.value[0].value.startswith(b"CLUSTER <subcommand>"), r.raw[:200]
                    text = b"\n".join(x.value for x in r.value).upper()
                    for sub in (b"ADDSLOTS", b"SETSLOT", b"SHARDS", b"MEET", b"FORGET", b"RESET"):
                        assert sub in text, sub
                continue
            compare(sides, [cmd])
    finally:
        for s in sides:
            s.close()


# ---------------------------------------------------------------------------
# Keys on a lone node that owns every slot

def test_lone_node_keys_and_cluster_down(cluster):  # noqa: F811
    nodes = lone_pair(cluster)
    for n in nodes:
        assert n.call("CLUSTER", "ADDSLOTSRANGE", 0, SLOTS - 1) == "OK"
    wait_state(nodes, "ok", timeout=10)
    sides = [Side(n) for n in nodes]
    # foo=12182, {foo}x same slot; bar=5061; x=16287 y=12222
    compare(sides, [
        ("SET", "foo", "1"), ("SET", "{foo}x", "2"), ("MGET", "foo", "{foo}x"), ("MGET", "foo", "bar"),
        ("DEL", "foo", "bar"), ("MSET", "foo", "1", "bar", "2"), ("MSET", "foo", "1", "{foo}y", "2"),
        ("CLUSTER", "COUNTKEYSINSLOT", "12182"), ("CLUSTER", "GETKEYSINSLOT", "12182", "0"),
        ("CLUSTER", "COUNTKEYSINSLOT", "5061"),
        ("SELECT", "1"), ("SELECT", "0"), ("SWAPDB", "0", "1"),
        ("MULTI",), ("SET", "x", "1"), ("SET", "y", "1"), ("EXEC",),   # CROSSSLOT at EXEC...
        ("GET", "x"),                                                  # ...and MULTI is over
        ("MULTI",), ("SET", "x", "1"), ("GET", "x"), ("EXEC",),
        ("PING",), ("DBSIZE",), ("SORT", "foo", "BY", "nosort"), ("RENAME", "foo", "bar"),
        ("RENAME", "foo", "{foo}z"), ("RENAME", "{foo}z", "foo"),
        ("CLUSTER", "FLUSHSLOTS"),
        ("CLUSTER", "RESET"),
    ])
    got = [sorted(s.conn.call("CLUSTER", "GETKEYSINSLOT", "12182", "10")) for s in sides]
    assert got[0] == got[1] == [b"foo", b"{foo}x", b"{foo}y"], got
    assert [len(s.conn.call("CLUSTER", "GETKEYSINSLOT", "12182", "2")) for s in sides] == [2, 2]

    # Unbind the slot of "bar": that slot is not served and the cluster goes down.
    for s in sides:
        assert s.conn.call("CLUSTER", "DELSLOTS", "5061") == b"OK"
    wait_state(nodes, "fail", timeout=10)
    compare(sides, [
        ("GET", "bar"), ("GET", "foo"), ("SET", "foo", "2"), ("MGET", "foo", "{foo}x"),
        ("MGET", "bar", "foo"), ("PING",),
        ("CONFIG", "SET", "cluster-allow-reads-when-down", "yes"),
        ("GET", "foo"), ("SET", "foo", "2"), ("GET", "bar"),
        ("MULTI",), ("GET", "foo"), ("EXEC",),
        ("MULTI",), ("SET", "foo", "3"), ("EXEC",),
        ("SPUBLISH", "foo", "m"),
        ("CONFIG", "SET", "cluster-allow-reads-when-down", "no"),
        ("CLUSTER", "RESET", "HARD"),
    ])
    for s in sides:
        s.close()


def _pipe(conn, cmds):
    conn.send(b"".join(conn.encode(*c) for c in cmds))
    return [r.to_py() for r in conn.read_replies(len(cmds), timeout=20)]


def _slot_view(conn, slots):
    """{slot: (count, sorted keys)} for the given slots, and the SCAN set."""
    counts = _pipe(conn, [("CLUSTER", "COUNTKEYSINSLOT", s) for s in slots])
    keys = _pipe(conn, [("CLUSTER", "GETKEYSINSLOT", s, 100000) for s in slots])
    view = {s: (c, sorted(k)) for s, c, k in zip(slots, counts, keys)}
    seen, cur = [], b"0"
    for _ in range(10000):
        cur, batch = conn.call("SCAN", cur, "COUNT", 97)
        seen += batch
        if cur == b"0":
            break
    assert len(seen) == len(set(seen)), "SCAN returned a key twice on a static keyspace"
    return view, sorted(seen)


def test_slot_key_index_many_keys(cluster):  # noqa: F811
    # Keys over thousands of slots: the per-slot index (COUNTKEYSINSLOT, GETKEYSINSLOT),
    # SCAN, RANDOMKEY and DBSIZE stay exact through adds, deletes, renames, expiry and
    # FLUSHALL, compared with redis-server.
    nodes = lone_pair(cluster)
    for n in nodes:
        assert n.call("CLUSTER", "ADDSLOTSRANGE", 0, SLOTS - 1) == "OK"
    wait_state(nodes, "ok", timeout=10)
    conns = [RawConn(n.port, timeout=20) for n in nodes]
    try:
        keys = [f"k:{i}" for i in range(3000)] + [f"{{tag}}:{i}" for i in range(200)]
        for c in conns:
            assert set(_pipe(c, [("SET", k, "v") for k in keys])) == {b"OK"}
        slots = sorted(set(_pipe(conns[0], [("CLUSTER", "KEYSLOT", k) for k in keys])))
        assert len(slots) > 2000
        views = [_slot_view(c, slots) for c in conns]
        assert views[0] == views[1]
        assert views[0][0][slots[0]][0] >= 1
        assert len(views[0][1]) == len(keys)
        # An entry's size counts its slot-list header (and is a sane number).
        for c in conns:
            assert 40 <= c.call("MEMORY", "USAGE", "k:1") <= 160

        ops = ([("DEL", f"k:{i}") for i in range(0, 3000, 3)]
               + [("UNLINK", f"{{tag}}:{i}") for i in range(0, 200, 2)]
               + [("GETDEL", f"k:{i}") for i in range(1, 300, 3)]
               + [("RENAME", f"{{tag}}:{i}", f"{{tag}}:r{i}") for i in range(1, 200, 4)]
               + [("PEXPIRE", f"k:{i}", 1) for i in range(2, 900, 3)]
               + [("SET", f"k:{i}", "again") for i in range(0, 60, 3)])
        for c in conns:
            _pipe(c, ops)
        wait_for(lambda: all(c.call("DBSIZE") == 3200 - 1000 - 100 - 100 - 300 + 20
                             for c in conns), timeout=10, what="expired keys gone")
        views = [_slot_view(c, slots) for c in conns]
        assert views[0] == views[1]
        assert sum(cnt for cnt, _ in views[0][0].values()) == conns[0].call("DBSIZE")
        for _ in range(20):
            k = conns[0].call("RANDOMKEY")
            assert conns[0].call("EXISTS", k) == 1

        for c in conns:
            assert c.call("FLUSHALL") == b"OK"
        views = [_slot_view(c, slots) for c in conns]
        assert views[0] == views[1] and views[0][1] == []
        assert all(cnt == 0 for cnt, _ in views[0][0].values())
        for c in conns:
            assert _pipe(c, [("SET", k, "v") for k in keys[:50]]) == [b"OK"] * 50
        assert _slot_view(conns[0], slots) == _slot_view(conns[1], slots)
    finally:
        for c in conns:
            c.close()


# ---------------------------------------------------------------------------
# A node that knows (unreachable) peers from a hand-written nodes.conf

ME = "a" * 40
PEER = "b" * 40
PEER_REPLICA = "c" * 40
OTHER = "d" * 40


def peer_conf(peer_port, replica_port, other_port, own_port):
    return (
        f"{ME} 127.0.0.1:{own_port}@{own_port + 10000} myself,master - 0 0 1 connected 0-8191\n"
        f"{PEER} 127.0.0.1:{peer_port}@{peer_port + 10000},peer.example master - 0 0 2 "
        f"disconnected 8192-16383\n"
        f"{PEER_REPLICA} 127.0.0.1:{replica_port}@{replica_port + 10000} slave {PEER} 0 0 2 "
        f"disconnected\n"
        f"{OTHER} 127.0.0.1:{other_port}@{other_port + 10000} master - 0 0 3 disconnected\n"
        f"vars currentEpoch 3 lastVoteEpoch 0\n")


def start_from_conf(cluster, kind, text, **kw):  # noqa: F811
    n = cluster.node(kind, start=False, **kw)
    n.port = free_port()
    with open(n.nodes_conf_path(), "w") as f:
        f.write(text.replace("OWNCPORT", str(n.port + 10000)).replace("OWNPORT", str(n.port)))
    n.start()
    return n


def _fields_norm(reply):
    """CLUSTER NODES-like text: ping/pong/link fields of peers vary with timing."""
    out = []
    for line in reply.decode().split("\n"):
        f = line.split(" ")
        if len(f) >= 8 and "myself" not in f[2]:
            f[4], f[5], f[7] = "P", "P", "L"
        out.append(" ".join(f))
    return "\n".join(out)


def test_redirections_with_known_peers(cluster):  # noqa: F811
    ports = [free_port() for _ in range(3)]   # nobody listens there
    nodes = []
    for kind in BOTH:
        n = cluster.node(kind, start=False, node_timeout=60000)
        n.port = free_port()
        with open(n.nodes_conf_path(), "w") as f:
            f.write(peer_conf(*ports, n.port))
        n.start()
        nodes.append(n)
    wait_state(nodes, "ok", timeout=10)
    sides = [Side(n) for n in nodes]
    pp = ports[0]
    # foo=12182 (peer), bar=5061 (mine), {bar}x same slot as bar
    compare(sides, [
        ("GET", "foo"), ("SET", "foo", "1"), ("MGET", "foo", "{foo}a"), ("MGET", "foo", "bar"),
        ("GET", "bar"), ("SET", "bar", "1"), ("EXISTS", "bar", "{bar}x"),
        ("READONLY",), ("GET", "foo"), ("READWRITE",),            # I'm not a replica: MOVED
        ("MULTI",), ("SET", "foo", "1"), ("EXEC",),
        ("SPUBLISH", "foo", "m"), ("SPUBLISH", "bar", "m"),
        ("CLUSTER", "COUNT-FAILURE-REPORTS", PEER), ("CLUSTER", "REPLICAS", OTHER),
        ("CLUSTER", "REPLICAS", PEER_REPLICA), ("CLUSTER", "SET-CONFIG-EPOCH", "9"),
        ("CLUSTER", "SETSLOT", "5061", "migrating", PEER_REPLICA),
        ("CLUSTER", "SETSLOT", "12182", "migrating", PEER),
        ("CLUSTER", "SETSLOT", "5061", "importing", PEER),
        # Migrating 5061 (bar's slot) to PEER: present keys served, missing ones ASKed.
        ("CLUSTER", "SETSLOT", "5061", "migrating", PEER),
        ("GET", "bar"), ("GET", "{bar}x"), ("MGET", "bar", "{bar}x"), ("MGET", "{bar}y", "{bar}x"),
        ("SET", "{bar}x", "1"), ("MGET", "bar", "{bar}x"), ("DEL", "bar", "{bar}x"),
        # Importing 12182 (foo's slot) from PEER: only with ASKING, once.
        ("CLUSTER", "SETSLOT", "12182", "importing", PEER),
        ("GET", "foo"), ("ASKING",), ("GET", "foo"), ("GET", "foo"),
        ("ASKING",), ("SET", "foo", "v"), ("ASKING",), ("MGET", "foo", "{foo}b"),
        ("ASKING",), ("MGET", "{foo}c", "{foo}d"), ("ASKING",), ("GET", "{foo}c"),
        ("MULTI",), ("ASKING",), ("GET", "foo"), ("EXEC",),
        ("CLUSTER", "SETSLOT", "12182", "node", PEER),
        ("CLUSTER", "SETSLOT", "12182", "migrating", PEER),
        ("CLUSTER", "FORGET", ME), ("CLUSTER", "FORGET", "e" * 40),
        ("CLUSTER", "SETSLOT", "0", "importing", "f" * 40),
        ("CLUSTER", "SETSLOT", "9000", "stable"),
    ])
    # Texts with timing fields: compare with those fields masked.
    nodes_text = None
    for cmd in (("CLUSTER", "NODES"), ("CLUSTER", "REPLICAS", PEER)):
        texts = []
        for s in sides:
            r = s.conn.cmd(*cmd)
            v = r.value if r.type != "*" else b"\n".join(x.value for x in r.value)
            texts.append(_fields_norm(v.replace(b":%d@" % s.node.port, b":<P>@")
                                       .replace(b"@%d " % (s.node.port + 10000), b"@<CP> ")))
        assert sorted(texts[0].split("\n")) == sorted(texts[1].split("\n")), texts
        nodes_text = nodes_text or texts[0]
    assert f"[5061->-{PEER}]" in nodes_text and f"[12182-<-{PEER}]" in nodes_text, nodes_text
    # SLOTS / SHARDS: the same content, ordered differently (Redis: hash order).
    resp3 = [Side(n, proto=3) for n in nodes]
    for cmd in (("CLUSTER", "SLOTS"), ("CLUSTER", "SHARDS")):
        for ss in (sides, resp3):
            got = [sorted(map(repr, s.norm(s.conn.cmd(*cmd))[1])) for s in ss]
            assert got[0] == got[1], cmd
    for s in resp3:
        s.close()
    slots = sides[0].conn.call("CLUSTER", "SLOTS")
    peer_range = [r for r in slots if r[0] == 8192][0]
    assert peer_range[2] == [b"127.0.0.1", pp, PEER.encode(), [b"hostname", b"peer.example"]]
    assert len(peer_range) == 3   # the replica has no replication offset yet: not listed
    # FORGET: gone from the table (and its slots with it); re-added by nobody for 60 s.
    compare(sides, [
        ("CLUSTER", "FORGET", OTHER), ("CLUSTER", "FORGET", OTHER),
        ("CLUSTER", "SETSLOT", "5061", "stable"), ("CLUSTER", "FORGET", PEER),
        ("GET", "foo"), ("CLUSTER", "REPLICAS", PEER), ("CLUSTER", "COUNT-FAILURE-REPORTS", PEER_REPLICA),
        ("CLUSTER", "SLOTS"),
    ])
    for s in sides:
        s.close()


def test_replica_serves_readonly(cluster):  # noqa: F811
    # Myself is a replica of an unreachable master: READONLY reads are served here,
    # writes and non-READONLY reads are MOVED to the master.
    conf = (f"{ME} 127.0.0.1:OWNPORT@OWNCPORT myself,slave {PEER} 0 0 0 connected\n"
            f"{PEER} 127.0.0.1:PEERPORT@PEERCPORT master - 0 0 2 disconnected 0-16383\n"
            f"vars currentEpoch 2 lastVoteEpoch 0\n")
    pp = free_port()
    conf = conf.replace("PEERPORT", str(pp)).replace("PEERCPORT", str(pp + 10000))
    nodes = [start_from_conf(cluster, k, conf, node_timeout=60000) for k in BOTH]
    wait_state(nodes, "ok", timeout=10)
    sides = [Side(n) for n in nodes]
    compare(sides, [
        ("GET", "foo"), ("READONLY",), ("GET", "foo"), ("MGET", "foo", "{foo}x"), ("SET", "foo", "1"),
        ("MULTI",), ("GET", "foo"), ("EXEC",),
        ("MULTI",), ("GET", "foo"), ("SET", "foo", "1"), ("EXEC",),
        ("READWRITE",), ("GET", "foo"),
        ("CLUSTER", "SETSLOT", "1", "stable"), ("CLUSTER", "FORGET", PEER),
        ("CLUSTER", "REPLICAS", ME), ("CLUSTER", "REPLICAS", PEER),
    ])
    info = [s.conn.call("CLUSTER", "INFO") for s in sides]
    assert b"cluster_my_epoch:2\r\n" in info[0] and b"cluster_my_epoch:2\r\n" in info[1], info
    for s in sides:
        s.close()


def test_setslot_node_moves_last_slot(cluster):  # noqa: F811
    # Myself owns slots 0-1 only. A slot with keys can't be given away; giving away the
    # last one turns this master into a replica of the new owner (Redis's default
    # cluster-allow-replica-migration yes), after which SETSLOT is refused.
    pp = free_port()
    conf = (f"{ME} 127.0.0.1:OWNPORT@OWNCPORT myself,master - 0 0 1 connected 0-1\n"
            f"{PEER} 127.0.0.1:{pp}@{pp + 10000} master - 0 0 2 disconnected 2-16383\n"
            f"vars currentEpoch 2 lastVoteEpoch 0\n")
    nodes = [start_from_conf(cluster, k, conf, node_timeout=60000) for k in BOTH]
    wait_state(nodes, "ok", timeout=10)
    sides = [Side(n) for n in nodes]
    k0 = "{3560}:k"   # slot 0
    compare(sides, [
        ("CLUSTER", "KEYSLOT", k0), ("SET", k0, "1"),
        ("CLUSTER", "SETSLOT", "0", "node", PEER), ("CLUSTER", "SETSLOT", "0", "node", "x" * 40),
        ("DEL", k0), ("CLUSTER", "SETSLOT", "0", "node", PEER), ("GET", k0),
        ("CLUSTER", "SETSLOT", "1", "migrating", PEER), ("CLUSTER", "SETSLOT", "1", "node", PEER),
        ("CLUSTER", "SETSLOT", "1", "stable"), ("CLUSTER", "REPLICAS", PEER),
        ("CLUSTER", "FORGET", PEER), ("GET", k0), ("READONLY",), ("GET", k0),
        ("CLUSTER", "SLOTS"),
    ])
    views = [myself_of(n.view()) for n in nodes]
    for v in views:
        assert "slave" in v.flags and v.master == PEER and v.slots == (), v.raw
    for s in sides:
        s.close()


# ---------------------------------------------------------------------------
# nodes.conf

def test_nodes_conf_restart_and_cross_load(cluster):  # noqa: F811
    a = cluster.node("shoal")
    myid = a.myid()
    assert a.call("CLUSTER", "ADDSLOTSRANGE", 0, 100) == "OK"
    assert a.call("CLUSTER", "ADDSLOTS", 5000) == "OK"
    assert a.call("CLUSTER", "SET-CONFIG-EPOCH", 7) == "OK"
    assert a.call("CLUSTER", "SETSLOT", 50, "migrating", myid) == "OK"
    before = myself_of(a.view())
    text = open(a.nodes_conf_path()).read()
    assert text.endswith("vars currentEpoch 7 lastVoteEpoch 0\n"), text
    # A lone node has not learned its own IP yet (Redis prints it empty too).
    assert f"{myid} :{a.port}@{a.port + 10000} myself,master - 0 0 7 connected 0-100 5000 " \
           f"[50->-{myid}]\n" in text, text

    a.restart()
    after = myself_of(a.view())
    assert after.id == myid and after.slots == before.slots == ((0, 100), (5000, 5000))
    assert after.epoch == 7 and after.open_slots == (f"[50->-{myid}]",)
    assert a.info()["cluster_current_epoch"] == 7

    # Redis loads the file Shoal wrote (same identity, slots, epoch, open slot)...
    r = cluster.node("redis", start=False)
    shutil.copy(a.nodes_conf_path(), r.nodes_conf_path())
    r.start()
    rv = myself_of(r.view())
    assert (rv.id, rv.slots, rv.epoch, rv.open_slots) == (myid, after.slots, 7, after.open_slots)
    assert r.call("CLUSTER", "SAVECONFIG") == "OK"

    # ...and Shoal loads what Redis wrote back.
    b = cluster.node("shoal", start=False)
    shutil.copy(r.nodes_conf_path(), b.nodes_conf_path())
    b.start()
    bv = myself_of(b.view())
    assert (bv.id, bv.slots, bv.epoch, bv.open_slots) == (myid, after.slots, 7, after.open_slots)


def test_nodes_conf_lock_and_validation(cluster):  # noqa: F811
    shared = os.path.join(cluster.tmpdir(), "shared-nodes.conf")
    a = cluster.node("shoal", config_file=shared)
    b = cluster.node("shoal", config_file=shared, start=False)
    rc = b.spawn_expecting_exit()
    assert rc not in (0, None), f"second node on {shared} did not refuse (rc {rc})\n{b.log()}"
    assert "already used by a different cluster node" in b.log(), b.log()
    assert a.alive() and a.myid() in open(shared).read()

    c = cluster.node("shoal", start=False)
    with open(c.nodes_conf_path(), "w") as f:
        f.write(f"{ME} 127.0.0.1:1@2 myself,master - 0 0 0 connected 0-10\n"
                f"{PEER} 127.0.0.1:3@4 master - 0 0 0 connected 5-20\n")
    rc = c.spawn_expecting_exit()
    assert rc not in (0, None), c.log()
    assert re.search(r"nodes\.conf:2: slot 5 is assigned to two nodes", c.log()), c.log()
    with open(c.nodes_conf_path(), "w") as f:
        f.write(f"{PEER} 127.0.0.1:3@4 master - 0 0 0 connected 5-20\n")
    rc = c.spawn_expecting_exit()
    assert rc not in (0, None) and "no 'myself' node line" in c.log(), c.log()


# ---------------------------------------------------------------------------
# A real 3-master cluster per kind

def slot_keys():
    """One key per hash slot ("{tag}" hashes to exactly that slot)."""
    from redis.crc import key_slot
    keys = [None] * SLOTS
    left, i = SLOTS, 0
    while left:
        tag = str(i).encode()
        s = key_slot(tag)
        if keys[s] is None:
            keys[s] = b"{" + tag + b"}:k"
            left -= 1
        i += 1
    return keys


@pytest.mark.timeout_s(90)
@pytest.mark.parametrize("kind", kind_params())
def test_three_masters_all_slots(cluster, kind):  # noqa: F811
    from redis.cluster import ClusterNode as PyNode, RedisCluster
    nodes = cluster.build([kind] * 3)
    rc = RedisCluster(startup_nodes=[PyNode(HOST, nodes[1].port)], socket_timeout=10)
    keys = slot_keys()
    try:
        rc.mset_nonatomic({k: b"v" + k for k in keys})
        vals = rc.mget_nonatomic(keys)
        assert vals == [b"v" + k for k in keys]
    finally:
        rc.close()
    assert sum(int(n.ok("DBSIZE")) for n in nodes) == SLOTS

    owner = {}
    for n in nodes:
        me = myself_of(n.view())
        for a, b in me.slots:
            for s in range(a, b + 1):
                owner[s] = n
    assert len(owner) == SLOTS
    for s in (0, 5460, 5461, 12182, 16383):
        n = owner[s]
        assert n.call("CLUSTER", "COUNTKEYSINSLOT", s) == 1
        assert n.call("CLUSTER", "GETKEYSINSLOT", s, 10) == [keys[s].decode()]
        other = next(x for x in nodes if x is not n)
        assert other.call("CLUSTER", "COUNTKEYSINSLOT", s) == 0
        assert str(other.call("GET", keys[s])) == f"MOVED {s} {n.addr}"
        # Inside MULTI the redirection aborts the transaction.
        with RawConn(other.port) as c:
            assert c.cmd("MULTI").raw == b"+OK\r\n"
            assert c.cmd("SET", keys[s], "x").raw == f"-MOVED {s} {n.addr}\r\n".encode()
            assert c.cmd("EXEC").raw == b"-EXECABORT Transaction discarded because of previous errors.\r\n"

    # SHARDS: one shard per master, its slot ranges, and the node map keys in Redis's order.
    with RawConn(nodes[0].port) as c:
        c.cmd("HELLO", 3)
        shards = c.cmd("CLUSTER", "SHARDS")
    assert shards.type == "*" and len(shards.value) == 3
    covered = 0
    for sh in shards.value:
        assert sh.type == "%" and [k.value for k, _ in sh.value] == [b"slots", b"nodes"]
        slots_r, nodes_r = sh.value[0][1], sh.value[1][1]
        ints = [x.value for x in slots_r.value]
        assert all(x.type == ":" for x in slots_r.value)
        covered += sum(b - a + 1 for a, b in zip(ints[0::2], ints[1::2]))
        assert len(nodes_r.value) == 1
        m = nodes_r.value[0]
        assert [k.value for k, _ in m.value] == [b"id", b"port", b"ip", b"endpoint", b"role",
                                                 b"replication-offset", b"health"]
        d = {k.value: v.value for k, v in m.value}
        assert d[b"role"] == b"master" and d[b"health"] == b"online" and d[b"ip"] == HOST.encode()
    assert covered == SLOTS

    # A restarted node rejoins from its nodes.conf with the same identity and slots.
    n = nodes[2]
    myid, slots = n.myid(), myself_of(n.view()).slots
    n.restart()
    assert n.myid() == myid and myself_of(n.view()).slots == slots
    wait_state(nodes, "ok", timeout=20)
    wait_for(lambda: all(x.view()[myid].link == "connected" and x.view()[myid].slots == slots
                         for x in nodes), 20, what="restarted node reconnected everywhere")
    s = slots[0][0]
    assert n.call("GET", keys[s]) is None          # served here again (data was not saved)
    assert str(nodes[0].call("GET", keys[s])) == f"MOVED {s} {n.addr}"

    # redis-cli: the cluster checks clean, and -c follows MOVED to the restarted node.
    r = redis_cli("--cluster", "check", nodes[0].addr, timeout=20)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "[OK] All 16384 slots covered." in out, out
    assert "[ERR]" not in out and "[WARNING]" not in out, out
    r = redis_cli("-c", "-p", nodes[0].port, "SET", keys[s].decode(), "again", timeout=10)
    assert r.stdout.strip() == "OK", (r.stdout, r.stderr)
    assert n.call("GET", keys[s]) == "again"

"""shoal-proxy: every command family through the proxy, in front of a Shoal cluster and a
Redis 7.0 cluster (3 masters, one replica each where the kind has replication).

Most checks are differential: the same pipeline of commands goes through the proxy and to
a standalone server of the same kind (shared `node` / `oracle` fixtures), and the replies
must be byte-identical (or equal as sets where the order depends on a hash seed). A
standalone server answers multi-key commands over any keys, so this also checks that the
proxy's split-and-merge (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH) gives exactly what one
server would. Then: CROSSSLOT refusals (Redis's text, no side effects), whole-cluster
commands (DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHALL/FLUSHDB, INFO), connection commands,
HELLO 2/3 with RESP3 towards the client, CLIENT *, the proxy posing as a one-node
cluster (CLUSTER SLOTS/SHARDS/NODES/INFO/KEYSLOT, redis-py RedisCluster), and bad input
(unknown commands, wrong arity, protocol garbage, every command with odd arguments):
always a reply, never a crash.

Backends: env SHOAL_PROXY_BACKENDS (default "shoal,redis"); the proxy binary:
SHOAL_PROXY_BIN (default bin/shoal-proxy).
"""

import random
import time

import pytest
import redis

from conftest import HOST, RawConn, fmt_raw
from cluster_util import parse_cluster_info, parse_cluster_nodes, wait_for
from proxy_util import (CROSSSLOT, SLOTS, T, backend_params, differential, key_slot, proxy_env,
                        proxy_px, reference_server, run_script, spread_keys)


@pytest.fixture(scope="module", params=backend_params())
def env(request):
    yield from proxy_env(request)


@pytest.fixture
def px(request, env):
    yield from proxy_px(request, env)


@pytest.fixture
def ref(request, env):
    return reference_server(request, env)


def conns(px, ref, resp3=False):
    p, r = px.proxy.raw(timeout=10), ref.raw(timeout=10)
    if resp3:
        for c in (p, r):
            h = c.cmd("HELLO", "3")
            assert h.type == "%", f"HELLO 3 on port {c.port}: {fmt_raw(h.raw)}"
    return p, r


def masters_of(cluster, keys):
    return {cluster.owner(k).port for k in keys}


# ---------------------------------------------------------------------------
# Single-key commands of every type

def single_key_script(p):
    s, n, f, e = p + "str", p + "num", p + "flt", p + "exp"
    lst, h, st, z, b, hl = p + "list", p + "hash", p + "set", p + "zset", p + "bits", p + "hll"
    miss, bn = p + "missing", p.encode() + b"bin\x00\xff key\r\n"
    return [
        ("SET", s, "hello"), ("GET", s), ("GET", miss), ("APPEND", s, " world"), ("STRLEN", s),
        ("GETRANGE", s, 0, 4), ("SUBSTR", s, 0, 4), ("SETRANGE", s, 6, "W"), ("GET", s),
        ("SET", s, "v2", "GET"), ("SET", s, "v3", "NX"), ("SET", s, "v4", "XX"),
        ("SETNX", s, "x"), ("GETSET", s, "v5"), ("GETDEL", s), ("EXISTS", s),
        ("SETEX", e, 100, "v"), T("TTL", e), T("PTTL", e), ("PERSIST", e), ("TTL", e),
        ("PSETEX", e, 100000, "v"), T("PEXPIRETIME", e), ("EXPIRE", e, 1000, "NX"),
        ("EXPIRE", e, 2000, "XX"), ("GETEX", e, "PERSIST"), ("TTL", e), ("TTL", miss),
        ("INCR", n), ("INCRBY", n, 10), ("DECR", n), ("DECRBY", n, 3), ("GET", n),
        ("INCRBYFLOAT", f, "1.5"), ("INCRBYFLOAT", f, "1e3"), ("GET", f),
        ("SET", bn, b"\x00\xffbinary\r\nvalue"), ("GET", bn), ("TYPE", bn), ("STRLEN", bn),
        ("OBJECT", "ENCODING", n),
        ("RPUSH", lst, "a", "b", "c", "d"), ("LPUSH", lst, "z"), ("LRANGE", lst, 0, -1),
        ("LINDEX", lst, 1), ("LLEN", lst), ("LSET", lst, 0, "zz"),
        ("LINSERT", lst, "BEFORE", "b", "bb"), ("LREM", lst, 1, "bb"), ("LPOS", lst, "c"),
        ("LTRIM", lst, 0, 10), ("LPOP", lst), ("RPOP", lst, 2), ("LPUSHX", lst, "x"),
        ("RPUSHX", miss, "y"), ("LMPOP", 1, lst, "LEFT", "COUNT", 1), ("LRANGE", lst, 0, -1),
        ("INCR", lst), ("GET", lst), ("TYPE", lst),
        ("HSET", h, "f1", "v1", "f2", "v2", "f3", "3"), ("HGET", h, "f1"),
        ("HMGET", h, "f1", "nope", "f2"), ("HGETALL", h), ("HKEYS", h), ("HVALS", h),
        ("HLEN", h), ("HEXISTS", h, "f1"), ("HSTRLEN", h, "f1"), ("HINCRBY", h, "f3", 5),
        ("HINCRBYFLOAT", h, "f3", "0.5"), ("HSETNX", h, "f1", "x"), ("HDEL", h, "f2", "nope"),
        ("HSCAN", h, 0), T("HRANDFIELD", h), T("HRANDFIELD", h, 2, "WITHVALUES"),
        ("HGETALL", miss), ("HMSET", h, "f9", "v9"), ("HGETALL", h),
        ("SADD", st, 3, 1, 2, 10), ("SADD", st, 2), ("SMEMBERS", st), ("SISMEMBER", st, 1),
        ("SMISMEMBER", st, 1, 99), ("SCARD", st), ("SREM", st, 10), ("SSCAN", st, 0),
        T("SRANDMEMBER", st), T("SPOP", st), ("SMEMBERS", miss),
        ("ZADD", z, 1, "a", 2, "b", 3, "c", "2.5", "d"), ("ZADD", z, "XX", "CH", 5, "a"),
        ("ZRANGE", z, 0, -1, "WITHSCORES"), ("ZRANGE", z, 0, -1, "REV"),
        ("ZRANGE", z, "(1", "+inf", "BYSCORE", "LIMIT", 0, 2),
        ("ZRANGEBYSCORE", z, "-inf", "+inf", "WITHSCORES"), ("ZREVRANGEBYSCORE", z, "+inf", "-inf"),
        ("ZRANGEBYLEX", z, "-", "+"), ("ZLEXCOUNT", z, "-", "+"), ("ZSCORE", z, "d"),
        ("ZMSCORE", z, "a", "nope"), ("ZRANK", z, "c"), ("ZREVRANK", z, "c"),
        ("ZINCRBY", z, "1.25", "b"), ("ZCOUNT", z, 2, 4), ("ZCARD", z), ("ZREM", z, "nope"),
        ("ZPOPMIN", z), ("ZPOPMAX", z, 1), ("ZMPOP", 1, z, "MIN", "COUNT", 1), ("ZSCAN", z, 0),
        T("ZRANDMEMBER", z), ("ZREMRANGEBYRANK", z, 0, 0), ("ZRANGE", z, 0, -1, "WITHSCORES"),
        ("ZSCORE", miss, "a"),
        ("SETBIT", b, 7, 1), ("SETBIT", b, 100, 1), ("GETBIT", b, 7), ("BITCOUNT", b),
        ("BITCOUNT", b, 0, 0), ("BITPOS", b, 1),
        ("BITFIELD", b, "SET", "u8", 0, 255, "GET", "u8", 0, "INCRBY", "u8", 0, 10),
        ("BITFIELD_RO", b, "GET", "u4", 0),
        ("PFADD", hl, "a", "b", "c"), ("PFADD", hl, "a"), ("PFCOUNT", hl),
        ("RPUSH", lst, "q", "a", "m"), ("SORT", lst, "ALPHA"),
        ("SORT_RO", lst, "ALPHA", "LIMIT", 0, 1), ("SORT", lst, "ALPHA", "DESC"),
        ("OBJECT", "ENCODING", h), ("DUMP", h), ("DUMP", miss),
        ("DEL", n), ("UNLINK", f), ("TOUCH", h), ("EXISTS", h), ("DEL", miss), ("TYPE", miss),
        ("TYPE", z), ("EXPIRE", h, 100), ("EXPIRE", miss, 100), ("PERSIST", h),
        # errors forwarded (or produced) with Redis's texts
        ("GET",), ("SET", s), ("SET", s, "v", "BADOPT"), ("INCRBY", s, "notanumber"),
        ("SET", n, "abc"), ("INCR", n), ("ZADD", z, "nan", "a"), ("HSET", h),
        ("LPUSH",), ("HINCRBY", h, "f1", 1), ("LINDEX", lst, "x"),
        ("PING",), ("PING", "hi"), ("ECHO", "hello"), ("ECHO", b"\x00\r\n"),
        ("SET", "", "empty-key"), ("GET", ""),
    ]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_single_key_commands_match_standalone(px, ref, resp3):
    p, r = conns(px, ref, resp3)
    script = single_key_script("r3:" if resp3 else "r2:")
    bad = differential(p, r, script)
    assert not bad, "proxy replies differ from a standalone server:\n" + "\n".join(bad[:30])


def test_restore_roundtrip(px):
    c = px.proxy.raw()
    assert c.cmd("RPUSH", "dump:src", "a", "b", "c").raw == b":3\r\n"
    d = c.cmd("DUMP", "dump:src")
    assert d.type == "$" and d.value, fmt_raw(d.raw)
    for i in range(10):  # several slots, so several masters
        k = f"dump:dst{i}"
        assert c.cmd("RESTORE", k, 0, d.value).raw == b"+OK\r\n"
        assert c.cmd("LRANGE", k, 0, -1).to_py() == [b"a", b"b", b"c"]
        assert px.cluster.owner(k).call("LLEN", k) == 3
    r = c.cmd("RESTORE", "dump:dst0", 0, d.value)
    assert r.raw == b"-BUSYKEY Target key name already exists.\r\n", fmt_raw(r.raw)


def test_keys_land_on_their_slot_owner(px):
    c = px.proxy.raw()
    keys = spread_keys(60, "own")
    for k in keys:
        assert c.cmd("SET", k, "v-" + k).raw == b"+OK\r\n"
    assert len(masters_of(px.cluster, keys)) == 3
    for k in keys:
        assert px.cluster.get_direct(k) == "v-" + k, f"{k} not on its slot's master"
    assert px.cluster.total_keys() == len(keys)


# ---------------------------------------------------------------------------
# Multi-key commands split over nodes, merged in order

def split_script(keys, lst, miss):
    k = keys
    mset = ["MSET"]
    for i, key in enumerate(k):
        mset += [key, f"v{i}"]
    return [
        tuple(mset), ("MGET", *k), ("MGET", *k, miss, k[3], k[3], miss),
        ("MSET", k[0], "a", k[5], "c", k[0], "b"), ("MGET", k[0], k[5]),
        ("EXISTS", k[0], k[0], k[1], miss), ("EXISTS", miss), ("TOUCH", k[0], k[1], miss),
        ("RPUSH", lst, "x"), ("MGET", k[1], lst, k[2]), ("EXISTS", lst, k[1]),
        ("DEL", k[0], k[0], k[1], miss), ("UNLINK", k[2], k[3], k[3]),
        ("EXISTS", k[0], k[1], k[2], k[3], k[4]), ("MGET", k[0], k[1], k[2], k[3], k[4]),
        ("DEL", miss, k[0]), ("UNLINK", miss), ("TOUCH", miss, miss),
        ("DEL", *k[4:], lst), ("MGET", *k), ("EXISTS", *k),
        ("MGET",), ("MSET",), ("MSET", k[0]), ("MSET", k[0], "v", k[1]), ("DEL",),
        ("EXISTS",), ("UNLINK",), ("TOUCH",),
        ("MSET", k[7], "x"), ("MGET", k[7]), ("DEL", k[7]),
    ]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_split_commands_match_standalone(px, ref, resp3):
    keys = spread_keys(12, "sp3:" if resp3 else "sp2:")
    assert len(masters_of(px.cluster, keys)) == 3, "test keys must cover every master"
    p, r = conns(px, ref, resp3)
    bad = differential(p, r, split_script(keys, "splitlist" + str(resp3), "nosuchkey"))
    assert not bad, "split command replies differ from a standalone server:\n" + "\n".join(bad)


def test_split_commands_large_fanout(px):
    c = px.proxy.raw(timeout=20)
    keys = [f"big:{i}" for i in range(2000)]
    args = []
    for i, k in enumerate(keys):
        args += [k, f"val{i}"]
    assert c.cmd("MSET", *args).raw == b"+OK\r\n"
    assert px.cluster.total_keys() == 2000
    order = keys[::-1] + ["big:none"] + keys[:10]
    r = c.cmd("MGET", *order)
    want = [f"val{2000 - 1 - i}".encode() for i in range(2000)] + [None] + \
        [f"val{i}".encode() for i in range(10)]
    assert r.to_py() == want
    assert c.cmd("EXISTS", *keys, *keys[:5]).raw == b":2005\r\n"
    assert c.cmd("TOUCH", *keys).raw == b":2000\r\n"
    assert c.cmd("UNLINK", *keys[:1000]).raw == b":1000\r\n"
    assert c.cmd("DEL", *keys).raw == b":1000\r\n"
    assert px.cluster.total_keys() == 0


# ---------------------------------------------------------------------------
# Same-slot multi-key commands; CROSSSLOT otherwise

def same_slot_script(t):
    k = lambda n: f"{{{t}}}{n}"  # noqa: E731
    return [
        ("MSETNX", k("a"), 1, k("b"), 2), ("MSETNX", k("a"), 1, k("c"), 3),
        ("MGET", k("a"), k("b"), k("c")), ("RENAME", k("a"), k("a2")),
        ("RENAMENX", k("b"), k("a2")), ("RENAMENX", k("b"), k("b2")), ("GET", k("b2")),
        ("RENAME", k("nope"), k("x")),
        ("SADD", k("s1"), 1, 2, 3), ("SADD", k("s2"), 2, 3, 4), ("SMOVE", k("s1"), k("s2"), 1),
        ("SMEMBERS", k("s2")), ("SINTERSTORE", k("s3"), k("s1"), k("s2")), ("SMEMBERS", k("s3")),
        ("SUNIONSTORE", k("s4"), k("s1"), k("s2")), ("SMEMBERS", k("s4")),
        ("SDIFFSTORE", k("s5"), k("s2"), k("s1")), ("SMEMBERS", k("s5")),
        ("SINTER", k("s1"), k("s2")), ("SUNION", k("s1"), k("s2")), ("SDIFF", k("s2"), k("s1")),
        ("SINTERCARD", 2, k("s1"), k("s2")),
        ("ZADD", k("z1"), 1, "a", 2, "b"), ("ZADD", k("z2"), 3, "b", 4, "c"),
        ("ZUNIONSTORE", k("z3"), 2, k("z1"), k("z2"), "WEIGHTS", 1, 2),
        ("ZRANGE", k("z3"), 0, -1, "WITHSCORES"),
        ("ZINTERSTORE", k("z4"), 2, k("z1"), k("z2")), ("ZRANGE", k("z4"), 0, -1, "WITHSCORES"),
        ("ZDIFFSTORE", k("z5"), 2, k("z1"), k("z2")), ("ZRANGE", k("z5"), 0, -1),
        ("ZUNION", 2, k("z1"), k("z2"), "WITHSCORES"), ("ZINTER", 2, k("z1"), k("z2")),
        ("ZDIFF", 2, k("z2"), k("z1"), "WITHSCORES"), ("ZINTERCARD", 2, k("z1"), k("z2")),
        ("ZRANGESTORE", k("z6"), k("z2"), 0, -1), ("ZRANGE", k("z6"), 0, -1, "WITHSCORES"),
        ("RPUSH", k("l1"), "a", "b", "c"), ("LMOVE", k("l1"), k("l2"), "LEFT", "RIGHT"),
        ("RPOPLPUSH", k("l1"), k("l2")), ("LRANGE", k("l2"), 0, -1),
        ("COPY", k("a2"), k("cp")), ("GET", k("cp")), ("COPY", k("a2"), k("cp")),
        ("COPY", k("a2"), k("cp"), "REPLACE"),
        ("SET", k("x"), "ohmytext"), ("SET", k("y"), "mynewtext"), ("LCS", k("x"), k("y")),
        ("LCS", k("x"), k("y"), "LEN"), ("LCS", k("x"), k("y"), "IDX", "MINMATCHLEN", 2),
        ("SETBIT", k("b1"), 1, 1), ("SETBIT", k("b2"), 2, 1),
        ("BITOP", "OR", k("b3"), k("b1"), k("b2")), ("GET", k("b3")),
        ("BITOP", "NOT", k("b4"), k("b1")), ("GET", k("b4")),
        ("PFADD", k("h1"), "a", "b"), ("PFADD", k("h2"), "c"),
        ("PFMERGE", k("h3"), k("h1"), k("h2")), ("PFCOUNT", k("h1"), k("h2")), ("PFCOUNT", k("h3")),
        ("RPUSH", k("l3"), "x", "y"), ("LMPOP", 2, k("l1"), k("l3"), "LEFT"),
        ("ZMPOP", 2, k("nz"), k("z2"), "MAX", "COUNT", 2),
        ("SORT", k("l2"), "ALPHA", "STORE", k("sorted")), ("LRANGE", k("sorted"), 0, -1),
        ("MGET", k("a2"), k("b2"), k("cp")), ("EXISTS", k("a2"), k("b2"), k("nope")),
        ("DEL", k("a2"), k("b2"), k("cp")),
    ]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_same_slot_multikey_commands_match_standalone(px, ref, resp3):
    p, r = conns(px, ref, resp3)
    bad = differential(p, r, same_slot_script("tag3" if resp3 else "tag2"))
    assert not bad, "same-slot multi-key replies differ:\n" + "\n".join(bad)


def cross_pairs(cluster):
    """(a, b) on different masters, and (c, d) on the same master but different slots."""
    m0, m1 = cluster.masters[0], cluster.masters[1]
    a, = cluster.keys_on(m0, 1, "xa")
    b, = cluster.keys_on(m1, 1, "xb")
    c, d = cluster.keys_on(m0, 2, "xc")
    assert key_slot(c.encode()) != key_slot(d.encode())
    return (a, b), (c, d)


CROSS_TEMPLATES = [
    ("MSETNX", "A", 1, "B", 2), ("RENAME", "A", "B"), ("RENAMENX", "A", "B"),
    ("SMOVE", "A", "B", "m"), ("SINTERSTORE", "A", "B"), ("SUNIONSTORE", "A", "B"),
    ("SDIFFSTORE", "A", "B"), ("SINTER", "A", "B"), ("SUNION", "A", "B"), ("SDIFF", "A", "B"),
    ("SINTERCARD", 2, "A", "B"), ("ZUNIONSTORE", "A", 2, "A", "B"),
    ("ZINTERSTORE", "A", 2, "A", "B"), ("ZDIFFSTORE", "A", 2, "A", "B"), ("ZUNION", 2, "A", "B"),
    ("ZINTER", 2, "A", "B"), ("ZDIFF", 2, "A", "B"), ("ZINTERCARD", 2, "A", "B"),
    ("ZRANGESTORE", "A", "B", 0, -1), ("LMOVE", "A", "B", "LEFT", "RIGHT"),
    ("RPOPLPUSH", "A", "B"), ("COPY", "A", "B"), ("LCS", "A", "B"), ("BITOP", "AND", "A", "B"),
    ("PFMERGE", "A", "B"), ("PFCOUNT", "A", "B"), ("LMPOP", 2, "A", "B", "LEFT"),
    ("ZMPOP", 2, "A", "B", "MIN"), ("SORT", "A", "STORE", "B"),
]


def test_crossslot_refused_with_redis_text(px):
    c = px.proxy.raw()
    for a, b in cross_pairs(px.cluster):
        # Sources exist so a command that ran would change something.
        for k in (a, b):
            assert c.cmd("SET", k + ":probe", "1").raw == b"+OK\r\n"
        bad = []
        for tmpl in CROSS_TEMPLATES:
            args = [a if x == "A" else b if x == "B" else x for x in tmpl]
            r = c.cmd(*args)
            if r.raw != CROSSSLOT:
                bad.append(f"{' '.join(map(str, args))}: {fmt_raw(r.raw)}")
        assert not bad, "expected CROSSSLOT:\n" + "\n".join(bad)
        # No side effects: a refused MSETNX/COPY/RENAME changed nothing.
        assert c.cmd("EXISTS", a, b).raw == b":0\r\n"
    assert px.cluster.total_keys() == 4


def test_crossslot_no_partial_effects(px):
    (a, b), _ = cross_pairs(px.cluster)
    c = px.proxy.raw()
    assert c.cmd("SET", a, "1").raw == b"+OK\r\n"
    assert c.cmd("RENAME", a, b).raw == CROSSSLOT
    assert c.cmd("GET", a).raw == b"$1\r\n1\r\n" and c.cmd("EXISTS", b).raw == b":0\r\n"
    assert c.cmd("SADD", a + "s", "m").raw == b":1\r\n"
    assert c.cmd("MSETNX", b, "x", a + "zz", "y").raw == CROSSSLOT
    assert c.cmd("EXISTS", b, a + "zz").raw == b":0\r\n"


# ---------------------------------------------------------------------------
# Whole-cluster commands

def fill(conn, n, prefix="w", types=False):
    keys = [f"{prefix}:{i}" for i in range(n)]
    for i in range(0, n, 500):
        args = []
        for k in keys[i:i + 500]:
            args += [k, "x"]
        assert conn.cmd("MSET", *args).raw == b"+OK\r\n"
    return keys


def test_dbsize_is_the_sum(px):
    c = px.proxy.raw()
    assert c.cmd("DBSIZE").raw == b":0\r\n"
    fill(c, 1234)
    per = [m.call("DBSIZE") for m in px.cluster.masters]
    assert all(x > 0 for x in per), per
    assert c.cmd("DBSIZE").raw == b":1234\r\n"


def test_keys_merges_every_master(px):
    c = px.proxy.raw()
    assert c.cmd("KEYS", "*").raw == b"*0\r\n"
    keys = fill(c, 700, "kk")
    fill(c, 50, "other")
    r = c.cmd("KEYS", "kk:*", timeout=20)
    assert r.type == "*"
    got = [x.value.decode() for x in r.value]
    assert len(got) == 700 and set(got) == set(keys)
    assert len(c.cmd("KEYS", "*").value) == 750
    assert len(c.cmd("KEYS", "kk:1?").to_py()) == 10
    assert c.cmd("KEYS", "nomatch*").raw == b"*0\r\n"


def scan_all(conn, *opts, limit=20000):
    seen, cursor, rounds = [], b"0", 0
    while True:
        r = conn.cmd("SCAN", cursor, *opts)
        assert r.type == "*" and len(r.value) == 2, fmt_raw(r.raw)
        cursor = r.value[0].value
        assert cursor.isdigit(), f"cursor {cursor!r} is not a decimal number"
        seen += [x.value.decode() for x in r.value[1].value]
        rounds += 1
        assert rounds < limit, "SCAN does not terminate"
        if cursor == b"0":
            return seen, rounds


def test_scan_walks_every_master(px):
    c = px.proxy.raw()
    seen, _ = scan_all(c)
    assert seen == []
    keys = fill(c, 3000, "sc")
    for i in range(20):
        assert c.cmd("RPUSH", f"sclist:{i}", "x").raw == b":1\r\n"
    seen, rounds = scan_all(c, "COUNT", 100)
    assert set(seen) == set(keys) | {f"sclist:{i}" for i in range(20)}
    assert rounds >= 3, "3020 keys on 3 masters can't come back in fewer than 3 SCAN calls"
    seen, _ = scan_all(c, "MATCH", "sc:1*", "COUNT", 1000)
    assert set(seen) == {k for k in keys if k.startswith("sc:1")}
    seen, _ = scan_all(c, "TYPE", "list", "COUNT", 500)
    assert set(seen) == {f"sclist:{i}" for i in range(20)}
    r = c.cmd("SCAN", "notacursor")
    assert r.raw == b"-ERR invalid cursor\r\n", fmt_raw(r.raw)
    # redis-py's scan_iter parses the cursor as an integer and loops until 0.
    got = set(k.decode() for k in px.proxy.client().scan_iter(count=250))
    assert len(got) == 3020


def test_randomkey(px):
    c = px.proxy.raw()
    assert c.cmd("RANDOMKEY").raw == b"$-1\r\n"
    # One key on one master: every RANDOMKEY must find it whichever master is asked first.
    k = px.cluster.keys_on(px.cluster.masters[2], 1, "rk")[0]
    assert c.cmd("SET", k, "1").raw == b"+OK\r\n"
    for _ in range(12):
        assert c.cmd("RANDOMKEY").value == k.encode()
    keys = set(fill(c, 300, "rnd")) | {k}
    got = {c.cmd("RANDOMKEY").value.decode() for _ in range(60)}
    assert got <= keys and len(got) > 1


@pytest.mark.parametrize("cmd", [("FLUSHALL",), ("FLUSHDB",), ("FLUSHALL", "ASYNC"),
                                 ("FLUSHDB", "SYNC")], ids=lambda c: "_".join(c))
def test_flush_every_master(px, cmd):
    c = px.proxy.raw()
    fill(c, 600, "fl")
    assert all(m.call("DBSIZE") > 0 for m in px.cluster.masters)
    assert c.cmd(*cmd).raw == b"+OK\r\n"
    wait_for(lambda: px.cluster.total_keys() == 0, 5, what="every master empty after " + cmd[0])
    assert c.cmd("DBSIZE").raw == b":0\r\n"


def test_info_has_cluster_keyspace(px):
    c = px.proxy.raw()
    fill(c, 321, "inf")
    r = c.cmd("INFO")
    assert r.type == "$", fmt_raw(r.raw)
    text = r.value.decode()
    assert "redis_version:" in text, "INFO must look like a Redis server's (clients parse it)"
    assert "# Keyspace" in text
    assert "db0:keys=321," in text, text[-500:]
    ks = c.cmd("INFO", "keyspace").value.decode()
    assert "db0:keys=321," in ks and "redis_version" not in ks
    info = px.proxy.client().info()
    assert "redis_version" in info and info["db0"]["keys"] == 321


# ---------------------------------------------------------------------------
# Connection commands

def test_ping_echo_time_select_quit(px):
    c = px.proxy.raw()
    assert c.cmd("PING").raw == b"+PONG\r\n"
    assert c.cmd("PING", "hello").raw == b"$5\r\nhello\r\n"
    assert c.cmd("ECHO", "x y").raw == b"$3\r\nx y\r\n"
    t = c.cmd("TIME").to_py()
    assert len(t) == 2 and abs(int(t[0]) - time.time()) < 5 and 0 <= int(t[1]) < 10 ** 6
    assert c.cmd("SELECT", 0).raw == b"+OK\r\n"
    r = c.cmd("SELECT", 1)
    assert r.raw.startswith(b"-ERR"), fmt_raw(r.raw)
    assert c.cmd("SELECT", "x").raw.startswith(b"-ERR")
    assert c.cmd("PING").raw == b"+PONG\r\n"
    assert c.cmd("QUIT").raw == b"+OK\r\n"
    assert c.is_closed_by_peer(2.0)
    # Inline commands, as telnet sends them.
    c2 = px.proxy.raw()
    c2.send(b"PING\r\nSET inl:k inline-value\r\n\r\nGET inl:k\r\nECHO \"a b\"\r\n")
    assert [x.raw for x in c2.read_replies(4)] == [
        b"+PONG\r\n", b"+OK\r\n", b"$12\r\ninline-value\r\n", b"$3\r\na b\r\n"]


def test_hello_and_resp3_replies(px):
    c = px.proxy.raw()
    h = c.cmd("HELLO")
    assert h.type == "*" and len(h.value) == 14, fmt_raw(h.raw)
    h2 = dict(zip(h.to_py()[0::2], h.to_py()[1::2]))
    assert h2[b"proto"] == 2 and set(h2) == {b"server", b"version", b"proto", b"id", b"mode",
                                             b"role", b"modules"}
    assert c.cmd("CLIENT", "ID").raw == b":%d\r\n" % h2[b"id"]
    h = c.cmd("HELLO", "3", "SETNAME", "resp3client")
    assert h.type == "%" and len(h.value) == 7, fmt_raw(h.raw)
    assert h.to_py()[b"proto"] == 3
    assert c.cmd("CLIENT", "GETNAME").raw == b"$11\r\nresp3client\r\n"
    c.cmd("HSET", "h3", "a", "1", "b", "2")
    c.cmd("SADD", "s3", "1", "2")
    c.cmd("ZADD", "z3", "1.5", "m")
    assert c.cmd("HGETALL", "h3").raw == b"%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert c.cmd("SMEMBERS", "s3").raw == b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    assert c.cmd("ZSCORE", "z3", "m").raw == b",1.5\r\n"
    assert c.cmd("ZRANGE", "z3", 0, -1, "WITHSCORES").raw == b"*1\r\n*2\r\n$1\r\nm\r\n,1.5\r\n"
    assert c.cmd("GET", "nokey").raw == b"_\r\n"
    assert c.cmd("MGET", "nokey", "h3x").raw == b"*2\r\n_\r\n_\r\n"
    assert c.cmd("HGETALL", "nokey").raw == b"%0\r\n"
    assert c.cmd("EXISTS", "h3").raw == b":1\r\n"
    assert c.cmd("PING").raw == b"+PONG\r\n"
    h = c.cmd("HELLO", "2")
    assert h.type == "*"
    assert c.cmd("GET", "nokey").raw == b"$-1\r\n"
    assert c.cmd("HGETALL", "h3").raw.startswith(b"*4\r\n")
    r = c.cmd("HELLO", "4")
    assert r.raw.startswith(b"-NOPROTO"), fmt_raw(r.raw)
    r = c.cmd("HELLO", "x")
    assert r.is_error, fmt_raw(r.raw)


def client_list(conn):
    """CLIENT LIST -> {id: {field: value}}"""
    r = conn.cmd("CLIENT", "LIST")
    assert r.type in "$=", fmt_raw(r.raw)
    out = {}
    for ln in r.value.decode().splitlines():
        f = dict(x.split("=", 1) for x in ln.split(" ") if "=" in x)
        out[int(f["id"])] = f
    return out


def test_client_commands(px):
    a, b = px.proxy.raw(), px.proxy.raw()
    ida, idb = a.cmd("CLIENT", "ID").value, b.cmd("CLIENT", "ID").value
    assert isinstance(ida, int) and ida != idb
    assert a.cmd("CLIENT", "GETNAME").raw == b"$-1\r\n"
    assert a.cmd("CLIENT", "SETNAME", "alpha").raw == b"+OK\r\n"
    assert a.cmd("CLIENT", "GETNAME").raw == b"$5\r\nalpha\r\n"
    r = a.cmd("CLIENT", "SETNAME", "has space")
    assert r.raw == b"-ERR Client names cannot contain spaces, newlines or special " \
                    b"characters.\r\n", fmt_raw(r.raw)
    lines = client_list(a)
    assert ida in lines and idb in lines, lines
    assert lines[ida]["name"] == "alpha" and lines[ida]["addr"].startswith("127.0.0.1:")
    assert lines[idb]["name"] == ""
    assert a.cmd("CLIENT", "KILL", "ID", 987654321).raw == b":0\r\n"
    assert a.cmd("CLIENT", "KILL", "ID", idb).raw == b":1\r\n"
    assert b.is_closed_by_peer(3.0)
    c = px.proxy.raw()
    idc = c.cmd("CLIENT", "ID").value
    addr = client_list(a)[idc]["addr"]
    assert a.cmd("CLIENT", "KILL", addr).raw == b"+OK\r\n"
    assert c.is_closed_by_peer(3.0)
    r = a.cmd("CLIENT", "KILL", "127.0.0.1:1")
    assert r.raw == b"-ERR No such client\r\n", fmt_raw(r.raw)
    assert a.cmd("PING").raw == b"+PONG\r\n"


# ---------------------------------------------------------------------------
# The proxy as a one-node cluster

def test_cluster_commands_as_one_node(px):
    c = px.proxy.raw()
    port = px.proxy.port
    slots = c.cmd("CLUSTER", "SLOTS").to_py()
    assert len(slots) == 1, slots
    s = slots[0]
    assert s[0] == 0 and s[1] == SLOTS - 1 and len(s) == 3, s
    assert s[2][0] == HOST.encode() and s[2][1] == port, s
    nodes = parse_cluster_nodes(c.cmd("CLUSTER", "NODES").value)
    assert len(nodes) == 1
    me = next(iter(nodes.values()))
    assert (me.ip, me.port) == (HOST, port) and {"myself", "master"} <= me.flags
    assert me.slots == ((0, SLOTS - 1),) and me.link == "connected"
    info = parse_cluster_info(c.cmd("CLUSTER", "INFO").value)
    assert info["cluster_state"] == "ok" and info["cluster_slots_assigned"] == SLOTS
    assert info["cluster_slots_ok"] == SLOTS and info["cluster_known_nodes"] == 1
    assert info["cluster_size"] == 1
    shards = c.cmd("CLUSTER", "SHARDS").to_py()
    assert len(shards) == 1
    sh = dict(zip(shards[0][0::2], shards[0][1::2]))
    assert sh[b"slots"] == [0, SLOTS - 1]
    assert len(sh[b"nodes"]) == 1
    nd = dict(zip(sh[b"nodes"][0][0::2], sh[b"nodes"][0][1::2]))
    assert nd[b"port"] == port and nd[b"role"] == b"master" and nd[b"health"] == b"online"
    assert c.cmd("CLUSTER", "KEYSLOT", "foo").raw == b":12182\r\n"
    assert c.cmd("CLUSTER", "KEYSLOT", "{user1000}.following").raw == \
        b":%d\r\n" % key_slot(b"user1000")
    assert c.cmd("CLUSTER", "MYID").type == "$"


def test_redis_py_cluster_client_through_proxy(px):
    rc = redis.RedisCluster(host=HOST, port=px.proxy.port, socket_timeout=10)
    try:
        nodes = rc.get_nodes()
        assert [(n.host, n.port) for n in nodes] == [(HOST, px.proxy.port)]
        keys = [f"rc:{i}" for i in range(200)]
        for k in keys:
            assert rc.set(k, k + "!")
        assert rc.get("rc:7") == b"rc:7!"
        assert rc.mget_nonatomic(keys) == [(k + "!").encode() for k in keys]
        assert rc.mset_nonatomic({f"rc2:{i}": i for i in range(50)})
        assert rc.exists(*keys) == 200
        assert rc.delete(*keys) == 200
        assert rc.keyslot("foo") == 12182
        assert rc.ping()
    finally:
        rc.close()
    assert px.cluster.total_keys() == 50


# ---------------------------------------------------------------------------
# Bad input: always a reply, never a crash

def test_unknown_and_wrong_arity_match_standalone(px, ref):
    p, r = px.proxy.raw(), ref.raw()
    script = [
        ("FOOBAR",), ("foobar", "a", "b"), ("NOSUCH", "x" * 200), ("GET",), ("GET", "a", "b"),
        ("MGET",), ("HSET", "h"), ("SET",), ("CLIENT", "NOSUCHSUB"), ("CONFIG",),
        ("OBJECT", "NOPE", "k"), ("CLUSTER", "KEYSLOT"), ("EXISTS",), ("ECHO",),
        ("SCAN",), ("PING", "a", "b"), ("",), ("PING",),
    ]
    want = run_script(r, script)
    got = run_script(p, script)
    bad = []
    for args, g, w in zip(script, got, want):
        if isinstance(g, Exception):
            bad.append(f"{args}: {g!r}")
            break
        # CLUSTER/CONFIG are answered by the proxy itself: only "an error" is required.
        exact = args[0].upper() not in ("CLUSTER", "CONFIG")
        if w.is_error != g.is_error or (exact and g.raw != w.raw):
            bad.append(f"{args}: proxy {fmt_raw(g.raw)}  reference {fmt_raw(w.raw)}")
    assert not bad, "\n".join(bad)


GARBAGE = [
    b"*abc\r\n", b"*1\r\n$abc\r\n", b"*2\r\n$3\r\nGET\r\n:12\r\n", b"*-5\r\n",
    b"*1\r\n$-5\r\n", b"SET \"a b\r\n", b"*1\r\n$4\r\nPINGxx\r\n",
    b"*3000000000\r\n", b"*1\r\n$5000000000\r\n", b"\x00\x01\x02\r\n",
]


def test_protocol_garbage_gets_an_error_then_close(px, ref):
    for g in GARBAGE:
        p, r = px.proxy.raw(), ref.raw()
        p.send(g)
        r.send(g)
        want = r.read_raw(0.3, until=b"\r\n")
        got = p.read_raw(1.0 if want else 0.3, until=b"\r\n")
        if want.startswith(b"-"):
            assert got.startswith(b"-"), f"{g!r}: proxy {fmt_raw(got)} reference {fmt_raw(want)}"
        if want.startswith(b"-ERR Protocol error"):
            assert got.startswith(b"-ERR Protocol error"), \
                f"{g!r}: proxy {fmt_raw(got)} reference {fmt_raw(want)}"
            assert p.is_closed_by_peer(2.0), f"{g!r}: connection kept open"
        p.close()
        r.close()
    with px.proxy.raw() as c:
        assert c.cmd("PING").raw == b"+PONG\r\n"


def test_random_garbage_never_crashes(px):
    rnd = random.Random(4)
    for i in range(150):
        n = rnd.randint(1, 300)
        blob = bytes(rnd.getrandbits(8) for _ in range(n))
        if i % 3 == 0:  # plausible prefixes reach deeper into the parser
            blob = rnd.choice([b"*", b"*2\r\n$", b"$", b"*1\r\n$3\r\nGET\r\n", b"+", b":"]) + blob
        try:
            with RawConn(px.proxy.port, timeout=2) as c:
                c.send(blob)
                c.read_raw(0.01)
        except OSError:
            pass
        assert px.proxy.alive(), f"proxy died on garbage #{i}: {blob!r}"
    with px.proxy.raw() as c:
        assert c.cmd("PING").raw == b"+PONG\r\n"
        assert c.cmd("SET", "after-garbage", "1").raw == b"+OK\r\n"


# Commands that would disturb the cluster, block, or change the connection's mode.
NOT_FUZZED = {
    "shutdown", "debug", "replicaof", "slaveof", "failover", "sync", "psync", "monitor",
    "subscribe", "psubscribe", "ssubscribe", "quit", "reset", "cluster", "client", "config",
    "acl", "save", "bgsave", "bgrewriteaof", "wait", "blpop", "brpop", "blmove", "brpoplpush",
    "blmpop", "bzpopmin", "bzpopmax", "bzmpop", "xread", "xreadgroup", "multi", "exec",
    "discard", "watch", "script", "function", "eval", "evalsha", "eval_ro", "evalsha_ro",
    "fcall", "fcall_ro", "migrate", "module", "readonly", "readwrite", "auth", "hello",
    "flushall", "flushdb", "swapdb", "select", "move", "restore-asking", "asking",
    "latency", "slowlog", "memory", "replconf", "pfselftest", "pfdebug", "lastsave",
    "unsubscribe", "punsubscribe", "sunsubscribe",  # one reply per channel named
}


def test_every_command_with_odd_arguments_gets_a_reply(px, ref):
    names = sorted(x.decode().lower() for x in ref.raw().cmd("COMMAND", "LIST").to_py())
    assert len(names) > 150
    rnd = random.Random(7)
    arg_sets = [[], ["k"], ["k", "1"], ["k", "x", "y"], ["1", "k", "k2"], ["k", "-1", "0", "x"]]
    c = px.proxy.raw(timeout=5)
    done = 0
    for name in names:
        if name in NOT_FUZZED:
            continue
        for args in rnd.sample(arg_sets, 3):
            try:
                r = c.cmd(name, *args, timeout=5)
            except (TimeoutError, ConnectionError) as e:
                pytest.fail(f"{name} {args}: no reply ({e!r}); proxy alive: {px.proxy.alive()}")
            assert r.type in "+-:$*%~_,#(=|>", fmt_raw(r.raw)
            done += 1
    assert done > 300
    assert c.cmd("PING").raw == b"+PONG\r\n"
    # COMMAND itself (clients such as redis-py and redis-cli use it).
    r = c.cmd("COMMAND", "COUNT")
    assert r.type == ":" and r.value > 150
    r = c.cmd("COMMAND", "INFO", "get", "mset")
    assert r.type == "*" and len(r.value) == 2 and r.value[0].value[0].value == b"get"
    r = c.cmd("COMMAND", "DOCS", "get")
    assert r.type in "*%" and not r.is_error
    r = c.cmd("COMMAND", timeout=10)
    assert r.type == "*" and len(r.value) > 150

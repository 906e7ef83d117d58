"""SORT and SORT_RO of shoal-node compared byte for byte with the oracle redis-server:
numeric and ALPHA sorting of lists, sets and sorted sets (both encodings), BY patterns
(string keys, hash fields, nosort), GET patterns, LIMIT edge cases, STORE (result list,
TTL reset, deletion on empty result, encoding), score conversion errors, syntax errors,
RESP3 nulls, WATCH on the STORE key, and cluster-mode refusals of BY/GET."""

import random

import pytest

from conftest import fmt_raw

SCORE_ERR = "One or more scores can't be converted into double"


class Both:
    """The same command on shoal-node and the oracle, over raw connections."""

    def __init__(self, node, oracle, proto=2):
        self.n, self.o = node.raw(), oracle.raw()
        if proto == 3:
            for c in (self.n, self.o):
                r = c.cmd("HELLO", "3")
                assert r.type == "%", fmt_raw(r.raw)

    def same(self, *args):
        a, b = self.n.cmd(*args), self.o.cmd(*args)
        assert a.raw == b.raw, f"{args}: shoal {fmt_raw(a.raw)} != redis {fmt_raw(b.raw)}"
        return a

    def same_unordered(self, *args):
        a, b = self.n.cmd(*args), self.o.cmd(*args)
        assert a.type == b.type, f"{args}: shoal {fmt_raw(a.raw)} != redis {fmt_raw(b.raw)}"
        if a.type == "*" and a.value is not None and b.value is not None:
            assert sorted(x.raw for x in a.value) == sorted(x.raw for x in b.value), args
        else:
            assert a.raw == b.raw, f"{args}: shoal {fmt_raw(a.raw)} != redis {fmt_raw(b.raw)}"
        return a

    def run(self, *args):
        """Setup on both; the replies must agree too (catches setup drift)."""
        return self.same(*args)


def implemented(server, *cmds):
    """Names among cmds that the server implements (COMMAND INFO gives nil otherwise)."""
    with server.raw() as c:
        r = c.cmd("COMMAND", "INFO", *cmds)
    return {name for name, info in zip(cmds, r.value) if not info.is_null}


def need(node, *cmds):
    missing = set(cmds) - implemented(node, *cmds)
    if missing:
        pytest.skip(f"shoal-node does not implement {sorted(missing)} yet")


# ---------------------------------------------------------------------------
# Data sets

def setup_numeric_list(b):
    b.run("RPUSH", "l", "3", "1", "2", "10", "-5", "1.5", "2.5e1", "007", "-0.25", "3")
    for k, v in [("3", "30"), ("1", "10"), ("2", "-20"), ("10", "5"), ("-5", "7"),
                 ("1.5", "1.5"), ("2.5e1", "0"), ("007", "99")]:
        b.run("SET", f"w_{k}", v)
        b.run("HSET", f"h_{k}", "f", v, "name", f"n{v}", "txt", f"t-{k}")
    b.run("SET", "x_1", "one")
    b.run("SET", "x_2", "two")


def test_sort_list_numeric(node, oracle):
    need(node, "rpush", "set", "hset")
    b = Both(node, oracle)
    setup_numeric_list(b)
    for q in [
        ("SORT", "l"), ("SORT", "l", "DESC"), ("SORT", "l", "ASC"), ("SORT", "l", "desc", "asc"),
        ("SORT_RO", "l"), ("SORT_RO", "l", "DESC", "LIMIT", "1", "3"),
        ("SORT", "l", "LIMIT", "0", "3"), ("SORT", "l", "LIMIT", "2", "3"),
        ("SORT", "l", "LIMIT", "-1", "2"), ("SORT", "l", "LIMIT", "5", "100"),
        ("SORT", "l", "LIMIT", "100", "5"), ("SORT", "l", "LIMIT", "0", "0"),
        ("SORT", "l", "LIMIT", "0", "-1"), ("SORT", "l", "LIMIT", "3", "-5"),
        ("SORT", "l", "LIMIT", "-10", "-10"), ("SORT", "l", "LIMIT", "9", "1"),
        ("SORT", "l", "LIMIT", "10", "1"), ("SORT", "l", "LIMIT", "1", "9223372036854775806"),
        ("SORT", "l", "LIMIT", "0", "1", "LIMIT", "2", "2"),
        ("SORT", "l", "ALPHA"), ("SORT", "l", "ALPHA", "DESC", "LIMIT", "1", "4"),
        ("SORT", "nokey"), ("SORT", "nokey", "LIMIT", "0", "5"), ("SORT", "nokey", "ALPHA", "DESC"),
        ("SORT", "nokey", "BY", "nosort"), ("SORT", "nokey", "GET", "#", "GET", "w_*"),
    ]:
        b.same(*q)


def test_sort_list_by_and_get(node, oracle):
    need(node, "rpush", "set", "hset")
    b = Both(node, oracle)
    setup_numeric_list(b)
    for q in [
        ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "DESC"),
        ("SORT", "l", "BY", "h_*->f"), ("SORT", "l", "BY", "h_*->f", "DESC", "LIMIT", "1", "3"),
        ("SORT", "l", "BY", "h_*->name", "ALPHA"), ("SORT", "l", "BY", "h_*->txt", "ALPHA", "DESC"),
        ("SORT", "l", "BY", "missing_*"), ("SORT", "l", "BY", "missing_*", "DESC"),
        ("SORT", "l", "BY", "h_*->missing"), ("SORT", "l", "BY", "w_*->f"),
        ("SORT", "l", "BY", "nosort"), ("SORT", "l", "BY", "nosort", "DESC"),
        ("SORT", "l", "BY", "nosort", "LIMIT", "2", "3"), ("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "2", "3"),
        ("SORT", "l", "BY", "nosort", "LIMIT", "8", "10"), ("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "8", "10"),
        ("SORT", "l", "BY", "nosort", "LIMIT", "20", "10"), ("SORT", "l", "BY", "nosort", "LIMIT", "0", "0"),
        ("SORT", "l", "BY", "constant", "ALPHA"),
        ("SORT", "l", "GET", "#"), ("SORT", "l", "GET", "w_*"), ("SORT", "l", "GET", "h_*->f"),
        ("SORT", "l", "GET", "#", "GET", "w_*", "GET", "h_*->name", "GET", "x_*"),
        ("SORT", "l", "GET", "fixedkey"), ("SORT", "l", "GET", "h_*->"), ("SORT", "l", "GET", "h_*->f->g"),
        ("SORT", "l", "GET", "w_*", "BY", "w_*", "LIMIT", "1", "3"),
        ("SORT", "l", "BY", "nosort", "GET", "#", "GET", "h_*->txt", "DESC", "LIMIT", "1", "2"),
        ("SORT", "l", "GET", "l"), ("SORT", "l", "GET", "*"), ("SORT", "l", "BY", "*", "ALPHA"),
    ]:
        b.same(*q)
    # w_ keys holding other types are "missing" for BY and GET
    b.run("RPUSH", "w_-0.25", "a list")
    b.run("SET", "h_2", "a string")
    b.same("SORT", "l", "BY", "w_*")
    b.same("SORT", "l", "GET", "w_*", "GET", "h_*->f")
    # a non-numeric BY value is an error, ALPHA accepts it
    b.run("SET", "w_1", "not a number")
    b.same("SORT", "l", "BY", "w_*")
    b.same("SORT", "l", "BY", "w_*", "ALPHA")


def test_sort_score_conversion(node, oracle):
    """Scores are parsed like strtod over the whole string. Redis checks errno for
    ERANGE without clearing it first, so one overflow leaves the oracle refusing every
    later score until errno changes; a new connection (accept() ends with EAGAIN)
    clears it, hence the reconnect per case."""
    need(node, "rpush", "set", "lrange")
    for i, v in enumerate(["1e500", "nan", "abc", "inf", "-inf", " 5", "0x10", "", "5 ",
                           "1e-400", "+3", "-0", "1.5e3", "12abc", "\x00", "7\x00junk",
                           "NaN", "Infinity", "-1e308", "4.9e-324", "1e-300"]):
        b = Both(node, oracle)
        b.run("FLUSHALL")
        b.run("RPUSH", "l", "2", v, "1")
        b.same("SORT", "l")
        b.same("SORT", "l", "ALPHA")
        b = Both(node, oracle)
        b.run("SET", "k_2", "1")
        b.run("SET", "k_1", "3")
        b.run("SET", f"k_{v}", v)
        b.same("SORT", "l", "BY", "k_*")
        b = Both(node, oracle)
        b.same("SORT", "l", "BY", "k_*", "STORE", "dst")
        b.same("LRANGE", "dst", "0", "-1")


def test_sort_alpha_strings(node, oracle):
    need(node, "rpush", "set")
    b = Both(node, oracle)
    words = ["banana", "apple", "Cherry", "date", "apple", "", "a", "ab", "b\x01", "\xff", "10", "9", "-1"]
    b.run("RPUSH", "la", *words)
    for q in [
        ("SORT", "la"), ("SORT", "la", "ALPHA"), ("SORT", "la", "ALPHA", "DESC"),
        ("SORT", "la", "ALPHA", "LIMIT", "2", "4"), ("SORT", "la", "ALPHA", "STORE", "dst"),
        ("LRANGE", "dst", "0", "-1"), ("SORT", "la", "ALPHA", "DESC", "STORE", "dst"),
        ("LRANGE", "dst", "0", "-1"),
    ]:
        b.same(*q)
    # ALPHA with BY: values compared as bytes; stable order for equal values
    b.run("RPUSH", "lt", "a", "b", "c", "d", "e", "f")
    for k, v in [("a", "x"), ("b", "y"), ("c", "x"), ("e", "y")]:
        b.run("SET", f"t_{k}", v)
    b.same("SORT", "lt", "BY", "t_*", "ALPHA")
    b.same("SORT", "lt", "BY", "t_*", "ALPHA", "DESC")
    b.same("SORT", "lt", "BY", "t_*", "ALPHA", "STORE", "dst")
    b.same("LRANGE", "dst", "0", "-1")
    # numeric ties are broken by the element bytes
    b.same("SORT", "lt", "BY", "missing_*")
    b.same("SORT", "lt", "BY", "missing_*", "DESC")


def test_sort_sets(node, oracle):
    need(node, "sadd", "set", "hset", "rpush", "lrange")
    b = Both(node, oracle)
    b.run("SADD", "si", "5", "3", "9", "1", "-7", "100")            # intset
    b.run("SADD", "ss", "5", "3", "x9", "1.5", "-7", "banana")      # hashtable
    b.run("SADD", "sb", *[str(i * 37 % 1000) for i in range(600)])  # big intset/hashtable
    b.run("SADD", "sw", *[f"w{i}" for i in range(300)])
    for i in range(0, 600, 7):
        b.run("SET", f"wt_{i * 37 % 1000}", str((i * 13) % 101))
    for q in [
        ("SORT", "si"), ("SORT", "si", "DESC"), ("SORT", "si", "LIMIT", "1", "2"),
        ("SORT", "si", "ALPHA"), ("SORT", "si", "BY", "nosort"),  # intset: ascending
        ("SORT", "ss"), ("SORT", "ss", "ALPHA"), ("SORT", "ss", "ALPHA", "DESC", "LIMIT", "0", "3"),
        ("SORT", "sb"), ("SORT", "sb", "DESC", "LIMIT", "10", "20"), ("SORT", "sb", "ALPHA"),
        ("SORT", "sb", "BY", "wt_*", "LIMIT", "0", "600", "GET", "#", "GET", "wt_*"),
        ("SORT", "sw", "ALPHA"), ("SORT", "sw", "ALPHA", "DESC", "LIMIT", "5", "5"),
        # BY nosort + STORE on a set sorts ALPHA for a deterministic result
        ("SORT", "ss", "BY", "nosort", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "sw", "BY", "nosort", "DESC", "LIMIT", "3", "4", "STORE", "dst"),
        ("LRANGE", "dst", "0", "-1"),
        ("SORT", "sb", "BY", "nosort", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
    ]:
        b.same(*q)
    b.same_unordered("SORT", "sw", "BY", "nosort")
    b.same("SORT", "sw")   # numeric: error


def test_sort_zsets(node, oracle):
    need(node, "zadd", "set", "rpush", "lrange")
    b = Both(node, oracle)
    b.run("ZADD", "z", "3", "a", "1", "b", "2", "c", "2", "d", "-1", "e")   # listpack
    b.run("ZADD", "zn", "3", "10", "1", "20", "2", "5")
    members = []
    for i in range(300):
        members += [str((i * 7919) % 1000 / 10), f"m{i:03d}"]
    b.run("ZADD", "zb", *members)                                          # skiplist
    for q in [
        ("SORT", "z"), ("SORT", "z", "ALPHA"), ("SORT", "z", "ALPHA", "DESC"),
        ("SORT", "zn"), ("SORT", "zn", "DESC"),
        ("SORT", "z", "BY", "nosort"), ("SORT", "z", "BY", "nosort", "DESC"),
        ("SORT", "z", "BY", "nosort", "LIMIT", "1", "2"), ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"),
        ("SORT", "z", "BY", "nosort", "LIMIT", "4", "9"), ("SORT", "z", "BY", "nosort", "LIMIT", "5", "1"),
        ("SORT", "z", "BY", "nosort", "LIMIT", "-3", "2"), ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "0", "0"),
        ("SORT", "zb", "ALPHA"), ("SORT", "zb", "ALPHA", "DESC", "LIMIT", "17", "9"),
        ("SORT", "zb", "BY", "nosort"), ("SORT", "zb", "BY", "nosort", "DESC"),
        ("SORT", "zb", "BY", "nosort", "LIMIT", "100", "7"), ("SORT", "zb", "BY", "nosort", "DESC", "LIMIT", "100", "7"),
        ("SORT", "zb", "BY", "nosort", "LIMIT", "295", "10"), ("SORT", "zb", "BY", "nosort", "DESC", "LIMIT", "299", "1"),
        ("SORT", "zb", "BY", "nosort", "GET", "#", "LIMIT", "3", "3"),
        ("SORT", "z", "BY", "nosort", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "zb", "BY", "nosort", "DESC", "LIMIT", "10", "50", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
    ]:
        b.same(*q)


def test_sort_big_random_list(node, oracle):
    need(node, "rpush", "set")
    b = Both(node, oracle)
    rnd = random.Random(7)
    vals = [str(rnd.randint(-10**6, 10**6)) for _ in range(1500)]
    vals += [f"{rnd.uniform(-1000, 1000):.6f}" for _ in range(500)]
    b.run("RPUSH", "big", *vals)
    for v in vals[:400]:
        b.run("SET", f"bw_{v}", str(rnd.randint(0, 50)))   # many ties: stable order
    for q in [
        ("SORT", "big"), ("SORT", "big", "DESC"), ("SORT", "big", "ALPHA"),
        ("SORT", "big", "LIMIT", "500", "100"), ("SORT", "big", "BY", "bw_*"),
        ("SORT", "big", "BY", "bw_*", "DESC", "GET", "#", "GET", "bw_*"),
        ("SORT", "big", "BY", "nosort", "DESC", "LIMIT", "1000", "30"),
        ("SORT", "big", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"), ("OBJECT", "ENCODING", "dst"),
        ("LLEN", "dst"),
    ]:
        b.same(*q)


def test_sort_store(node, oracle):
    need(node, "rpush", "set", "hset", "sadd")
    b = Both(node, oracle)
    setup_numeric_list(b)
    for q in [
        ("SORT", "l", "STORE", "dst"), ("TYPE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SET", "dst", "string"), ("EXPIRE", "dst", "100"),
        ("SORT", "l", "DESC", "LIMIT", "1", "3", "STORE", "dst"), ("TTL", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "l", "GET", "#", "GET", "x_*", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "l", "GET", "nothing_*", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "l", "STORE", "first", "STORE", "second"), ("EXISTS", "first"), ("LRANGE", "second", "0", "-1"),
        # empty result: the destination is deleted and 0 is returned
        ("SORT", "nokey", "STORE", "dst"), ("EXISTS", "dst"), ("SORT", "nokey", "STORE", "dst"),
        ("SORT", "l", "LIMIT", "0", "0", "STORE", "second"), ("EXISTS", "second"),
        # storing into the source key itself
        ("SORT", "l", "DESC", "STORE", "l"), ("LRANGE", "l", "0", "-1"),
        ("SADD", "s", "3", "1", "2"), ("SORT", "s", "STORE", "s"), ("TYPE", "s"), ("LRANGE", "s", "0", "-1"),
        # big element and many elements stored
        ("RPUSH", "lbig", "x" * 20000, "y" * 9000, "a"), ("SORT", "lbig", "ALPHA", "STORE", "dst"),
        ("LRANGE", "dst", "0", "-1"), ("OBJECT", "ENCODING", "dst"),
        # a score error stores nothing
        ("SET", "dst", "keep"), ("SORT", "lbig", "STORE", "dst"), ("GET", "dst"),
    ]:
        b.same(*q)


def test_sort_store_encoding(node):
    """A stored result is encoded as RPUSH would encode the same list (small lists are
    compact, big ones or big elements make a quicklist), whatever the list type's rule."""
    need(node, "rpush", "lrange")
    r = node.client()
    cases = [[str(i) for i in range(5)], [f"e{i}" for i in range(200)],
             [str(i) for i in range(5000)], ["x" * 10000], ["a", "y" * 9000, "b"], [""]]
    for i, vals in enumerate(cases):
        r.delete("src", "ref", "dst")
        r.rpush("src", *vals)
        r.rpush("ref", *sorted(vals))
        assert r.sort("src", alpha=True, store="dst") == len(vals)
        assert r.lrange("dst", 0, -1) == r.lrange("ref", 0, -1)
        assert r.object("encoding", "dst") == r.object("encoding", "ref"), (i, len(vals))
        assert r.dump("dst") == r.dump("ref") or "dump" not in implemented(node, "dump")
    r.config_set("list-max-listpack-size", 4)
    try:
        r.delete("src", "ref", "dst")
        r.rpush("src", *range(10))
        r.rpush("ref", *range(10))
        r.sort("src", store="dst")
        assert r.object("encoding", "dst") == r.object("encoding", "ref")
        r.delete("src", "ref", "dst")
        r.rpush("src", 1, 2, 3)
        r.rpush("ref", 1, 2, 3)
        r.sort("src", store="dst")
        assert r.object("encoding", "dst") == r.object("encoding", "ref")
    finally:
        r.config_set("list-max-listpack-size", -2)


def test_sort_errors(node, oracle):
    need(node, "rpush", "set", "hset")
    b = Both(node, oracle)
    b.run("RPUSH", "l", "1", "2")
    b.run("SET", "str", "x")
    b.run("HSET", "hash", "a", "1")
    for q in [
        ("SORT", "l", "FOO"), ("SORT", "l", "LIMIT", "1"), ("SORT", "l", "LIMIT"),
        ("SORT", "l", "LIMIT", "a", "1"), ("SORT", "l", "LIMIT", "1", "b"),
        ("SORT", "l", "LIMIT", "1.5", "1"), ("SORT", "l", "LIMIT", "99999999999999999999", "1"),
        ("SORT", "l", "BY"), ("SORT", "l", "GET"), ("SORT", "l", "STORE"), ("SORT", "l", "ALPHA", "BY"),
        ("SORT_RO", "l", "STORE", "dst"), ("SORT_RO", "l", "STORE"), ("SORT_RO", "l", "FOO"),
        ("SORT", "str"), ("SORT", "hash"), ("SORT", "str", "LIMIT", "x", "1"), ("SORT", "str", "FOO"),
        ("SORT", "str", "STORE", "dst"), ("SORT_RO", "hash"),
        ("SORT",), ("SORT_RO",),
        ("SORT", "l", "limit", "0", "1", "bogus", "get", "#"),
    ]:
        b.same(*q)
    b.same("EXISTS", "dst")


def test_sort_resp3(node, oracle):
    need(node, "rpush", "set")
    b = Both(node, oracle, proto=3)
    b.run("RPUSH", "l", "2", "1", "3")
    b.run("SET", "g_1", "one")
    b.same("SORT", "l", "GET", "#", "GET", "g_*")
    b.same("SORT", "l", "GET", "g_*", "ALPHA", "DESC")
    b.same("SORT", "nokey")
    b.same("SORT_RO", "l", "BY", "nosort", "LIMIT", "1", "1")


def test_sort_store_wakes_watch(node):
    need(node, "rpush")
    r = node.client()
    r.rpush("src", 3, 1, 2)
    p = r.pipeline()
    p.watch("dst")
    p.multi()
    p.get("x")
    other = node.client()
    assert other.sort("src", store="dst") == 3
    import redis
    with pytest.raises(redis.WatchError):
        p.execute()
    # a SORT that stores nothing and deletes nothing does not touch WATCH
    p = r.pipeline()
    p.watch("empty_dst")
    p.multi()
    p.get("x")
    assert other.sort("nokey", store="empty_dst") == 0
    assert p.execute() == [None]


@pytest.mark.node_args("--cluster-enabled", "yes")
def test_sort_cluster_mode_refusals(node):
    with node.raw() as c:
        r = c.cmd("SORT", "l", "BY", "w_*")
        if r.is_error and not r.value.startswith(b"ERR BY option"):
            pytest.skip(f"cluster mode not serving keys yet: {r.value!r}")
        assert r.value == b"ERR BY option of SORT denied in Cluster mode."
        assert c.cmd("SORT", "l", "GET", "w_*").value == b"ERR GET option of SORT denied in Cluster mode."
        # Redis 7.0 refuses any GET in cluster mode, even GET #
        assert c.cmd("SORT", "l", "GET", "#").value == b"ERR GET option of SORT denied in Cluster mode."
        assert c.cmd("SORT_RO", "l", "BY", "x*->f").value == b"ERR BY option of SORT denied in Cluster mode."
        # BY without '*' (nosort) is fine
        r = c.cmd("SORT", "l", "BY", "nosort", "LIMIT", "0", "1")
        assert r.type == "*", fmt_raw(r.raw)
        assert c.cmd("SORT", "l").type == "*"

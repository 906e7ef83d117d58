"""Set commands of shoal-node (SADD ... SSCAN, set algebra): replies and error texts
compared with the oracle redis-server (byte for byte where the order is defined, as
sets otherwise), RESP3 shapes, intset/hashtable encodings, SSCAN full iteration,
SPOP/SRANDMEMBER semantics and distributions, DUMP/RESTORE."""

import collections
import random

import pytest

from conftest import fmt_raw
from test_hashes import Both, enc


def members(r, key):
    return set(r.smembers(key))


# ---------------------------------------------------------------------------
# Basic commands

def test_set_basic_vs_oracle(node, oracle):
    b = Both(node, oracle)
    for cmd in [
        ("SADD", "s", "1", "2", "3"), ("SADD", "s", "3", "4", "4"), ("SCARD", "s"), ("SCARD", "nokey"),
        ("SISMEMBER", "s", "3"), ("SISMEMBER", "s", "9"), ("SISMEMBER", "s", "x"), ("SISMEMBER", "nokey", "1"),
        ("SMISMEMBER", "s", "1", "9", "x", "4"), ("SMISMEMBER", "nokey", "1", "2"),
        ("SMEMBERS", "s"), ("SMEMBERS", "nokey"),
        ("SREM", "s", "1", "9", "x"), ("SREM", "nokey", "1"), ("SMEMBERS", "s"),
        ("SREM", "s", "2", "3", "4"), ("EXISTS", "s"), ("SCARD", "s"),
        # intsets keep members sorted: negative, wide values, upgrades
        ("SADD", "i", "5", "-3", "100000", "-9223372036854775808", "9223372036854775807", "0"),
        ("SMEMBERS", "i"), ("SISMEMBER", "i", "-9223372036854775808"), ("SISMEMBER", "i", "01"),
        ("SISMEMBER", "i", "9223372036854775808"), ("SREM", "i", "100000", "-0", "+5"), ("SMEMBERS", "i"),
        ("SADD", "t", "a", "b", "c", "a"), ("SISMEMBER", "t", "b"), ("SREM", "t", "a", "zz"), ("SCARD", "t"),
        ("SADD", "bin", b"\x00\r\n", b"", b"\xff"), ("SISMEMBER", "bin", b""), ("SCARD", "bin"),
        ("SREM", "bin", b"\x00\r\n"), ("SISMEMBER", "bin", b"\x00\r\n"),
    ]:
        b.same(*cmd)
    b.same_unordered("SMEMBERS", "t")
    b.same_unordered("SMEMBERS", "bin")


def test_set_wrongtype_vs_oracle(node, oracle):
    b = Both(node, oracle)
    b.same("SET", "str", "x")
    b.same("SADD", "s", "1", "2")
    for cmd in [
        ("SADD", "str", "a"), ("SREM", "str", "a"), ("SCARD", "str"), ("SISMEMBER", "str", "a"),
        ("SMISMEMBER", "str", "a"), ("SMEMBERS", "str"), ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", "2"),
        ("SRANDMEMBER", "str", "-2"), ("SPOP", "str"), ("SPOP", "str", "2"), ("SPOP", "str", "0"),
        ("SMOVE", "str", "s", "1"), ("SMOVE", "s", "str", "1"), ("SMOVE", "s", "str", "99"),
        ("SMOVE", "nokey", "str", "1"), ("SMOVE", "str", "nokey", "1"),
        ("SINTER", "s", "str"), ("SINTER", "nokey", "str"), ("SINTER", "str", "nokey"),
        ("SINTERCARD", "2", "s", "str"), ("SINTERCARD", "2", "nokey", "str"),
        ("SINTERSTORE", "d", "s", "str"), ("SUNION", "s", "str"), ("SUNIONSTORE", "d", "nokey", "str"),
        ("SDIFF", "s", "str"), ("SDIFF", "nokey", "str"), ("SDIFF", "str", "s"), ("SDIFFSTORE", "d", "s", "str"),
        ("SSCAN", "str", "0"), ("SSCAN", "str", "x"), ("SSCAN", "str", "0", "foo"),
        ("EXISTS", "d"), ("SMEMBERS", "s"), ("GET", "str"),
        # STORE commands overwrite a destination of another type
        ("SINTERSTORE", "str", "s"), ("TYPE", "str"), ("SMEMBERS", "str"),
        ("SET", "str2", "x"), ("SUNIONSTORE", "str2", "nokey"), ("EXISTS", "str2"),
        ("HSET", "h", "a", "1"), ("SDIFFSTORE", "h", "s", "nokey"), ("TYPE", "h"),
    ]:
        b.same(*cmd)


def test_set_arity_vs_oracle(node, oracle):
    b = Both(node, oracle)
    for cmd in [("SADD", "s"), ("SREM", "s"), ("SCARD",), ("SISMEMBER", "s"), ("SMISMEMBER", "s"),
                ("SMEMBERS",), ("SRANDMEMBER",), ("SPOP",), ("SMOVE", "a", "b"), ("SINTER",),
                ("SINTERCARD", "1"), ("SINTERSTORE", "d"), ("SUNION",), ("SUNIONSTORE", "d"),
                ("SDIFF",), ("SDIFFSTORE", "d"), ("SSCAN", "s")]:
        b.same(*cmd)


def test_set_count_errors_vs_oracle(node, oracle):
    b = Both(node, oracle)
    b.same("SADD", "s", "1", "2", "3")
    for cmd in [
        ("SRANDMEMBER", "s", "x"), ("SRANDMEMBER", "s", "1", "2"), ("SRANDMEMBER", "s", "1.5"),
        ("SRANDMEMBER", "s", "-9223372036854775808"), ("SRANDMEMBER", "s", "9223372036854775808"),
        ("SRANDMEMBER", "nokey", "x"), ("SRANDMEMBER", "nokey"), ("SRANDMEMBER", "nokey", "3"),
        ("SRANDMEMBER", "nokey", "-3"), ("SRANDMEMBER", "s", "0"),
        ("SRANDMEMBER", "s", "3"), ("SRANDMEMBER", "s", "100"), ("SRANDMEMBER", "s", "9223372036854775807"),
        ("SPOP", "s", "-1"), ("SPOP", "s", "x"), ("SPOP", "s", "1", "2"), ("SPOP", "nokey", "x"),
        ("SPOP", "nokey"), ("SPOP", "nokey", "2"), ("SPOP", "s", "0"), ("SCARD", "s"),
        ("SINTERCARD", "0", "s"), ("SINTERCARD", "x", "s"), ("SINTERCARD", "-1", "s"),
        ("SINTERCARD", "2", "s"), ("SINTERCARD", "99999999999999", "s"),
        ("SINTERCARD", "1", "s", "LIMIT", "-1"), ("SINTERCARD", "1", "s", "LIMIT", "x"),
        ("SINTERCARD", "1", "s", "LIMIT", "99999999999999999999999"), ("SINTERCARD", "1", "s", "foo", "3"),
        ("SINTERCARD", "1", "s", "LIMIT"), ("SINTERCARD", "1", "s", "s2"),
        ("SINTERCARD", "1", "s", "limit", "1", "LIMIT", "2"), ("SINTERCARD", "1", "s", "LIMIT", "0"),
        ("SINTERCARD", "1", "nokey", "LIMIT", "-1"), ("SINTERCARD", "1", "nokey"),
        # the whole set, intset order
        ("SPOP", "s", "3"), ("EXISTS", "s"),
    ]:
        b.same(*cmd)


# ---------------------------------------------------------------------------
# RESP3

def test_set_resp3_vs_oracle(node, oracle):
    b = Both(node, oracle, proto=3)
    b.same("SADD", "s", "3", "1", "2")
    b.same("SADD", "t", "2", "3", "4")
    for cmd in [
        ("SMEMBERS", "s"), ("SMEMBERS", "nokey"), ("SINTER", "s", "t"), ("SINTER", "nokey"),
        ("SINTER", "s", "nokey"), ("SUNION", "nokey"), ("SDIFF", "nokey"), ("SDIFF", "nokey", "s"),
        ("SMISMEMBER", "s", "1", "9"), ("SMISMEMBER", "nokey", "1"), ("SISMEMBER", "s", "1"),
        ("SRANDMEMBER", "nokey"), ("SRANDMEMBER", "nokey", "3"), ("SRANDMEMBER", "nokey", "-3"),
        ("SRANDMEMBER", "s", "5"), ("SRANDMEMBER", "s", "0"), ("SPOP", "nokey"), ("SPOP", "nokey", "2"),
        ("SPOP", "s", "0"), ("SSCAN", "s", "0"), ("SSCAN", "nokey", "0"), ("SINTERCARD", "2", "s", "t"),
    ]:
        b.same(*cmd)
    for cmd in [("SUNION", "s", "t"), ("SDIFF", "s", "t"), ("SDIFF", "t", "s", "nokey")]:
        b.same_unordered(*cmd)
    rn, ro = b.both("SPOP", "s", "2")
    assert rn.type == ro.type == "~" and len(rn.value) == 2
    rn, ro = b.both("SRANDMEMBER", "t", "-4")
    assert rn.type == ro.type == "*" and len(rn.value) == 4
    rn, ro = b.both("SRANDMEMBER", "t", "2")
    assert rn.type == ro.type == "*" and len(rn.value) == 2
    rn, _ = b.both("SPOP", "t")
    assert rn.type == "$"
    # hashtable sets
    b.same("SADD", "h", *[f"m{i}" for i in range(50)])
    b.same_unordered("SMEMBERS", "h")
    b.same_unordered("SPOP", "h", "100")


# ---------------------------------------------------------------------------
# Encodings

def test_set_encoding_vs_oracle(node, oracle):
    b = Both(node, oracle)
    b.same("SADD", "i", *[str(i) for i in range(512)])
    b.same("OBJECT", "ENCODING", "i")
    b.same("SADD", "i", "5")
    b.same("OBJECT", "ENCODING", "i")
    b.same("SADD", "i", "512")
    b.same("OBJECT", "ENCODING", "i")
    b.same("SREM", "i", *[str(i) for i in range(500)])
    b.same("OBJECT", "ENCODING", "i")            # never back to intset
    b.same_unordered("SMEMBERS", "i")
    b.same("SADD", "j", *[str(i) for i in range(513)])
    b.same("OBJECT", "ENCODING", "j")
    for key, member in [("a", "x"), ("b", "01"), ("c", "-0"), ("d", "9223372036854775808"),
                        ("e", "-9223372036854775808"), ("f", " 1"), ("g", "1.0"), ("h", "")]:
        b.same("SADD", key, "1", member)
        b.same("OBJECT", "ENCODING", key)
        b.same_unordered("SMEMBERS", key)
    b.same("SADD", "k", "1", "2")
    b.same("SADD", "k", "3", "x", "4")
    b.same("OBJECT", "ENCODING", "k")
    b.same_unordered("SMEMBERS", "k")
    # SMOVE of a string into an intset converts the destination
    b.same("SADD", "src", "str", "7")
    b.same("SADD", "dst", "1")
    b.same("SMOVE", "src", "dst", "7")
    b.same("OBJECT", "ENCODING", "dst")
    b.same("SMOVE", "src", "dst", "str")
    b.same("OBJECT", "ENCODING", "dst")
    b.same("EXISTS", "src")
    b.same_unordered("SMEMBERS", "dst")
    b.same("SMOVE", "dst", "newdst", "1")
    b.same("OBJECT", "ENCODING", "newdst")
    # results of the STORE commands pick their encoding from their members
    b.same("SADD", "m1", "1", "2", "3", "x")
    b.same("SADD", "m2", "1", "2", "y")
    b.same("SINTERSTORE", "r1", "m1", "m2")
    b.same("OBJECT", "ENCODING", "r1")
    b.same("SMEMBERS", "r1")
    b.same("SUNIONSTORE", "r2", "m1", "m2")
    b.same("OBJECT", "ENCODING", "r2")
    b.same("SDIFFSTORE", "r3", "m1", "m2")
    b.same("OBJECT", "ENCODING", "r3")
    b.same("SUNIONSTORE", "r4", "i", "j")
    b.same("OBJECT", "ENCODING", "r4")
    b.same("SCARD", "r4")
    b.same("SDIFFSTORE", "r5", "j", "i")
    b.same("OBJECT", "ENCODING", "r5")
    b.same("SMEMBERS", "r5")


# ---------------------------------------------------------------------------
# Set algebra

def _random_sets(rnd):
    sets = {}
    for k in range(6):
        kind = rnd.choice(["int", "str", "mixed", "bigint"])
        n = rnd.choice([0, 1, 5, 30, 200, 700])
        if kind == "int":
            m = [str(rnd.randrange(-50, 400)) for _ in range(n)]
        elif kind == "bigint":
            m = [str(rnd.randrange(0, 1500)) for _ in range(n)]
        elif kind == "str":
            m = [f"s{rnd.randrange(300)}" for _ in range(n)]
        else:
            m = [rnd.choice([str(rnd.randrange(300)), f"s{rnd.randrange(300)}"]) for _ in range(n)]
        sets[f"k{k}"] = m
    return sets


def test_set_algebra_vs_oracle(node, oracle):
    b = Both(node, oracle)
    rnd = random.Random(1234)
    for rnd_round in range(8):
        b.both("FLUSHALL")
        sets = _random_sets(rnd)
        for k, m in sets.items():
            if m:
                b.same("SADD", k, *m)
        keys = list(sets) + ["nokey"]
        for _ in range(12):
            ks = rnd.sample(keys, rnd.randint(1, 4))
            if rnd.random() < 0.2:
                ks.append(ks[0])  # the same key twice
            for op in ("SINTER", "SUNION", "SDIFF"):
                b.same_unordered(op, *ks)
                b.same(op + "STORE", "dst", *ks)
                b.same("EXISTS", "dst")
                b.same_unordered("SMEMBERS", "dst")
                if b.n.cmd("EXISTS", "dst").value:
                    b.same("OBJECT", "ENCODING", "dst")
            b.same("SINTERCARD", len(ks), *ks)
            b.same("SINTERCARD", len(ks), *ks, "LIMIT", rnd.randint(0, 5))
        # destination is one of the sources
        ks = rnd.sample(list(sets), 2)
        for op in ("SUNIONSTORE", "SINTERSTORE", "SDIFFSTORE"):
            b.same(op, ks[0], ks[0], ks[1])
            b.same_unordered("SMEMBERS", ks[0])


def test_set_store_semantics(node):
    r = node.client()
    r.sadd("a", 1, 2, 3)
    r.sadd("b", 3, 4)
    r.set("dst", "string")
    r.expire("dst", 100)
    assert r.sunionstore("dst", "a", "b") == 4
    assert r.type("dst") == b"set" and r.ttl("dst") == -1
    assert members(r, "dst") == {b"1", b"2", b"3", b"4"}
    r.expire("dst", 100)
    assert r.sinterstore("dst", "a", "nokey") == 0
    assert r.exists("dst") == 0
    r.sadd("dst", "x")
    assert r.sdiffstore("dst", "a", "a") == 0 and r.exists("dst") == 0
    assert r.sdiffstore("dst", "nokey", "a") == 0 and r.exists("dst") == 0
    assert r.sinterstore("dst", "a", "b") == 1 and members(r, "dst") == {b"3"}
    assert r.sintercard(2, ["a", "b"]) == 1
    assert r.sdiff("a", "b") == {b"1", b"2"}
    # big sets: SDIFF picks either algorithm; results must agree
    r.sadd("big", *range(3000))
    r.sadd("small", *range(0, 3000, 7))
    assert r.sdiff("small", "big") == set()
    assert len(r.sdiff("big", "small")) == 3000 - len(range(0, 3000, 7))
    assert r.sdiffstore("d2", "big", "small", "a") == 3000 - len(range(0, 3000, 7)) - 3
    assert r.sintercard(2, ["big", "small"]) == len(range(0, 3000, 7))
    assert r.sintercard(2, ["big", "small"], limit=10) == 10


def test_smove_vs_oracle(node, oracle):
    b = Both(node, oracle)
    b.same("SADD", "s", "1", "2", "a")
    for cmd in [("SMOVE", "s", "s", "1"), ("SMOVE", "s", "s", "9"), ("SMOVE", "s", "d", "9"),
                ("SMOVE", "s", "d", "1"), ("SMOVE", "s", "d", "1"), ("SMEMBERS", "d"),
                ("SMOVE", "nokey", "d", "1"), ("SMOVE", "s", "d", "a"), ("SMOVE", "d", "s", "1"),
                ("SMOVE", "s", "d", "2"), ("SMOVE", "s", "d", "1"), ("EXISTS", "s"), ("SCARD", "d")]:
        b.same(*cmd)
    b.same_unordered("SMEMBERS", "d")


# ---------------------------------------------------------------------------
# SPOP / SRANDMEMBER

@pytest.mark.parametrize("n", [5, 300, 2000])
def test_spop_semantics(node, n):
    r = node.client()
    r.sadd("s", *[f"m{i}" if n == 300 else i for i in range(n)])
    all_m = members(r, "s")
    popped = set()
    x = r.spop("s")
    assert x in all_m
    popped.add(x)
    got = r.spop("s", 3)
    assert len(got) == 3 and not (set(got) & popped)
    popped |= set(got)
    assert members(r, "s") == all_m - popped
    assert r.scard("s") == n - 4
    half = (n - 4) // 2
    got = r.spop("s", half)
    assert len(set(got)) == half
    popped |= set(got)
    assert members(r, "s") == all_m - popped
    rest = r.spop("s", n)
    assert set(rest) | popped == all_m and len(rest) == n - 4 - half
    assert r.exists("s") == 0
    assert r.spop("s") is None and r.spop("s", 3) == []


def test_spop_last_member_deletes_key(node):
    r = node.client()
    r.sadd("s", "a")
    r.expire("s", 100)
    assert r.spop("s") == b"a"
    assert r.exists("s") == 0
    r.sadd("s", 1, 2)
    assert sorted(r.spop("s", 2)) == [b"1", b"2"] and r.exists("s") == 0


def test_spop_distribution(node):
    r = node.client()
    for members_ in (["a", "b", "c"], ["1", "2", "3"]):
        p = r.pipeline(transaction=False)
        for _ in range(3000):
            p.sadd("s", *members_)
            p.spop("s")
        res = p.execute()
        cnt = collections.Counter(res[1::2])
        assert len(cnt) == 3 and all(800 < v < 1200 for v in cnt.values()), cnt
        r.delete("s")
    # SPOP with a count: each member equally likely to be among the popped
    for members_ in ([str(i) for i in range(10)], [f"m{i}" for i in range(10)]):
        p = r.pipeline(transaction=False)
        for _ in range(1000):
            p.delete("s")
            p.sadd("s", *members_)
            p.spop("s", 3)
        cnt = collections.Counter(x for res in p.execute()[2::3] for x in res)
        assert len(cnt) == 10 and all(200 < v < 400 for v in cnt.values()), cnt
        r.delete("s")


@pytest.mark.parametrize("kind", ["intset", "hashtable"])
def test_srandmember_semantics_and_distribution(node, kind):
    r = node.client()
    ms = [str(i) for i in range(10)] if kind == "intset" else [f"m{i}" for i in range(10)]
    r.sadd("s", *ms)
    assert enc(r, "s") == kind.encode()
    allm = {m.encode() for m in ms}
    for count in (1, 3, 9, 10, 11, 1000):
        got = r.srandmember("s", count)
        assert len(got) == min(count, 10) and len(set(got)) == len(got) and set(got) <= allm
    got = r.srandmember("s", -25)
    assert len(got) == 25 and set(got) <= allm
    cnt = collections.Counter(r.srandmember("s", -30000))
    assert len(cnt) == 10 and all(2500 < v < 3500 for v in cnt.values()), cnt
    p = r.pipeline(transaction=False)
    for _ in range(3000):
        p.srandmember("s")
    cnt = collections.Counter(p.execute())
    assert len(cnt) == 10 and all(220 < v < 380 for v in cnt.values()), cnt
    p = r.pipeline(transaction=False)
    for _ in range(2000):
        p.srandmember("s", 3)
    cnt = collections.Counter(x for grp in p.execute() for x in grp)
    assert len(cnt) == 10 and all(480 < v < 720 for v in cnt.values()), cnt
    assert r.scard("s") == 10


def test_srandmember_big_set(node):
    r = node.client()
    r.sadd("s", *[f"m{i}" for i in range(5000)])
    for count in (10, 2000, 4999):
        got = r.srandmember("s", count)
        assert len(got) == count and len(set(got)) == count
    cnt = collections.Counter(r.srandmember("s", -100000))
    assert len(cnt) == 5000 and max(cnt.values()) < 60


# ---------------------------------------------------------------------------
# SSCAN

def test_sscan_errors_vs_oracle(node, oracle):
    b = Both(node, oracle)
    b.same("SADD", "s", "1", "2", "10")
    for cmd in [
        ("SSCAN", "s", "0"), ("SSCAN", "s", "7"), ("SSCAN", "s", "-1"), ("SSCAN", "s", ""),
        ("SSCAN", "s", "x"), ("SSCAN", "s", " 0"), ("SSCAN", "s", "18446744073709551616"),
        ("SSCAN", "s", "0", "COUNT", "0"), ("SSCAN", "s", "0", "COUNT", "x"), ("SSCAN", "s", "0", "COUNT"),
        ("SSCAN", "s", "0", "MATCH"), ("SSCAN", "s", "0", "MATCH", "1*"), ("SSCAN", "s", "0", "MATCH", "*"),
        ("SSCAN", "s", "0", "count", "1", "match", "?"), ("SSCAN", "s", "0", "TYPE", "set"),
        ("SSCAN", "nokey", "0", "COUNT", "0"), ("SSCAN", "nokey", "x"),
    ]:
        b.same(*cmd)


def sscan_all(r, key, **kw):
    cursor, seen, calls = 0, [], 0
    while True:
        args = sum(([k, v] for k, v in kw.items()), [])
        cursor, part = r.execute_command("SSCAN", key, cursor, *args)
        cursor = int(cursor)
        seen += part
        calls += 1
        assert calls < 10000
        if cursor == 0:
            return seen, calls


def test_sscan_full_iteration(node):
    r = node.client()
    r.sadd("ints", *range(400))
    got, calls = sscan_all(r, "ints", COUNT=3)
    assert calls == 1 and got == [str(i).encode() for i in range(400)]
    r.sadd("big", *[f"m{i}" for i in range(5000)])
    for count in (1, 10, 1000):
        got, calls = sscan_all(r, "big", COUNT=count)
        assert sorted(got) == sorted(f"m{i}".encode() for i in range(5000))
        if count == 10:
            assert calls > 100
    got, _ = sscan_all(r, "big", MATCH="m1?", COUNT=50)
    assert sorted(got) == sorted(f"m{i}".encode() for i in range(10, 20))
    got, _ = sscan_all(r, "ints", MATCH="*7")
    assert len(got) == 40


def test_sscan_while_modified(node):
    r = node.client()
    r.sadd("s", *[f"keep{i}" for i in range(500)])
    cursor, seen, n, extra = 0, set(), 0, 0
    while True:
        cursor, part = r.sscan("s", cursor, count=15)
        seen.update(part)
        n += 1
        if n % 3 == 0:
            r.sadd("s", *[f"x{extra + i}" for i in range(400)])
            extra += 400
        if n % 5 == 0 and extra:
            r.srem("s", *[f"x{i}" for i in range(extra)])
        if cursor == 0:
            break
        assert n < 5000
    assert {f"keep{i}".encode() for i in range(500)} <= seen


# ---------------------------------------------------------------------------
# Misc

def test_set_in_multi(node):
    r = node.client()
    p = r.pipeline(transaction=True)
    p.sadd("s", 1, 2, "x")
    p.srem("s", 2)
    p.smembers("s")
    p.scard("s")
    assert p.execute() == [3, 1, {b"1", b"x"}, 2]


def test_sadd_many_members(node):
    r = node.client()
    p = r.pipeline(transaction=False)
    for i in range(0, 100000, 1000):
        p.sadd("s", *range(i, i + 1000))
    assert sum(p.execute()) == 100000
    assert r.scard("s") == 100000 and enc(r, "s") == b"hashtable"
    assert r.sismember("s", 99999) and not r.sismember("s", 100000)
    assert r.srem("s", *range(0, 100000, 2)) == 50000
    assert r.scard("s") == 50000


@pytest.mark.parametrize("ms", [[1, 2, -5, 2**40], ["a", "b", 1], [f"m{i}" for i in range(600)],
                                list(range(600))])
def test_set_dump_restore(node, ms):
    r = node.client()
    r.sadd("s", *ms)
    e = enc(r, "s")
    try:
        payload = r.dump("s")
    except Exception as ex:
        pytest.skip(f"DUMP not available: {ex}")
    r.restore("s2", 0, payload)
    assert members(r, "s2") == members(r, "s") and enc(r, "s2") == e
    rnd = random.Random(3)
    for _ in range(200):
        bad = bytearray(payload)
        for _ in range(rnd.randint(1, 4)):
            bad[rnd.randrange(len(bad))] = rnd.randrange(256)
        try:
            r.restore("bad", 0, bytes(bad), replace=True)
            r.smembers("bad")
            r.scard("bad")
        except Exception:
            pass
    assert r.ping()


@pytest.mark.node_args("--set-max-intset-entries", "4")
def test_set_configured_threshold_vs_oracle(node, oracle):
    """set-max-intset-entries from the command line and CONFIG SET."""
    b = Both(node, oracle)
    for cmd in [
        ("SADD", "s", "1", "2", "3", "4"), ("OBJECT", "ENCODING", "s"),
        ("SADD", "s", "5"), ("OBJECT", "ENCODING", "s"),
        ("SADD", "t", "1", "2", "3", "4", "5"), ("OBJECT", "ENCODING", "t"),
        ("SUNIONSTORE", "u", "s"), ("OBJECT", "ENCODING", "u"),
        ("SREM", "u", "1", "2"), ("SINTERSTORE", "u2", "u"), ("OBJECT", "ENCODING", "u2"),
        ("CONFIG", "SET", "set-max-intset-entries", "0"),
        ("SADD", "z", "1"), ("OBJECT", "ENCODING", "z"),
        ("CONFIG", "SET", "set-max-intset-entries", "512"),
        ("SADD", "y", *[str(i) for i in range(100)]), ("OBJECT", "ENCODING", "y"),
    ]:
        b.same(*cmd)

"""String commands of shoal-node (GET/SET family, counters, ranges, LCS): replies and
error texts compared byte for byte with the oracle redis-server, expiry options and
their TTL effects, OBJECT ENCODING (int/embstr/raw), RESP3 shape of LCS IDX, the
proto-max-bulk-len limit, and DUMP/RESTORE of every string encoding."""

import random
import shlex
import time

import pytest

from conftest import RespError, fmt_raw

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class Both:
    """The same command on shoal-node and the oracle, over raw connections."""

    def __init__(self, node, oracle, proto=2):
        self.n, self.o = node.raw(), oracle.raw()
        if proto == 3:
            for c in (self.n, self.o):
                r = c.cmd("HELLO", "3")
                assert r.type == "%", fmt_raw(r.raw)

    def same(self, *args):
        """Asserts identical raw replies; returns the node's Reply."""
        a, b = self.n.cmd(*args), self.o.cmd(*args)
        assert a.raw == b.raw, f"{args}: shoal {fmt_raw(a.raw)} != redis {fmt_raw(b.raw)}"
        return a

    def run(self, cmds):
        for c in cmds:
            self.same(*c)

    def both(self, *args):
        return self.n.cmd(*args), self.o.cmd(*args)


def split(s):
    return tuple(shlex.split(s))


# ---------------------------------------------------------------------------
# GET / SET and its options

def test_get_set_basic(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "GET nokey", "SET k v", "GET k", "SET k 123", "GET k", "SET k -0", "GET k",
        "SET k 007", "GET k", "SET k 9223372036854775808", "GET k", "HSET l f v", "GET l",
        "SET l v", "GET l", "TYPE l", "SET", "SET k", "GET", "GET a b",
    ]])
    b.same("SET", "bin", b"a\x00b\r\n\xff")
    b.same("GET", "bin")
    b.same("SET", "empty", "")
    b.same("GET", "empty")
    b.same("STRLEN", "empty")


SET_OPTION_CASES = [
    "SET k v EX 10 PX 100", "SET k v EX 10 EX 20", "SET k v PX 10 PX 20", "SET k v NX XX",
    "SET k v XX NX", "SET k v NX NX", "SET k v KEEPTTL EX 1", "SET k v EX 1 KEEPTTL",
    "SET k v KEEPTTL KEEPTTL", "SET k v EX", "SET k v PX", "SET k v EXAT", "SET k v PXAT",
    "SET k v EX abc", "SET k v EX 1.5", "SET k v EX 0", "SET k v EX -1", "SET k v PX 0",
    "SET k v EXAT 0", "SET k v PXAT -5", "SET k v EX 9223372036854775",
    "SET k v EX 9223372036854776", "SET k v PX 9223372036854775807",
    "SET k v EX 9223372036854775808", "SET k v PERSIST", "SET k v GET GET", "SET k v foo",
    "SET k v ex 100 get nx", "SET k v eXaT 99999999999 xx", "SET k v EXAT 10 PXAT 10",
    "SET k v PXAT 10 EXAT 10", "SET k v EXAT 10 EX 10", "SET k v GET KEEPTTL XX",
    "SET k v ex 10 ex", "SET k v ex ex 10",
]


def test_set_option_parsing_vs_oracle(node, oracle):
    b = Both(node, oracle)
    for c in SET_OPTION_CASES:
        b.same(*split(c))
        b.same("GET", "k")
        b.same("DEL", "k")
    # Errors in the same option lists against an existing key of another type.
    b.same("HSET", "l", "f", "x")
    for c in ["SET l v GET", "SET l v GET EX 10", "SET l v EX -1 GET", "SET l v GET foo",
              "SET l v NX GET", "SET l v XX"]:
        b.same(*split(c))
    b.same("TYPE", "l")


def test_set_nx_xx_get(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "SET k v NX", "SET k w NX", "GET k", "SET k w XX", "GET k", "SET n v XX", "EXISTS n",
        "SET k z NX GET", "GET k", "SET n2 z NX GET", "GET n2", "SET k y XX GET", "GET k",
        "SET n3 y XX GET", "EXISTS n3", "SET k 5 GET", "SET k 6 GET", "GET k", "SETNX k x",
        "SETNX s x", "GET s", "SETNX", "SETNX a b c",
    ]])


def test_set_expire_effects(node):
    r = node.client()
    now_ms = int(time.time() * 1000)
    assert r.set("k", "v", ex=100)
    assert 99_000 < r.pttl("k") <= 100_000
    assert r.set("k", "v", px=5000)
    assert 4_000 < r.pttl("k") <= 5000
    assert r.set("k", "v", exat=now_ms // 1000 + 200)
    assert 150_000 < r.pttl("k") <= 201_000
    assert r.set("k", "v", pxat=now_ms + 300_000)
    assert 250_000 < r.pttl("k") <= 300_000
    assert r.set("k", "w", keepttl=True)
    assert 250_000 < r.pttl("k") <= 300_000
    assert r.get("k") == b"w"
    assert r.set("k", "x")  # plain SET clears the TTL
    assert r.ttl("k") == -1
    assert r.set("k", "x", px=100, xx=True)
    # Past absolute times store a key that is already gone.
    assert r.set("old", "v", exat=1)
    assert r.get("old") is None and r.exists("old") == 0
    assert r.set("old", "v", pxat=now_ms - 10)
    assert r.exists("old") == 0
    deadline = time.time() + 3
    while r.exists("k") and time.time() < deadline:
        time.sleep(0.02)
    assert r.exists("k") == 0


def test_setex_psetex(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "SETEX k -1 v", "SETEX k 0 v", "SETEX k abc v", "SETEX k 9223372036854775807 v",
        "PSETEX k 0 v", "PSETEX k -5 v", "PSETEX k 1.5 v", "EXISTS k", "SETEX k 100 v",
        "GET k", "TTL k", "PSETEX k 100000 w", "GET k", "SETEX k 10", "PSETEX k 10",
    ]])
    r = node.client()
    assert r.setex("a", 50, "1")
    assert 49 <= r.ttl("a") <= 50
    assert r.psetex("a", 7000, "2")
    assert 6000 < r.pttl("a") <= 7000
    assert r.get("a") == b"2"
    assert r.object("encoding", "a") == b"int"


def test_getex(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "GETEX nokey", "GETEX nokey EX -5", "GETEX nokey foo", "SET k v", "GETEX k",
        "GETEX k EX -5", "GETEX k EX 0", "GETEX k PX abc", "GETEX k persist EX 5",
        "GETEX k EX 5 persist", "GETEX k KEEPTTL", "GETEX k GET", "GETEX k NX", "GETEX k EX",
        "GETEX k EX 10 PX 10", "GETEX k EX 9223372036854775", "HSET l f v", "GETEX l",
        "GETEX l EX -1", "GETEX l foo", "GETEX k EX 100", "TTL k", "GETEX k PERSIST", "TTL k",
        "GETEX k PERSIST", "SET n 42", "GETEX n EX 100", "OBJECT ENCODING n",
    ]])
    r = node.client()
    r.set("k", "v")
    assert r.getex("k", px=5000) == b"v"
    assert 4000 < r.pttl("k") <= 5000
    assert r.getex("k", exat=int(time.time()) + 100) == b"v"
    assert 90 < r.ttl("k") <= 101
    assert r.getex("k", pxat=int(time.time() * 1000) + 60_000) == b"v"
    assert 50_000 < r.pttl("k") <= 60_000
    assert r.getex("k", persist=True) == b"v"
    assert r.ttl("k") == -1
    # An expiry already in the past deletes the key but still returns the value.
    assert r.getex("k", exat=1) == b"v"
    assert r.exists("k") == 0


def test_getdel_getset(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "GETDEL nokey", "SET k v", "GETDEL k", "EXISTS k", "SET k 12", "GETDEL k", "HSET l f v",
        "GETDEL l", "GETSET l v", "GETSET n v", "GET n", "GETSET n w", "GET n", "GETSET n 77",
        "OBJECT ENCODING n", "GETDEL", "GETSET k",
    ]])
    r = node.client()
    r.set("t", "v", ex=100)
    assert r.getset("t", "w") == b"v"
    assert r.ttl("t") == -1  # GETSET clears the TTL


def test_mget_mset_msetnx(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "MSET a 1 b 2 c 3", "MGET a b c d", "HSET l f x", "MGET a l b", "MSET a", "MSET a 1 b",
        "MSETNX a 1 b", "MSETNX x 1 y 2", "MGET x y", "MSETNX x 5 z 6", "MGET x z",
        "MSETNX p 1 p 2", "GET p", "MSET a 10 a 20", "GET a", "MSET l v", "TYPE l", "MGET",
    ]])
    r = node.client()
    r.set("t", "v", ex=100)
    r.mset({"t": "w"})
    assert r.ttl("t") == -1


# ---------------------------------------------------------------------------
# APPEND / STRLEN / ranges

def test_append_strlen(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "APPEND k hello", "APPEND k world", "GET k", "STRLEN k", "STRLEN nokey", "SET i 12345",
        "STRLEN i", "APPEND i 6", "GET i", "OBJECT ENCODING i", "SET n -9223372036854775808",
        "STRLEN n", "APPEND new 12", "OBJECT ENCODING new", "HSET l f v", "APPEND l x",
        "STRLEN l", "APPEND", "STRLEN",
    ]])
    b.same("SET", "e", "12")
    b.same("APPEND", "e", "")
    b.same("OBJECT", "ENCODING", "e")
    r = node.client()
    r.set("t", "a", ex=100)
    r.append("t", "b")
    assert r.ttl("t") > 0 and r.get("t") == b"ab"


def test_getrange_matrix_vs_oracle(node, oracle):
    b = Both(node, oracle)
    b.same("SET", "s", "Hello, World")
    b.same("SET", "i", "-12345")
    b.same("SET", "e", "")
    idx = ["0", "1", "5", "11", "12", "100", "-1", "-2", "-12", "-13", "-100"]
    for key in ["s", "i", "e", "nokey"]:
        for s in idx:
            for e in idx:
                b.same("GETRANGE", key, s, e)
    b.run([split(c) for c in [
        "SUBSTR s 0 4", "SUBSTR s -5 -1", "GETRANGE s a 1", "GETRANGE s 0 b", "HSET l f v",
        "GETRANGE l 0 1", "GETRANGE nokey x 1", "GETRANGE s 0", "SUBSTR s 0",
        "GETRANGE s 0 9223372036854775807", "GETRANGE s -9223372036854775808 -1",
    ]])


def test_setrange(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "SET s abc", "SETRANGE s 1 X", "GET s", "SETRANGE s 5 YZ", "GET s", "SETRANGE s -1 x",
        "SETRANGE s abc x", "SETRANGE s 1.5 x", "SETRANGE nokey 3 x", "GET nokey",
        "SETRANGE s 536870912 x", "SETRANGE s 536870911 xy", "SETRANGE s 9223372036854775807 x",
        "SETRANGE new 536870912 x", "EXISTS new", "SET i 12345", "SETRANGE i 0 9", "GET i",
        "OBJECT ENCODING i", "HSET l f v", "SETRANGE l 0 x", "SETRANGE", "SETRANGE k 0",
    ]])
    for key in ["s", "nokey2", "l"]:
        b.same("SETRANGE", key, "3", "")
        b.same("SETRANGE", key, "536870912", "")
        b.same("EXISTS", key)


@pytest.mark.node_args("--proto-max-bulk-len", "1mb")
def test_size_limit_small_proto_max_bulk_len(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "SETRANGE k 1048575 x", "STRLEN k", "SETRANGE k 1048576 x", "SETRANGE k 1048575 xy",
        "APPEND k y", "SET a x", "SETRANGE a 1048575 y", "STRLEN a",
    ]])
    b.same("SET", "big", "x" * 1048000)
    b.same("APPEND", "big", "y" * 576)
    b.same("APPEND", "big", "z")
    b.same("STRLEN", "big")
    # LCS refuses a DP table larger than proto-max-bulk-len.
    b.same("SET", "x", "a" * 600)
    b.same("SET", "y", "b" * 600)
    b.same("LCS", "x", "y")
    b.same("SET", "y", "ab" * 200)
    b.same("LCS", "x", "y", "LEN")


def test_resp3_replies(node, oracle):
    b = Both(node, oracle, proto=3)
    b.run([split(c) for c in [
        "GET nokey", "MGET a nokey", "SET a 1", "SET a 2 NX", "SET a 3 NX GET", "SET n v XX GET",
        "GETEX nokey", "GETDEL nokey", "GETSET nokey v", "INCRBYFLOAT f 2.5", "LCS a n",
        "LCS a n IDX WITHMATCHLEN", "SETBIT b 3 1", "BITFIELD b OVERFLOW FAIL INCRBY u2 0 9 GET u8 0",
        "PFADD h x", "PFCOUNT h",
    ]])


# ---------------------------------------------------------------------------
# Counters

def test_incr_family(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "INCR n", "INCR n", "DECR n", "INCRBY n 10", "DECRBY n 3", "INCRBY n -20", "GET n",
        "OBJECT ENCODING n", "SET n 9223372036854775807", "INCR n", "INCRBY n 0", "DECR n",
        "SET n -9223372036854775808", "DECR n", "INCRBY n -1", "INCR n",
        "DECRBY n 9223372036854775808", "DECRBY x -9223372036854775808", "INCRBY x abc",
        "INCRBY x 1.5", "INCRBY x 9223372036854775808", "SET s abc", "INCR s", "DECR s",
        "SET s 1.0", "INCR s", "SET s ' 1'", "INCR s", "SET s 012", "INCR s", "HSET l f v",
        "INCR l", "DECRBY l 1", "INCRBY l 1", "INCR", "INCRBY k",
    ]])
    # A numeric string edited into raw form still counts.
    b.same("SET", "r", "1")
    b.same("APPEND", "r", "2")
    b.same("OBJECT", "ENCODING", "r")
    b.same("INCR", "r")
    b.same("OBJECT", "ENCODING", "r")
    r = node.client()
    r.set("t", "5", ex=100)
    assert r.incr("t") == 6 and r.ttl("t") > 0


def test_incrbyfloat_vs_oracle(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "INCRBYFLOAT f 1.5", "INCRBYFLOAT f 1.5", "OBJECT ENCODING f", "INCRBYFLOAT f -3",
        "GET f", "INCRBYFLOAT g 5.0e3", "INCRBYFLOAT g 1e-5", "INCRBYFLOAT g abc",
        "INCRBYFLOAT g inf", "INCRBYFLOAT g -inf", "INCRBYFLOAT g nan", "INCRBYFLOAT h 1e308",
        "INCRBYFLOAT h 1e308", "INCRBYFLOAT h 1e308", "SET s abc", "INCRBYFLOAT s 1",
        "SET i 10", "INCRBYFLOAT i 0.1", "INCRBYFLOAT i -0.1", "INCRBYFLOAT i 0",
        "GET i", "OBJECT ENCODING i", "INCRBYFLOAT z 3.0000000000000001",
        "INCRBYFLOAT z 0.1", "INCRBYFLOAT w -0", "INCRBYFLOAT w 1.23e-10", "HSET l f v",
        "INCRBYFLOAT l 1", "INCRBYFLOAT f", "INCRBYFLOAT f ' 1'", "INCRBYFLOAT f 1e",
    ]])
    # Embedded NULs are not a number (strtold would stop at them).
    b.same("SET", "nul", b"2.5\x00\x00xy")
    b.same("INCRBYFLOAT", "nul", "1")
    b.same("INCRBYFLOAT", "f", b"1\x00")
    rnd = random.Random(7)
    for i in range(60):
        v = rnd.choice([rnd.uniform(-1e6, 1e6), rnd.randint(-10**9, 10**9),
                        rnd.uniform(-1, 1), rnd.random() * 10**rnd.randint(-8, 15)])
        b.same("INCRBYFLOAT", "acc", repr(v))
    r = node.client()
    r.set("t", "1", ex=100)
    assert r.incrbyfloat("t", 0.5) == 1.5 and r.ttl("t") > 0


# ---------------------------------------------------------------------------
# LCS

def test_lcs_basic_and_errors(node, oracle):
    b = Both(node, oracle)
    b.run([split(c) for c in [
        "SET k1 ohmytext", "SET k2 mynewtext", "LCS k1 k2", "LCS k1 k2 LEN", "LCS k1 k2 IDX",
        "LCS k1 k2 IDX MINMATCHLEN 4 WITHMATCHLEN", "LCS k1 k2 IDX WITHMATCHLEN",
        "LCS k1 k2 LEN MINMATCHLEN 2", "LCS k1 k2 idx minmatchlen -5", "LCS k1 nokey",
        "LCS nokey nokey2 IDX", "LCS k1 k2 LEN IDX", "LCS k1 k2 IDX LEN",
        "LCS k1 k2 MINMATCHLEN abc", "LCS k1 k2 MINMATCHLEN", "LCS k1 k2 foo", "HSET l f v",
        "LCS l k1", "LCS k1 l", "LCS l k1 foo", "SET n 12345", "SET m 52341", "LCS n m IDX",
        "LCS k1", "LCS k1 k1 WITHMATCHLEN",
    ]])


def test_lcs_random_vs_oracle(node, oracle):
    rnd = random.Random(11)
    b2 = Both(node, oracle)
    b3 = Both(node, oracle, proto=3)
    for i in range(60):
        alpha = "ab" if i % 3 == 0 else "abcd" if i % 3 == 1 else "abcdefghij"
        x = "".join(rnd.choice(alpha) for _ in range(rnd.randint(0, 40)))
        y = "".join(rnd.choice(alpha) for _ in range(rnd.randint(0, 40)))
        b2.same("SET", "x", x)
        b2.same("SET", "y", y)
        for opts in [(), ("LEN",), ("IDX",), ("IDX", "WITHMATCHLEN"),
                     ("IDX", "MINMATCHLEN", str(rnd.randint(0, 4)), "WITHMATCHLEN")]:
            b2.same("LCS", "x", "y", *opts)
            b3.same("LCS", "x", "y", *opts)


def test_lcs_resp3_map(node, raw_conn):
    c = raw_conn(node)
    c.cmd("HELLO", "3")
    c.cmd("SET", "a", "ohmytext")
    c.cmd("SET", "b", "mynewtext")
    r = c.cmd("LCS", "a", "b", "IDX")
    assert r.type == "%"
    assert r.to_py() == {b"matches": [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], b"len": 6}


# ---------------------------------------------------------------------------
# Encodings, wrong types, persistence of values

def test_object_encoding_vs_oracle(node, oracle):
    b = Both(node, oracle)
    cases = [("int1", "12345"), ("neg", "-7"), ("e44", "x" * 44), ("r45", "x" * 45),
             ("zero", "0"), ("lead0", "0123"), ("big", "99999999999999999999"),
             ("emp", ""), ("sp", " 1")]
    for k, v in cases:
        b.same("SET", k, v)
        b.same("OBJECT", "ENCODING", k)
    for cmd in [("APPEND", "e44", "y"), ("SETRANGE", "int1", "0", "5"), ("SETBIT", "zero", "1", "1"),
                ("INCRBYFLOAT", "flt", "2.5"), ("SETRANGE", "fresh", "2", "ab"),
                ("INCR", "neg"), ("GETSET", "gs", "abc"), ("MSET", "m1", "1", "m2", "x" * 50),
                ("SETEX", "se", "100", "abc"), ("APPEND", "emp", "7")]:
        b.same(*cmd)
        for k in [cmd[1]] + (["m2"] if cmd[0] == "MSET" else []):
            b.same("OBJECT", "ENCODING", k)


def test_wrongtype_errors(node):
    r = node.raw()
    r.cmd("HSET", "l", "f", "a")
    for cmd in [("GET", "l"), ("GETEX", "l"), ("GETDEL", "l"), ("GETSET", "l", "v"),
                ("APPEND", "l", "x"), ("STRLEN", "l"), ("INCR", "l"), ("DECR", "l"),
                ("INCRBY", "l", "1"), ("DECRBY", "l", "1"), ("INCRBYFLOAT", "l", "1"),
                ("GETRANGE", "l", "0", "1"), ("SUBSTR", "l", "0", "1"),
                ("SETRANGE", "l", "0", "x"), ("SET", "l", "v", "GET")]:
        assert r.call(*cmd) == RespError(WRONGTYPE), cmd
    assert r.call("TYPE", "l") == b"hash"


def test_dump_restore_keeps_encoding(node):
    r = node.client()
    r.set("i", "-42")
    r.set("e", "short")
    r.set("w", "x" * 100)
    r.set("a", "1")
    r.append("a", "2")  # raw kind
    for k in ["i", "e", "w", "a"]:
        payload = r.dump(k)
        enc = r.object("encoding", k)
        val = r.get(k)
        r.restore(k + "_copy", 0, payload)
        assert r.get(k + "_copy") == val
        assert r.object("encoding", k + "_copy") == enc
        r.copy(k, k + "_copy2")
        assert r.get(k + "_copy2") == val
        assert r.object("encoding", k + "_copy2") == enc


def test_many_keys_roundtrip(node, oracle):
    """A burst of mixed writes ends in the same state on both servers."""
    rnd = random.Random(3)
    b = Both(node, oracle)
    for i in range(300):
        k = f"k{rnd.randint(0, 20)}"
        op = rnd.randint(0, 9)
        if op == 0:
            b.same("SET", k, str(rnd.randint(-1000, 1000)))
        elif op == 1:
            b.same("SET", k, "v" * rnd.randint(0, 50))
        elif op == 2:
            b.same("INCRBY", k, str(rnd.randint(-5, 5)))
        elif op == 3:
            b.same("APPEND", k, str(rnd.randint(0, 99)))
        elif op == 4:
            b.same("SETRANGE", k, str(rnd.randint(0, 10)), "xy")
        elif op == 5:
            b.same("GETRANGE", k, str(rnd.randint(-10, 10)), str(rnd.randint(-10, 10)))
        elif op == 6:
            b.same("GETDEL", k)
        elif op == 7:
            b.same("INCRBYFLOAT", k, "1.25")
        elif op == 8:
            b.same("STRLEN", k)
        else:
            b.same("MGET", k, "k1", "k2")
    for i in range(21):
        b.same("GET", f"k{i}")
        b.same("OBJECT", "ENCODING", f"k{i}")

"""Bitmap commands of shoal-node (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
BITFIELD_RO): replies, error texts and resulting bytes compared with the oracle
redis-server over fixed matrices and random operation sequences."""

import random
import shlex

import pytest

from conftest import RespError, fmt_raw

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class Both:
    """The same command on shoal-node and the oracle, over raw connections."""

    def __init__(self, node, oracle):
        self.n, self.o = node.raw(), oracle.raw()

    def same(self, *args):
        a, b = self.n.cmd(*args), self.o.cmd(*args)
        assert a.raw == b.raw, f"{args}: shoal {fmt_raw(a.raw)} != redis {fmt_raw(b.raw)}"
        return a

    def run(self, cmds):
        for c in cmds:
            self.same(*shlex.split(c))


def test_setbit_getbit(node, oracle):
    b = Both(node, oracle)
    b.run([
        "SETBIT b -1 1", "SETBIT b 4294967296 1", "SETBIT b abc 1", "SETBIT b 0 2",
        "SETBIT b 0 abc", "SETBIT b 0 -1", "SETBIT b 0 01", "SETBIT b 7 1", "SETBIT b 7 1",
        "GET b", "SETBIT b 100 1", "GET b", "STRLEN b", "SETBIT b 7 0", "GET b",
        "OBJECT ENCODING b", "GETBIT b 100", "GETBIT b 99", "GETBIT b 1000", "GETBIT b -1",
        "GETBIT b 4294967296", "GETBIT nokey 5", "SET n 12", "GETBIT n 2", "SETBIT n 0 1",
        "GET n", "OBJECT ENCODING n", "HSET h f v", "SETBIT h 0 1", "GETBIT h 0", "SETBIT",
        "SETBIT b 1", "GETBIT b",
    ])
    b.same("SET", "e", "")
    b.same("GETBIT", "e", "0")
    b.same("SETBIT", "e", "9", "1")
    b.same("GET", "e")


def test_bitcount_matrix(node, oracle):
    b = Both(node, oracle)
    b.same("SET", "s", b"\xff\x0f\x00\xa5\x81foobar")
    b.same("SET", "i", "-1234567")
    b.same("SET", "e", "")
    idx = ["0", "1", "3", "7", "8", "9", "10", "11", "80", "87", "88", "1000", "-1", "-2", "-8",
           "-9", "-11", "-12", "-100"]
    for key in ["s", "i", "e"]:
        b.same("BITCOUNT", key)
        for s in idx:
            for e in idx:
                b.same("BITCOUNT", key, s, e)
                b.same("BITCOUNT", key, s, e, "BIT")
        b.same("BITCOUNT", key, "0", "-1", "byte")
    b.run([
        "BITCOUNT nokey", "BITCOUNT nokey 0", "BITCOUNT nokey 0 1 2 3", "BITCOUNT s 0",
        "BITCOUNT s 0 1 2 3", "BITCOUNT s a b", "BITCOUNT s 0 b", "BITCOUNT s 0 -1 foo",
        "BITCOUNT s 0 -1 bit extra", "HSET h f v", "BITCOUNT h", "BITCOUNT h 0 1",
        "BITCOUNT",
    ])


def test_bitpos_matrix(node, oracle):
    b = Both(node, oracle)
    b.same("SET", "ones", b"\xff\xff\xff")
    b.same("SET", "zeros", b"\x00\x00\x00")
    b.same("SET", "mix", b"\x00\x0f\xf0\xff\x00\x01")
    b.same("SET", "i", "100")
    idx = ["0", "1", "2", "5", "7", "8", "15", "16", "23", "24", "47", "100", "-1", "-3",
           "-8", "-24", "-100"]
    for key in ["ones", "zeros", "mix", "i", "nokey"]:
        for bit in ["0", "1"]:
            b.same("BITPOS", key, bit)
            for s in idx:
                b.same("BITPOS", key, bit, s)
                for e in idx:
                    b.same("BITPOS", key, bit, s, e)
                    b.same("BITPOS", key, bit, s, e, "BIT")
                b.same("BITPOS", key, bit, s, "-1", "BYTE")
    b.run([
        "BITPOS nokey 2", "BITPOS nokey 1 a", "BITPOS ones 1 a", "BITPOS ones 0 3 bit",
        "BITPOS ones 1 0 -1 foo", "BITPOS ones 1 0 0 byte extra", "BITPOS ones -1",
        "BITPOS ones x", "HSET h f v", "BITPOS h 1", "BITPOS h 2", "BITPOS",
    ])


def test_bitpos_long_strings(node, oracle):
    """Word-at-a-time scanning over long runs gives the same positions."""
    b = Both(node, oracle)
    rnd = random.Random(5)
    for n in [1, 7, 8, 9, 63, 64, 65, 200]:
        for fill, other in [(0x00, 0x10), (0xff, 0xef)]:
            for pos in {0, n // 2, n - 1}:
                data = bytearray([fill]) * n
                data[pos] = other
                b.same("SET", "k", bytes(data))
                for bit in ["0", "1"]:
                    b.same("BITPOS", "k", bit)
                    b.same("BITPOS", "k", bit, str(rnd.randint(0, n)), str(rnd.randint(-n, n)))
                    b.same("BITPOS", "k", bit, str(rnd.randint(0, 8 * n)),
                           str(rnd.randint(0, 8 * n)), "BIT")
                    b.same("BITCOUNT", "k", str(rnd.randint(0, 8 * n)), str(rnd.randint(0, 8 * n)),
                           "BIT")


def test_bitop(node, oracle):
    b = Both(node, oracle)
    b.same("SET", "a", b"\xff\x0f\x33")
    b.same("SET", "b", b"\x0f")
    b.same("SET", "c", b"\x01\x02\x03\x04\x05")
    b.same("SET", "i", "12")
    for op in ["AND", "OR", "XOR", "and", "Or"]:
        for srcs in [["a"], ["a", "b"], ["a", "b", "c"], ["c", "nokey"], ["nokey", "a"],
                     ["i", "a"], ["a", "a"]]:
            b.same("BITOP", op, "d", *srcs)
            b.same("GET", "d")
            b.same("OBJECT", "ENCODING", "d")
    for src in ["a", "c", "i"]:
        b.same("BITOP", "NOT", "d", src)
        b.same("GET", "d")
    b.same("SET", "d", "x", "EX", "100")
    b.run([
        "BITOP AND d nokey", "EXISTS d", "BITOP NOT d nokey", "BITOP foo d a",
        "BITOP NOT d a b", "HSET h f v", "BITOP AND d a h", "BITOP OR h a", "TYPE h",
        "GET h", "BITOP AND d", "BITOP", "BITOP AND a a b", "GET a",
    ])
    r = node.client()
    r.set("t", "x", ex=100)
    r.bitop("OR", "t", "a")
    assert r.ttl("t") == -1


def test_bitop_random_vs_oracle(node, oracle):
    b = Both(node, oracle)
    rnd = random.Random(9)
    for i in range(40):
        keys = []
        for j in range(rnd.randint(1, 4)):
            k = f"s{j}"
            if rnd.random() < 0.8:
                b.same("SET", k, bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 40))))
            else:
                b.same("DEL", k)
            keys.append(k)
        op = rnd.choice(["AND", "OR", "XOR", "NOT"])
        if op == "NOT":
            keys = keys[:1]
        b.same("BITOP", op, "dst", *keys)
        b.same("GET", "dst")


BITFIELD_CASES = [
    "BITFIELD nokey GET u8 0", "EXISTS nokey", "BITFIELD nokey GET u64 0",
    "BITFIELD nokey GET i65 0", "BITFIELD nokey GET i0 0", "BITFIELD nokey GET u0 0",
    "BITFIELD nokey GET x8 0", "BITFIELD nokey GET u 0", "BITFIELD nokey GET U8 0",
    "BITFIELD nokey GET u8 -1", "BITFIELD nokey GET u8 #-1", "BITFIELD nokey GET u8 #1",
    "BITFIELD nokey GET u8 abc", "BITFIELD nokey GET u8 #", "BITFIELD nokey SET u8 0 abc",
    "BITFIELD nokey SET u8 0 1.5", "BITFIELD nokey GET u8", "BITFIELD nokey SET u8 0",
    "BITFIELD nokey INCRBY u8 0", "BITFIELD nokey foo", "BITFIELD nokey OVERFLOW",
    "BITFIELD nokey OVERFLOW foo", "BITFIELD nokey OVERFLOW sat", "EXISTS nokey",
    "BITFIELD nokey", "BITFIELD k OVERFLOW SAT SET u8 0 -1", "BITFIELD k GET u8 0",
    "BITFIELD k OVERFLOW WRAP SET u8 0 -1", "BITFIELD k OVERFLOW FAIL SET u8 0 -1",
    "BITFIELD k OVERFLOW FAIL SET u8 0 256", "BITFIELD k OVERFLOW SAT SET i8 0 -200",
    "BITFIELD k OVERFLOW SAT SET i8 0 200", "BITFIELD k OVERFLOW WRAP SET i8 0 200",
    "BITFIELD k OVERFLOW FAIL INCRBY i8 0 1000 GET i8 0", "BITFIELD fk OVERFLOW FAIL INCRBY u8 100 1000",
    "GET fk", "BITFIELD k INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1 GET u2 100",
    "BITFIELD_RO k GET u8 0 SET u8 0 1", "BITFIELD_RO k SET u8 0 1", "BITFIELD_RO k GET u8 0",
    "BITFIELD_RO k INCRBY u8 0 1", "BITFIELD_RO nokey GET i16 3", "BITFIELD_RO k GET u8 -1",
    "BITFIELD k GET i64 0 SET i64 0 -1 INCRBY i64 0 1 OVERFLOW SAT INCRBY i64 0 -9223372036854775808 INCRBY i64 0 -10",
    "BITFIELD k SET u63 0 9223372036854775807 GET u63 0 INCRBY u63 0 1 OVERFLOW WRAP INCRBY u63 0 1",
    "BITFIELD k SET i64 0 9223372036854775807 OVERFLOW SAT INCRBY i64 0 1 OVERFLOW FAIL INCRBY i64 0 1",
    "BITFIELD k OVERFLOW WRAP INCRBY i64 0 1 GET i64 0", "BITFIELD k GET u8 0 OVERFLOW FAIL",
    "BITFIELD k GET u8 4294967295", "BITFIELD k GET u8 4294967288", "BITFIELD k GET u8 #536870912",
    "BITFIELD k GET u8 #536870911", "BITFIELD k GET i64 #9223372036854775807",
    "BITFIELD k SET u8 #2 255 GET u4 16 GET u4 20 GET i4 16", "GET k", "STRLEN k",
    "BITFIELD k set i5 3 -7 get i5 3 get u5 3 incrby i5 3 -20 overflow sat incrby i5 3 -20",
    "SET n 42", "BITFIELD n GET u8 0 GET u16 0", "BITFIELD n SET u8 0 65", "GET n",
    "OBJECT ENCODING n", "HSET h f v", "BITFIELD h GET u8 0", "BITFIELD h SET u8 0 1",
    "BITFIELD_RO h GET u8 0", "BITFIELD", "BITFIELD_RO",
]


def test_bitfield_cases(node, oracle):
    b = Both(node, oracle)
    b.run(BITFIELD_CASES)


def test_bitfield_random_vs_oracle(node, oracle):
    b = Both(node, oracle)
    rnd = random.Random(21)
    for i in range(250):
        args = ["BITFIELD", "bf"]
        for j in range(rnd.randint(1, 6)):
            kind = rnd.choice(["GET", "SET", "INCRBY", "OVERFLOW"])
            if kind == "OVERFLOW":
                args += ["OVERFLOW", rnd.choice(["WRAP", "SAT", "FAIL"])]
                continue
            sign = rnd.choice("iu")
            bits = rnd.randint(1, 64 if sign == "i" else 63)
            off = rnd.choice([str(rnd.randint(0, 200)), f"#{rnd.randint(0, 6)}"])
            args += [kind, f"{sign}{bits}", off]
            if kind != "GET":
                lim = 1 << rnd.choice([3, 8, 20, 62, 63])
                args.append(str(rnd.randint(-lim, lim - 1)))
        b.same(*args)
    b.same("GET", "bf")


def test_wrongtype_errors(node):
    r = node.raw()
    r.cmd("HSET", "h", "f", "v")
    for cmd in [("SETBIT", "h", "0", "1"), ("GETBIT", "h", "0"), ("BITCOUNT", "h"),
                ("BITPOS", "h", "1"), ("BITOP", "AND", "d", "h"), ("BITFIELD", "h", "GET", "u8", "0"),
                ("BITFIELD_RO", "h", "GET", "u8", "0")]:
        assert r.call(*cmd) == RespError(WRONGTYPE), cmd


@pytest.mark.node_args("--proto-max-bulk-len", "1mb")
def test_offset_limit_follows_proto_max_bulk_len(node, oracle):
    b = Both(node, oracle)
    b.run([
        "SETBIT b 8388607 1", "STRLEN b", "SETBIT b 8388608 1", "GETBIT b 8388608",
        "BITFIELD b GET u8 8388600", "BITFIELD b GET u8 8388608", "BITFIELD b SET u8 #1048575 7",
        "BITFIELD b SET u8 #1048576 7", "BITCOUNT b",
    ])

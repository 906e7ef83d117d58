"""HyperLogLog commands of shoal-node (PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST):
counts and the stored bytes (sparse and dense, cached cardinality included) compared
with the oracle redis-server for random inputs, sparse->dense promotion through
hll-sparse-max-bytes and through large register values, merges of every encoding
mix, error texts, and robustness against corrupted HLL strings."""

import random
import shlex

import pytest

from conftest import RespError, fmt_raw

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID = "INVALIDOBJ Corrupted HLL object detected"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"

# Elements whose register value exceeds 32 (the sparse VAL limit): found offline by
# searching MurmurHash64A outputs with >= 32 zero bits above the register index.
BIG_REGISTER_ELEMENTS = ["e2119568080"]  # register 12049 gets 35


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


def elements(rnd, n, prefix="e"):
    return [f"{prefix}{rnd.getrandbits(48)}" for _ in range(n)]


def test_pfadd_pfcount_bytes_vs_oracle(node, oracle):
    """Batches of random elements: same PFADD/PFCOUNT replies and identical bytes through
    the sparse phase, the promotion to dense and the dense phase."""
    b = Both(node, oracle)
    rnd = random.Random(1)
    b.same("PFADD", "h")
    b.same("GET", "h")
    total = 0
    while total < 6000:
        n = rnd.choice([1, 2, 5, 20, 100, 400])
        batch = elements(rnd, n)
        b.same("PFADD", "h", *batch)
        b.same("PFADD", "h", *batch[: max(1, n // 3)])  # repeats change nothing
        total += n
        b.same("GET", "h")
        b.same("PFCOUNT", "h")
        b.same("GET", "h")  # cached cardinality written back
        b.same("PFDEBUG", "ENCODING", "h")
    assert b.n.call("PFDEBUG", "ENCODING", "h") == b"dense"


def test_pfcount_values_across_sizes(node, oracle):
    b = Both(node, oracle)
    rnd = random.Random(2)
    for size in [0, 1, 10, 100, 1000, 20000, 100000]:
        key = f"h{size}"
        els = elements(rnd, size)
        for i in range(0, len(els), 5000):
            b.same("PFADD", key, *els[i:i + 5000])
        b.same("PFCOUNT", key)
    b.same("PFCOUNT", "h10", "h1000", "h20000")
    b.same("PFCOUNT", "h100000", "h0", "nokey")


@pytest.mark.parametrize("limit", ["0", "30", "100", "500"])
def test_sparse_max_bytes_promotion(node, oracle, limit):
    b = Both(node, oracle)
    for c in (b.n, b.o):
        assert c.cmd("CONFIG", "SET", "hll-sparse-max-bytes", limit).raw == b"+OK\r\n"
    try:
        rnd = random.Random(int(limit) + 3)
        for i in range(60):
            b.same("PFADD", "h", *elements(rnd, rnd.randint(1, 4)))
            b.same("GET", "h")
        b.same("PFCOUNT", "h")
        b.same("PFDEBUG", "ENCODING", "h")
    finally:
        for c in (b.n, b.o):
            c.cmd("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


def test_sparse_merge_window_insert_orders(node, oracle):
    """Register runs built in different orders keep Redis's exact VAL opcode splits."""
    b = Both(node, oracle)
    rnd = random.Random(4)
    pool = elements(rnd, 3000)
    for round_ in range(6):
        rnd.shuffle(pool)
        key = f"o{round_}"
        for i in range(0, 900, 3):
            b.same("PFADD", key, *pool[i:i + 3])
        b.same("GET", key)
        b.same("PFDEBUG", "DECODE", key)


def test_big_register_value_promotes(node, oracle):
    if not BIG_REGISTER_ELEMENTS:
        pytest.skip("no precomputed element")
    b = Both(node, oracle)
    b.same("PFADD", "h", "a", "b")
    b.same("PFDEBUG", "ENCODING", "h")
    b.same("PFADD", "h", BIG_REGISTER_ELEMENTS[0])
    b.same("PFDEBUG", "ENCODING", "h")
    b.same("GET", "h")
    b.same("PFCOUNT", "h")
    b.same("PFMERGE", "m", "h")
    b.same("GET", "m")


def test_pfmerge_vs_oracle(node, oracle):
    b = Both(node, oracle)
    rnd = random.Random(5)
    b.same("PFADD", "s1", *elements(rnd, 50))
    b.same("PFADD", "s2", *elements(rnd, 80))
    b.same("PFADD", "d1", *elements(rnd, 5000))
    b.same("PFADD", "d2", *elements(rnd, 7000))
    b.run([
        "PFMERGE m1 s1 s2", "GET m1", "PFCOUNT m1", "PFMERGE m2 s1 d1", "GET m2",
        "PFMERGE m3 d1 d2", "GET m3", "PFCOUNT m3", "PFMERGE s1 s2", "GET s1", "PFMERGE s2 d2",
        "GET s2", "PFMERGE m4 nokey", "GET m4", "PFMERGE m5", "GET m5", "PFMERGE m4 m4 s1",
        "GET m4", "PFCOUNT s1 s2 d1 d2 m1", "PFCOUNT s1 nokey", "PFCOUNT nokey nokey2",
        "PFMERGE d1 s1", "GET d1", "PFCOUNT d1",
    ])


def test_errors(node, oracle):
    b = Both(node, oracle)
    b.run([
        "SET s foo", "PFADD s a", "PFCOUNT s", "PFCOUNT nokey s", "PFMERGE s nokey",
        "PFMERGE d s", "EXISTS d", "HSET hh f v", "PFADD hh a", "PFCOUNT hh", "PFCOUNT nokey hh",
        "PFMERGE d hh", "PFMERGE hh nokey", "SET i 123", "PFADD i a", "PFCOUNT i",
        "PFCOUNT nokey", "PFADD", "PFCOUNT", "PFMERGE", "SET short HYLL", "PFCOUNT short",
        "PFADD h a b c", "PFDEBUG GETREG nokey", "PFDEBUG ENCODING s", "PFDEBUG FOO h",
        "PFDEBUG foo nokey", "PFDEBUG ENCODING h extra", "PFDEBUG ENCODING", "PFDEBUG DECODE h",
        "PFDEBUG TODENSE h", "PFDEBUG TODENSE h", "PFDEBUG DECODE h", "PFDEBUG ENCODING h",
        "PFDEBUG GETREG h", "PFSELFTEST", "PFSELFTEST x",
    ])
    # A dense header with the wrong length, a bad encoding byte, a bad magic.
    for bad in [b"HYLL\x00" + b"\x00" * 11 + b"\x7f", b"HYLL\x02" + b"\x00" * 11 + b"\x7f\xff",
                b"HYLX\x01" + b"\x00" * 11 + b"\x7f\xff"]:
        b.same("SET", "bad", bad)
        b.same("PFCOUNT", "bad")
        b.same("PFADD", "bad", "x")


def test_crafted_sparse_values(node, oracle):
    """HLL strings written with SET behave as in Redis: valid cache short-cuts the count,
    incomplete opcodes are corrupt on use."""
    b = Both(node, oracle)
    hdr_valid = b"HYLL\x01\x00\x00\x00" + b"\x00" * 8
    hdr_stale = b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80"
    for body in [b"\x7f\xff", b"\x7f\xfe", b"\x7f\xfe\x80", b"\x80\x7f\xfe",
                 b"\x7f\xfd\x81", b"\x7f\xfc\xff", b"\x00" * 256, b"\x3f" * 256]:
        for hdr in (hdr_valid, hdr_stale):
            b.same("SET", "c", hdr + body)
            b.same("PFCOUNT", "c")
            b.same("PFCOUNT", "c", "nokey")
            b.same("PFADD", "c", "a", "b", "c", "d", "e")
            b.same("GET", "c")


def test_corrupted_fuzz_never_crashes(node):
    """Random bytes after a sparse or dense header: every reply is a number, OK or an
    HLL error, and the node survives."""
    r = node.raw()
    rnd = random.Random(6)
    ok_errors = {INVALID, NOT_HLL}
    for i in range(300):
        dense = rnd.random() < 0.2
        if dense:
            body = bytes(rnd.getrandbits(8) for _ in range(12288))
        else:
            body = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 40)))
        card = bytes(rnd.getrandbits(8) for _ in range(8))
        r.cmd("SET", "f", b"HYLL" + (b"\x00" if dense else b"\x01") + b"\x00\x00\x00" + card + body)
        for cmd in [("PFCOUNT", "f"), ("PFADD", "f", "x", "y", str(i)), ("PFCOUNT", "f", "nokey"),
                    ("PFMERGE", "g", "f"), ("PFDEBUG", "DECODE", "f"), ("PFDEBUG", "TODENSE", "f")]:
            v = r.call(*cmd)
            if isinstance(v, RespError):
                assert str(v) in ok_errors | {"ERR HLL encoding is not sparse"}, (cmd, v)
        r.cmd("DEL", "g")
    assert r.call("PING") == b"PONG"


def test_hll_is_a_string(node, oracle):
    b = Both(node, oracle)
    b.run([
        "PFADD h a b c", "TYPE h", "OBJECT ENCODING h", "STRLEN h", "APPEND h x", "PFCOUNT h",
        "PFADD h2 a", "GETRANGE h2 0 3", "SETRANGE h2 0 HYLL", "PFCOUNT h2",
    ])
    # Copying the bytes around keeps a working HLL.
    raw = b.same("GET", "h2").value
    b.same("SET", "h3", raw)
    b.same("PFADD", "h3", "zz")
    b.same("PFCOUNT", "h3")
    b.same("GET", "h3")


def test_wrongtype(node):
    r = node.raw()
    r.cmd("HSET", "h", "f", "v")
    for cmd in [("PFADD", "h", "a"), ("PFCOUNT", "h"), ("PFCOUNT", "h", "x"), ("PFMERGE", "h", "x"),
                ("PFMERGE", "x", "h"), ("PFDEBUG", "GETREG", "h")]:
        assert r.call(*cmd) == RespError(WRONGTYPE), cmd

"""List commands of shoal-node: replies and errors compared byte for byte with the
oracle redis-server (RESP2 and RESP3), listpack/quicklist encodings and their
conversions, DUMP/RESTORE, a randomized differential run, and blocking pops
(wake-up, timeouts, FIFO order, BLMOVE chains, MULTI, disconnecting waiters)."""

import random
import shlex
import time

import pytest

from conftest import RespError

# ---------------------------------------------------------------------------
# helpers


def pair(node, oracle, proto=2):
    a, b = node.raw(), oracle.raw()
    if proto == 3:
        assert a.cmd("HELLO", "3").type == "%"
        b.cmd("HELLO", "3")
    return a, b


def same(a, b, *args):
    try:
        ra, rb = a.cmd(*args), b.cmd(*args)
    except TimeoutError:
        raise AssertionError(f"{args!r}: no reply") from None
    assert ra.raw == rb.raw, f"{args!r}: shoal {ra.raw!r} != oracle {rb.raw!r}"
    return ra


def run_script(a, b, script):
    for line in script.strip().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            same(a, b, *shlex.split(line))


def wait_blocked(conn, n, timeout=5.0):
    """Until INFO reports n blocked clients (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        info = conn.call("INFO", "clients").decode()
        for ln in info.splitlines():
            if ln.startswith("blocked_clients:") and int(ln.split(":")[1]) == n:
                return
        assert time.monotonic() < deadline, f"never saw {n} blocked clients:\n{info}"
        time.sleep(0.01)


def enc(conn, key):
    return conn.call("OBJECT", "ENCODING", key)


def no_reply(conn, wait=0.15):
    assert conn.read_raw(timeout=wait) == b""


# ---------------------------------------------------------------------------
# replies and errors, against the oracle

BASIC = r"""
rpush l a b c a b c 123 -7 0123
lpush l x y
lpushx l z
rpushx l w
lpushx nokey a
rpushx nokey a
exists nokey
llen l
llen nokey
lrange l 0 -1
lrange l -3 -1
lrange l 5 2
lrange l -100 100
lrange l 100 200
lrange l 0 -100
lrange nokey 0 -1
lrange l -9223372036854775808 9223372036854775807
lindex l 0
lindex l -1
lindex l 3
lindex l 100
lindex l -100
lindex nokey 0
lindex nokey abc
lindex l abc
lpos l a
lpos l a rank 2
lpos l a rank -1
lpos l a rank -2
lpos l a rank 3
lpos l a count 0
lpos l a count 1
lpos l a count 0 rank 2
lpos l a count 0 rank -1
lpos l a maxlen 3
lpos l a maxlen 2
lpos l a rank 2 count 1 maxlen 3
lpos l a rank -1 maxlen 2
lpos l a RANK -9223372036854775808 COUNT 1
lpos l 123
lpos l 0123
lpos l -7
lpos l zz
lpos l zz count 0
lpos nokey a
lpos nokey a count 2
lpos nokey a rank 0
lpos l a rank 0
lpos l a rank abc
lpos l a count -1
lpos l a count abc
lpos l a maxlen -1
lpos l a maxlen abc
lpos l a foo
lpos l a rank
lpos l a count 1 bar
lset l 0 first
lset l -1 last
lset l 100 x
lset l -100 x
lset l abc x
lset nokey 0 x
lset nokey abc x
lrange l 0 -1
linsert l before c C
linsert l AFTER c C2
linsert l before nothere x
linsert l middle c x
linsert nokey before a b
linsert nokey middle a b
lrange l 0 -1
lrem l 1 a
lrem l -1 b
lrem l 0 c
lrem l 0 0123
lrem l 0 123
lrem l 0 nothere
lrem l abc a
lrem nokey 0 a
lrem nokey abc a
lrange l 0 -1
ltrim l 1 -2
lrange l 0 -1
ltrim l abc 1
ltrim l 0 abc
ltrim nokey 0 1
ltrim l 5 2
exists l
rpush l a b c d e f
lpop l
rpop l
lpop l 2
rpop l 2
lpop l 0
lpop l -1
lpop l abc
lpop l 9999999999999999999
lpop l 100
exists l
lpop nokey
rpop nokey
lpop nokey 2
lpop nokey 0
lpop nokey -1
lpop l 1 2
"""

WRONGTYPE = r"""
set s str
lpush s a
rpush s a
lpushx s a
rpushx s a
lpop s
rpop s
lpop s 0
lpop s -1
llen s
lindex s 0
lindex s abc
lset s 0 x
lset s abc x
lrange s 0 1
lrange s a b
ltrim s 0 1
lrem s 0 a
linsert s before a b
linsert s middle a b
lpos s a
lpos s a rank 0
lmove s d left left
rpoplpush s d
rpush l a
lmove l s left left
rpoplpush l s
lmove nokey s left left
lmpop 1 s left
lmpop 2 nokey s left
lmpop 2 s l left
lmpop 2 l s left
lrange l 0 -1
blpop s 0
blpop l s 0
brpop s l 0
blmpop 0 2 s l left
brpoplpush s l 0
blmove s l left left 0
rpush l2 x
blmove l2 s left left 0
lrange l2 0 -1
"""

MOVES = r"""
rpush src a b c d
lmove src dst left left
lmove src dst right right
lmove src dst LEFT RIGHT
lrange src 0 -1
lrange dst 0 -1
lmove src src left right
lmove src src right left
lrange src 0 -1
rpoplpush src dst
exists src
rpoplpush src dst
lmove src dst left left
lrange dst 0 -1
rpush one x
lmove one one left left
lrange one 0 -1
rpoplpush one one
lrange one 0 -1
lmove one one up left
lmove one one left down
lmove nokey dst up left
rpush m1 a b c
rpush m2 d e f
lmpop 1 m1 left
lmpop 2 nokey m2 right
lmpop 2 m1 m2 left count 10
lmpop 2 m1 m2 right COUNT 2
lmpop 2 m1 m2 right count 5
exists m1 m2
lmpop 1 m1 left
lmpop 1 nokey left count 3
lmpop 0 m1 left
lmpop -1 m1 left
lmpop abc m1 left
lmpop 1 m1 up
lmpop 2 m1 left
lmpop 3 a b left
lmpop 1 m1 left count 0
lmpop 1 m1 left count -1
lmpop 1 m1 left count a
lmpop 1 m1 left count
lmpop 1 m1 left foo
lmpop 1 m1 left count 1 count 2
"""

BLOCKING_ERRORS = r"""
blpop l -1
blpop l abc
blpop l nan
brpop l -0.5
blmove a b left left -1
blmove a b up left 0
blmove a b left up -1
brpoplpush a b -1
brpoplpush a b abc
blmpop -1 1 l left
blmpop abc 1 l left
blmpop 0 0 l left
blmpop 0 -1 l left
blmpop 0 abc l left
blmpop 0 1 l up
blmpop 0 1 l left count 0
blmpop abc 1 l left count 0
blmpop 0 2 l left
blmpop 0 1 l left foo
rpush l a b c d e
blpop nokey l 0
brpop nokey l 0
blpop l 0.01
blmpop 0 2 nokey l right count 5
exists l
rpush l a b
blmove l l2 right left 0
brpoplpush l l2 0
lrange l2 0 -1
blpop l2 l2 0
"""

ARITY = r"""
lpush l
rpush
lpushx l
rpushx l
lpop
rpop l 1 2
llen
llen a b
lindex l
lset l 0
lrange l 0
ltrim l 0
lrem l 0
linsert l before a
lpos l
lmove a b left
rpoplpush a
lmpop 1 l
blpop l
brpop l
blmove a b left left
brpoplpush a b
blmpop 0 1 l
"""


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("script", [BASIC, WRONGTYPE, MOVES, BLOCKING_ERRORS, ARITY],
                         ids=["basic", "wrongtype", "moves", "blocking_errors", "arity"])
def test_against_oracle(node, oracle, proto, script):
    a, b = pair(node, oracle, proto)
    run_script(a, b, script)


@pytest.mark.parametrize("proto", [2, 3])
def test_nil_shapes(node, proto):
    c = node.raw()
    if proto == 3:
        c.cmd("HELLO", "3")
    nil_bulk = b"$-1\r\n" if proto == 2 else b"_\r\n"
    nil_arr = b"*-1\r\n" if proto == 2 else b"_\r\n"
    assert c.cmd("LPOP", "missing").raw == nil_bulk
    assert c.cmd("RPOP", "missing").raw == nil_bulk
    assert c.cmd("LPOP", "missing", "2").raw == nil_arr
    assert c.cmd("RPOP", "missing", "0").raw == nil_arr
    assert c.cmd("LINDEX", "missing", "0").raw == nil_bulk
    assert c.cmd("LPOS", "missing", "x").raw == nil_bulk
    assert c.cmd("LPOS", "missing", "x", "COUNT", "0").raw == b"*0\r\n"
    assert c.cmd("RPOPLPUSH", "missing", "d").raw == nil_bulk
    assert c.cmd("LMOVE", "missing", "d", "LEFT", "LEFT").raw == nil_bulk
    assert c.cmd("LMPOP", "1", "missing", "LEFT").raw == nil_arr
    assert c.cmd("BLPOP", "missing", "0.01").raw == nil_arr
    assert c.cmd("BLMPOP", "0.01", "1", "missing", "LEFT").raw == nil_arr
    # Redis 7.0 times out every blocked list command with a null array,
    # BLMOVE/BRPOPLPUSH included.
    assert c.cmd("BRPOPLPUSH", "missing", "d", "0.01").raw == nil_arr
    assert c.cmd("BLMOVE", "missing", "d", "LEFT", "LEFT", "0.01").raw == nil_arr
    c.cmd("RPUSH", "l", "a", "7")
    assert c.cmd("LPOP", "l", "0").raw == b"*0\r\n"
    assert c.cmd("LPOP", "l", "5").raw == b"*2\r\n$1\r\na\r\n$1\r\n7\r\n"
    assert c.cmd("EXISTS", "l").raw == b":0\r\n"


def test_integers_and_binary(node, oracle):
    a, b = pair(node, oracle)
    vals = ["0", "-0", "1", "-1", "127", "128", "-4096", "4095", "65535", "-9223372036854775808",
            "9223372036854775807", "9223372036854775808", "18446744073709551616", "+1", " 1",
            "1.5", "00", "", "a\x00b", "\r\n", "x" * 70, "y" * 5000]
    for v in vals:
        same(a, b, "RPUSH", "l", v)
    same(a, b, "LRANGE", "l", "0", "-1")
    for v in vals:
        same(a, b, "LPOS", "l", v, "COUNT", "0")
    same(a, b, "LREM", "l", "0", "-0")
    same(a, b, "LREM", "l", "0", "0")
    same(a, b, "LINSERT", "l", "AFTER", "9223372036854775807", "after-max")
    same(a, b, "LRANGE", "l", "0", "-1")
    for i in range(len(vals)):
        same(a, b, "LINDEX", "l", str(i))


# ---------------------------------------------------------------------------
# encodings


def test_encoding_listpack_to_quicklist_and_back(node):
    c = node.raw()
    c.call("RPUSH", "l", "a", "b", "c")
    assert enc(c, "l") == b"quicklist"
    # Default list-max-listpack-size -2: 8 KB per node.
    for i in range(100):
        c.call("RPUSH", "l", "v%03d" % i + "x" * 90)
    assert enc(c, "l") == b"quicklist"
    assert c.call("LLEN", "l") == 103
    # Shrinks back once it fits in half a node.
    c.call("LTRIM", "l", "0", "9")
    assert enc(c, "l") == b"quicklist"
    assert c.call("LRANGE", "l", "0", "3") == [b"a", b"b", b"c", b"v000" + b"x" * 90]
    # A single element bigger than a node.
    c.call("RPUSH", "big", "z" * 10000)
    assert enc(c, "big") == b"quicklist"
    assert c.call("LINDEX", "big", "0") == b"z" * 10000
    c.call("LSET", "big", "0", "small")
    assert enc(c, "big") == b"quicklist"
    c.call("LSET", "big", "0", "q" * 9000)
    assert enc(c, "big") == b"quicklist"
    assert c.call("LINDEX", "big", "0") == b"q" * 9000
    # LINSERT growing past the limit converts too.
    c.call("RPUSH", "ins", "p" * 4000, "q" * 4000)
    assert enc(c, "ins") == b"quicklist"
    assert c.call("LINSERT", "ins", "BEFORE", "q" * 4000, "r" * 500) == 3
    assert enc(c, "ins") == b"quicklist"
    assert c.call("LRANGE", "ins", "0", "-1") == [b"p" * 4000, b"r" * 500, b"q" * 4000]
    assert c.call("TYPE", "ins") == b"list"


@pytest.mark.node_args("--list-max-listpack-size", "4")
def test_encoding_count_limit(node):
    c = node.raw()
    c.call("RPUSH", "l", "1", "2", "3", "4")
    assert enc(c, "l") == b"quicklist"
    c.call("RPUSH", "l", "5")
    assert enc(c, "l") == b"quicklist"
    c.call("RPOP", "l", "2")
    assert enc(c, "l") == b"quicklist"      # 3 > 4/2
    c.call("RPOP", "l")
    assert enc(c, "l") == b"quicklist"
    assert c.call("LRANGE", "l", "0", "-1") == [b"1", b"2"]
    # Changing the limit at runtime applies to the next conversion.
    assert c.call("CONFIG", "SET", "list-max-listpack-size", "-1") == b"OK"
    c.call("RPUSH", "l", *[str(i) for i in range(100)])
    assert enc(c, "l") == b"quicklist"


def test_dump_restore(node):
    c = node.raw()
    c.call("RPUSH", "small", "a", "1", "-300", "")
    c.call("RPUSH", "big", *["e%05d" % i for i in range(3000)])
    for key in ("small", "big"):
        payload = c.call("DUMP", key)
        assert isinstance(payload, bytes)
        assert c.call("RESTORE", key + "2", "0", payload) == b"OK"
        assert c.call("LRANGE", key + "2", "0", "-1") == c.call("LRANGE", key, "0", "-1")
        assert enc(c, key + "2") == enc(c, key)
    # A corrupted payload is refused, never crashes the node.
    payload = bytearray(c.call("DUMP", "small"))
    for i in range(2, len(payload) - 10):
        bad = bytes(payload[:i]) + bytes([payload[i] ^ 0x5A]) + bytes(payload[i + 1:])
        r = c.call("RESTORE", "x%d" % i, "0", bad)
        assert isinstance(r, RespError) or r == b"OK"
    assert c.call("PING") == b"PONG"


def test_copy_and_memory(node):
    c = node.raw()
    c.call("RPUSH", "l", *["%d" % i for i in range(2000)])
    assert c.call("COPY", "l", "l2") == 1
    c.call("LPUSH", "l", "new")
    assert c.call("LLEN", "l2") == 2000
    assert c.call("LINDEX", "l2", "0") == b"0"
    assert c.call("MEMORY", "USAGE", "l") > 2000


# ---------------------------------------------------------------------------
# randomized differential run (both encodings, many quicklist nodes)

def random_ops(a, b, rng, n, big):
    keys = ["k1", "k2"]
    pool = ["a", "b", "c", "1", "2", "-3", "100000", "0123", "x" * 40]
    if big:
        pool += ["B" * 3000, "C" * 1500]
    cmds = []
    for _ in range(n):
        k, k2 = rng.choice(keys), rng.choice(keys)
        e = rng.choice(pool)
        idx = str(rng.randint(-30, 30))
        op = rng.randrange(16)
        if op in (0, 1):
            cmds.append(["RPUSH" if op else "LPUSH", k] + [rng.choice(pool) for _ in range(rng.randint(1, 6))])
        elif op == 2:
            cmds.append([rng.choice(["LPOP", "RPOP"]), k] + ([str(rng.randint(0, 5))] if rng.random() < .5 else []))
        elif op == 3:
            cmds.append(["LRANGE", k, idx, str(rng.randint(-30, 30))])
        elif op == 4:
            cmds.append(["LINDEX", k, idx])
        elif op == 5:
            cmds.append(["LSET", k, idx, e])
        elif op == 6:
            cmds.append(["LREM", k, str(rng.randint(-3, 3)), e])
        elif op == 7:
            cmds.append(["LINSERT", k, rng.choice(["BEFORE", "AFTER"]), rng.choice(pool), e])
        elif op == 8:
            cmds.append(["LTRIM", k, str(rng.randint(-5, 5)), str(rng.randint(-40, 40))])
        elif op == 9:
            cmds.append(["LMOVE", k, k2, rng.choice(["LEFT", "RIGHT"]), rng.choice(["LEFT", "RIGHT"])])
        elif op == 10:
            args = ["LPOS", k, e]
            if rng.random() < .5:
                args += ["RANK", str(rng.choice([-3, -2, -1, 1, 2, 3]))]
            if rng.random() < .5:
                args += ["COUNT", str(rng.randint(0, 3))]
            if rng.random() < .3:
                args += ["MAXLEN", str(rng.randint(0, 10))]
            cmds.append(args)
        elif op == 11:
            cmds.append(["LMPOP", "2", k, k2, rng.choice(["LEFT", "RIGHT"]), "COUNT", str(rng.randint(1, 4))])
        elif op == 12:
            cmds.append(["RPOPLPUSH", k, k2])
        elif op == 13:
            cmds.append(["LLEN", k])
        else:
            cmds.append(["LRANGE", k, "0", "-1"])
    for cmd in cmds:
        same(a, b, *cmd)
    for k in keys:
        same(a, b, "LRANGE", k, "0", "-1")


def test_random_default_fill(node, oracle):
    a, b = pair(node, oracle)
    random_ops(a, b, random.Random(1234), 1500, big=True)


@pytest.mark.node_args("--list-max-listpack-size", "3")
def test_random_small_nodes(node, oracle):
    a, b = pair(node, oracle, proto=3)
    random_ops(a, b, random.Random(99), 1500, big=False)


# ---------------------------------------------------------------------------
# blocking


def test_blpop_wakes_on_push(node):
    w, p = node.raw(), node.raw()
    w.send_command("BLPOP", "q1", "q2", "0")
    wait_blocked(p, 1)
    no_reply(w)
    assert p.call("RPUSH", "q2", "x", "y") == 2
    assert w.read_reply().to_py() == [b"q2", b"x"]
    assert p.call("LRANGE", "q2", "0", "-1") == [b"y"]
    wait_blocked(p, 0)
    # BRPOP from the tail, first non-empty key in argument order.
    p.call("RPUSH", "q1", "a", "b")
    assert w.call("BRPOP", "q2", "q1", "0") == [b"q2", b"y"]
    assert w.call("BRPOP", "q2", "q1", "0") == [b"q1", b"b"]


def test_blocking_forms_wake(node):
    p = node.raw()
    w1, w2, w3 = node.raw(), node.raw(), node.raw()
    w1.send_command("BRPOPLPUSH", "src", "dst", "5")
    w2.send_command("BLMPOP", "5", "2", "m1", "m2", "RIGHT", "COUNT", "2")
    w3.send_command("BLMOVE", "s3", "d3", "LEFT", "RIGHT", "5")
    wait_blocked(p, 3)
    p.call("RPUSH", "src", "a", "b")
    assert w1.read_reply().to_py() == b"b"
    p.call("RPUSH", "m2", "1", "2", "3")
    assert w2.read_reply().to_py() == [b"m2", [b"3", b"2"]]
    p.call("LPUSH", "s3", "z")
    assert w3.read_reply().to_py() == b"z"
    assert p.call("LRANGE", "dst", "0", "-1") == [b"b"]
    assert p.call("LRANGE", "d3", "0", "-1") == [b"z"]
    assert p.call("EXISTS", "s3") == 0
    wait_blocked(p, 0)


def test_timeouts(node):
    c = node.raw()
    for args in (["BLPOP", "nk", "0.2"], ["BRPOP", "a", "b", "0.2"],
                 ["BLMPOP", "0.2", "1", "nk", "LEFT"], ["BLMOVE", "nk", "d", "LEFT", "LEFT", "0.2"],
                 ["BRPOPLPUSH", "nk", "d", "0.2"]):
        t0 = time.monotonic()
        r = c.cmd(*args, timeout=5)
        dt = time.monotonic() - t0
        assert r.raw == b"*-1\r\n", (args, r)
        assert 0.15 <= dt < 2.0, (args, dt)
    c.cmd("HELLO", "3")
    t0 = time.monotonic()
    assert c.cmd("BLPOP", "nk", "0.1", timeout=5).raw == b"_\r\n"
    assert time.monotonic() - t0 >= 0.07
    assert c.call("EXISTS", "d") == 0


def test_timeout_zero_waits(node):
    w, p = node.raw(), node.raw()
    w.send_command("BLPOP", "k", "0")
    wait_blocked(p, 1)
    no_reply(w, 0.4)
    p.call("LPUSH", "k", "v")
    assert w.read_reply().to_py() == [b"k", b"v"]


def test_fifo_three_waiters(node):
    p = node.raw()
    ws = [node.raw() for _ in range(3)]
    for i, w in enumerate(ws):
        w.send_command("BLPOP", "fifo", "5")
        wait_blocked(p, i + 1)
    p.call("RPUSH", "fifo", "a", "b", "c", "d")
    got = [w.read_reply().to_py() for w in ws]
    assert got == [[b"fifo", b"a"], [b"fifo", b"b"], [b"fifo", b"c"]]
    assert p.call("LRANGE", "fifo", "0", "-1") == [b"d"]
    # One element at a time: each push serves the longest waiter.
    for i, w in enumerate(ws):
        w.send_command("BRPOP", "f2", "5")
        wait_blocked(p, i + 1)
    for i, w in enumerate(ws):
        p.call("LPUSH", "f2", "e%d" % i)
        assert w.read_reply().to_py() == [b"f2", b"e%d" % i]
        for other in ws[i + 1:]:
            no_reply(other, 0.05)


def test_blmove_chain(node):
    p = node.raw()
    a, b, c = node.raw(), node.raw(), node.raw()
    a.send_command("BLMOVE", "c1", "c2", "LEFT", "RIGHT", "5")
    wait_blocked(p, 1)
    b.send_command("BRPOPLPUSH", "c2", "c3", "5")
    wait_blocked(p, 2)
    c.send_command("BLPOP", "c3", "5")
    wait_blocked(p, 3)
    p.call("RPUSH", "c1", "x")
    assert a.read_reply().to_py() == b"x"
    assert b.read_reply().to_py() == b"x"
    assert c.read_reply().to_py() == [b"c3", b"x"]
    for k in ("c1", "c2", "c3"):
        assert p.call("EXISTS", k) == 0
    wait_blocked(p, 0)


def test_lmove_wakes_waiter_on_destination(node):
    p, w = node.raw(), node.raw()
    w.send_command("BLPOP", "dst", "5")
    wait_blocked(p, 1)
    p.call("RPUSH", "src", "v")
    assert p.call("LMOVE", "src", "dst", "LEFT", "LEFT") == b"v"
    assert w.read_reply().to_py() == [b"dst", b"v"]
    assert p.call("EXISTS", "dst") == 0


def test_blocking_inside_multi(node):
    c = node.raw()
    c.call("MULTI")
    for args in (["BLPOP", "nk", "0"], ["BRPOP", "nk", "0"], ["BLMPOP", "0", "1", "nk", "LEFT"],
                 ["BRPOPLPUSH", "nk", "d", "0"], ["BLMOVE", "nk", "d", "LEFT", "LEFT", "0"]):
        assert c.call(*args) == b"QUEUED"
    t0 = time.monotonic()
    r = c.cmd("EXEC", timeout=3)
    assert time.monotonic() - t0 < 1.0
    assert r.raw == b"*5\r\n*-1\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n"
    # With data it serves inside MULTI too.
    c.call("RPUSH", "k", "a", "b")
    c.call("MULTI")
    c.call("BLPOP", "k", "0")
    c.call("BLMOVE", "k", "k2", "LEFT", "LEFT", "0")
    assert c.call("EXEC") == [[b"k", b"a"], b"b"]


def test_multi_push_wakes_after_exec(node):
    p, w = node.raw(), node.raw()
    w.send_command("BLPOP", "mk", "5")
    wait_blocked(p, 1)
    p.call("MULTI")
    p.call("RPUSH", "mk", "a")
    p.call("RPUSH", "mk", "b")
    no_reply(w, 0.1)
    assert p.call("EXEC") == [1, 2]
    assert w.read_reply().to_py() == [b"mk", b"a"]
    assert p.call("LRANGE", "mk", "0", "-1") == [b"b"]


def test_disconnected_waiter_loses_nothing(node):
    p = node.raw()
    gone = node.raw()
    gone.send_command("BLPOP", "dk", "0")
    wait_blocked(p, 1)
    stay = node.raw()
    stay.send_command("BLPOP", "dk", "0")
    wait_blocked(p, 2)
    gone.close()
    wait_blocked(p, 1)
    p.call("RPUSH", "dk", "v1", "v2")
    assert stay.read_reply().to_py() == [b"dk", b"v1"]
    assert p.call("LRANGE", "dk", "0", "-1") == [b"v2"]
    wait_blocked(p, 0)


def test_waiter_ignores_other_types_and_wrongtype_destination(node):
    p, w = node.raw(), node.raw()
    # Blocked on a key that becomes a string: not served by it.
    w.send_command("BLPOP", "t1", "t2", "5")
    wait_blocked(p, 1)
    p.call("SET", "t1", "str")
    no_reply(w, 0.1)
    p.call("RPUSH", "t2", "v")
    assert w.read_reply().to_py() == [b"t2", b"v"]
    # BLMOVE served while its destination holds a string: WRONGTYPE, the
    # element stays in the source.
    w.send_command("BLMOVE", "ws", "t1", "LEFT", "LEFT", "5")
    wait_blocked(p, 1)
    p.call("RPUSH", "ws", "e")
    r = w.read_reply()
    assert r.is_error and r.value.startswith(b"WRONGTYPE")
    assert p.call("LRANGE", "ws", "0", "-1") == [b"e"]
    wait_blocked(p, 0)


def test_blocked_same_key_twice_and_db_isolation(node):
    p, w = node.raw(), node.raw()
    w.send_command("BLPOP", "dup", "dup", "5")
    wait_blocked(p, 1)
    p.call("SELECT", "1")
    p.call("RPUSH", "dup", "other-db")
    no_reply(w, 0.1)
    p.call("SELECT", "0")
    p.call("RPUSH", "dup", "v")
    assert w.read_reply().to_py() == [b"dup", b"v"]
    p.call("SELECT", "1")
    assert p.call("LLEN", "dup") == 1


def test_blocking_against_oracle_shapes(node, oracle):
    """The served reply of each blocking form, byte-compared."""
    out = []
    for s in (node, oracle):
        p, w = s.raw(), s.raw()
        w.cmd("HELLO", "3")
        res = []
        for args, push in ((["BLPOP", "b1", "5"], ["RPUSH", "b1", "1"]),
                           (["BLMPOP", "5", "1", "b2", "LEFT", "COUNT", "3"], ["RPUSH", "b2", "x", "y"]),
                           (["BLMOVE", "b3", "b4", "RIGHT", "LEFT", "5"], ["RPUSH", "b3", "7"]),
                           (["BRPOPLPUSH", "b5", "b6", "5"], ["RPUSH", "b5", "s"])):
            w.send_command(*args)
            wait_blocked(p, 1)
            p.call(*push)
            res.append(w.read_reply().raw)
            wait_blocked(p, 0)
        out.append(res)
    assert out[0] == out[1]


@pytest.mark.timeout_s(30)
def test_many_waiters_and_pushes(node):
    p = node.raw()
    ws = [node.raw() for _ in range(20)]
    for w in ws:
        w.send_command("BLPOP", "many", "10")
    wait_blocked(p, 20)
    p.call("RPUSH", "many", *["%d" % i for i in range(25)])
    got = sorted(int(w.read_reply().to_py()[1]) for w in ws)
    assert got == list(range(20))
    assert p.call("LLEN", "many") == 5

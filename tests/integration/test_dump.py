"""DUMP / RESTORE / RESTORE-ASKING of shoal-node: round trips for every implemented type
in each encoding (small and big, binary-safe values), TTL / ABSTTL / REPLACE / IDLETIME /
FREQ, error texts and their order compared with the oracle redis-server, the payload
envelope (version + CRC-64, "Bad data format" for a checksummed bad body), and fuzzing
with random and mutated payloads (the server must keep answering PING)."""

import random
import time

import pytest

from conftest import fmt_raw

CHECKSUM_ERR = b"ERR DUMP payload version or checksum are wrong"
FORMAT_ERR = b"ERR Bad data format"

# ---------------------------------------------------------------------------
# Payload helpers (layout documented in node/dump.c)

_CRC_TABLE = []


def crc64(data):
    """CRC-64/XZ (reflected ECMA-182 polynomial, init and xorout all ones)."""
    if not _CRC_TABLE:
        for i in range(256):
            r = i
            for _ in range(8):
                r = (r >> 1) ^ 0xC96C5795D7870F42 if r & 1 else r >> 1
            _CRC_TABLE.append(r)
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def reseal(payload):
    """Recomputes the trailing checksum of a (tampered) payload."""
    body = payload[:-8]
    return body + crc64(body).to_bytes(8, "little")


def make_payload(type_byte, body, version=1):
    data = bytes([type_byte, version]) + body + version.to_bytes(2, "little")
    return data + crc64(data).to_bytes(8, "little")


def test_crc64_check_value():
    assert crc64(b"123456789") == 0x995DC9BBDF1939FA


# ---------------------------------------------------------------------------
# Type availability

def implemented(server, *cmds):
    with server.raw() as c:
        r = c.cmd("COMMAND", "INFO", *cmds)
    return {name for name, info in zip(cmds, r.value) if not info.is_null}


TYPE_CMDS = {"string": "set", "list": "rpush", "set": "sadd", "zset": "zadd", "hash": "hset"}


def available_types(node):
    have = implemented(node, *TYPE_CMDS.values())
    return [t for t, c in TYPE_CMDS.items() if c in have]


def need(node, *types):
    missing = [t for t in types if t not in available_types(node)]
    if missing:
        pytest.skip(f"shoal-node does not implement {missing} yet")


# Builders: (name, type, encoding-size hint, function creating the key on a redis-py client)
BIN = b"bin\x00\r\n\xff\xfe"


def _builders():
    B = []
    B.append(("str-int", "string", lambda r, k: r.set(k, "12345")))
    B.append(("str-negint", "string", lambda r, k: r.set(k, "-9223372036854775808")))
    B.append(("str-embstr", "string", lambda r, k: r.set(k, "hello")))
    B.append(("str-raw", "string", lambda r, k: r.set(k, "x" * 100)))
    B.append(("str-big", "string", lambda r, k: r.set(k, BIN * 50000)))
    B.append(("str-empty", "string", lambda r, k: r.set(k, "")))
    B.append(("str-bin", "string", lambda r, k: r.set(k, BIN)))
    B.append(("list-small", "list", lambda r, k: r.rpush(k, "a", "1", BIN, "", "-7")))
    B.append(("list-big", "list", lambda r, k: r.rpush(k, *[f"e{i}" if i % 2 else str(i) for i in range(5000)])))
    B.append(("list-bigelem", "list", lambda r, k: r.rpush(k, "x" * 70000, "y", BIN * 3000)))
    B.append(("set-intset", "set", lambda r, k: r.sadd(k, 1, -5, 70000, 2**40, -(2**63))))
    B.append(("set-small-str", "set", lambda r, k: r.sadd(k, "a", "b", BIN)))
    B.append(("set-big-int", "set", lambda r, k: r.sadd(k, *range(1000))))
    B.append(("set-big", "set", lambda r, k: r.sadd(k, *[f"m{i}" for i in range(2000)])))
    B.append(("zset-small", "zset", lambda r, k: r.zadd(k, {"a": 1.5, "b": -2, BIN: 3, "c": float("inf")})))
    B.append(("zset-big", "zset", lambda r, k: r.zadd(k, {f"m{i}": i / 7 for i in range(1000)})))
    B.append(("zset-longmember", "zset", lambda r, k: r.zadd(k, {"x" * 200: 1, "y": 2})))
    B.append(("hash-small", "hash", lambda r, k: r.hset(k, mapping={"f": "v", "n": "12", BIN: BIN})))
    B.append(("hash-big", "hash", lambda r, k: r.hset(k, mapping={f"f{i}": f"v{i}" for i in range(1000)})))
    B.append(("hash-longval", "hash", lambda r, k: r.hset(k, mapping={"f": "v" * 100, "g": ""})))
    return B


BUILDERS = _builders()


def snapshot(r, k):
    """Type-independent picture of a key's value."""
    t = r.type(k).decode()
    if t == "string":
        v = r.get(k)
    elif t == "list":
        v = r.lrange(k, 0, -1)
    elif t == "set":
        v = sorted(r.smembers(k))
    elif t == "zset":
        v = r.zrange(k, 0, -1, withscores=True)
    elif t == "hash":
        v = sorted(r.hgetall(k).items())
    else:
        v = None
    return t, v


@pytest.mark.parametrize("name,typ,build", BUILDERS, ids=[b[0] for b in BUILDERS])
def test_roundtrip(node, name, typ, build):
    need(node, typ)
    r = node.client()
    build(r, "src")
    before = snapshot(r, "src")
    enc = r.object("encoding", "src")
    payload = r.dump("src")
    assert isinstance(payload, bytes) and len(payload) >= 12
    assert payload[0] == {"string": 0, "list": 1, "set": 2, "zset": 3, "hash": 4}[typ]
    assert r.restore("dst", 0, payload)
    assert snapshot(r, "dst") == before
    assert r.object("encoding", "dst") == enc
    assert r.ttl("dst") == -1
    # DUMP is deterministic for the same value
    assert r.dump("dst") == payload or typ in ("set", "hash", "zset")
    # restoring over itself needs REPLACE
    with pytest.raises(Exception, match="BUSYKEY"):
        r.restore("src", 0, payload)
    assert r.restore("src", 0, payload, replace=True)
    assert snapshot(r, "src") == before


def test_dump_missing_key(node, oracle):
    for s in (node, oracle):
        with s.raw() as c:
            assert c.cmd("DUMP", "nokey").raw == b"$-1\r\n"
            assert c.cmd("HELLO", "3").type == "%"
            assert c.cmd("DUMP", "nokey").raw == b"_\r\n"


def test_restore_errors_vs_oracle(node, oracle):
    need(node, "string")
    cn, co = node.raw(), oracle.raw()
    pn = node.client().set("s", "v") and node.client().dump("s")
    po = oracle.client().set("s", "v") and oracle.client().dump("s")
    bad = b"not a payload"
    for args in [
        ("RESTORE", "k", "-1", "P"), ("RESTORE", "k", "abc", "P"), ("RESTORE", "k", "1.5", "P"),
        ("RESTORE", "s", "0", "P"), ("RESTORE", "s", "abc", "P"), ("RESTORE", "s", "-1", "P", "REPLACE"),
        ("RESTORE", "k", "0", "P", "IDLETIME", "-1"), ("RESTORE", "k", "0", "P", "IDLETIME", "x"),
        ("RESTORE", "k", "0", "P", "FREQ", "256"), ("RESTORE", "k", "0", "P", "FREQ", "-1"),
        ("RESTORE", "k", "0", "P", "FREQ", "x"), ("RESTORE", "k", "0", "P", "IDLETIME", "1", "FREQ", "2"),
        ("RESTORE", "k", "0", "P", "FREQ", "2", "IDLETIME", "1"), ("RESTORE", "k", "0", "P", "BOGUS"),
        ("RESTORE", "k", "0", "P", "IDLETIME"), ("RESTORE", "k", "0", "P", "FREQ"),
        ("RESTORE", "s", "0", "P", "BOGUS"),          # options are checked before BUSYKEY
        ("RESTORE", "s", "-5", "P"),                  # BUSYKEY before the TTL check
        ("RESTORE", "k", "-5", "BAD"),                # TTL before the payload
        ("RESTORE", "k", "0", "BAD"), ("RESTORE", "k", "0", ""), ("RESTORE", "k", "0", "BAD", "REPLACE"),
        ("RESTORE", "k", "0"), ("RESTORE",), ("DUMP",), ("DUMP", "a", "b"),
        ("RESTORE-ASKING", "k", "-1", "P"), ("RESTORE-ASKING", "s", "0", "P"),
        ("EXISTS", "k"),
        ("RESTORE", "k", "0", "P", "REPLACE", "REPLACE", "ABSTTL", "ABSTTL"), ("GET", "k"),
        ("RESTORE", "k", "0", "P"), ("RESTORE", "k", "0", "BAD"),
    ]:
        an = cn.cmd(*[pn if a == "P" else (bad if a == "BAD" else a) for a in args])
        ao = co.cmd(*[po if a == "P" else (bad if a == "BAD" else a) for a in args])
        assert an.raw == ao.raw, f"{args}: shoal {fmt_raw(an.raw)} != redis {fmt_raw(ao.raw)}"


def test_restore_ttl_options(node, oracle):
    need(node, "string")
    r, o = node.client(), oracle.client()
    for c in (r, o):
        c.set("s", "value")
    pn, po = r.dump("s"), o.dump("s")
    now = int(time.time() * 1000)
    for c, p in ((r, pn), (o, po)):
        assert c.restore("t1", 5000, p)
        assert 4000 < c.pttl("t1") <= 5000
        assert c.restore("t2", now + 60000, p, absttl=True)
        assert 55000 < c.pttl("t2") <= 60000
        # ABSTTL in the past: OK, but no key
        assert c.restore("t3", now - 1000, p, absttl=True)
        assert c.exists("t3") == 0
        # ...and with REPLACE an existing key is deleted
        c.set("t4", "old")
        assert c.restore("t4", 1, p, absttl=True, replace=True)
        assert c.exists("t4") == 0
        # REPLACE keeps no old TTL
        c.set("t5", "old", ex=100)
        assert c.restore("t5", 0, p, replace=True)
        assert c.ttl("t5") == -1 and c.get("t5") == b"value"
        # REPLACE onto another type
        c.set("t6", "x")
        assert c.restore("t6", 0, p, replace=True)
        assert c.get("t6") == b"value"
        # ABSTTL 0 means no TTL
        assert c.restore("t7", 0, p, absttl=True)
        assert c.ttl("t7") == -1


def test_restore_idletime_and_freq(node):
    need(node, "string")
    r = node.client()
    r.set("s", "v")
    p = r.dump("s")
    with node.raw() as c:
        assert c.cmd("RESTORE", "a", "0", p, "IDLETIME", "1000").value == b"OK"
        idle = c.cmd("OBJECT", "IDLETIME", "a").value
        assert 1000 <= idle <= 1002, idle
        assert c.cmd("RESTORE", "b", "0", p, "IDLETIME", "0").value == b"OK"
        assert c.cmd("OBJECT", "IDLETIME", "b").value <= 1
        # FREQ is ignored under an LRU policy
        assert c.cmd("RESTORE", "c", "0", p, "FREQ", "100").value == b"OK"
        r2 = c.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        if r2.is_error:
            pytest.skip(f"CONFIG SET maxmemory-policy not available: {r2.value!r}")
        try:
            assert c.cmd("RESTORE", "d", "0", p, "FREQ", "100").value == b"OK"
            assert c.cmd("OBJECT", "FREQ", "d").value == 100
            assert c.cmd("RESTORE", "e", "0", p, "FREQ", "0", "REPLACE").value == b"OK"
            assert c.cmd("OBJECT", "FREQ", "e").value == 0
            assert c.cmd("RESTORE", "f", "0", p, "FREQ", "255", "ABSTTL").value == b"OK"
            assert c.cmd("OBJECT", "FREQ", "f").value == 255
        finally:
            c.cmd("CONFIG", "SET", "maxmemory-policy", "noeviction")


def test_payload_envelope(node):
    need(node, "string")
    r = node.client()
    r.set("s", "hello world")
    p = r.dump("s")
    assert p[1] == 1 and p[-10:-8] == b"\x01\x00"
    assert p[-8:] == crc64(p[:-8]).to_bytes(8, "little")
    with node.raw() as c:
        # every flipped byte is refused by the checksum / version check
        for i in range(len(p)):
            bad = p[:i] + bytes([p[i] ^ 0x41]) + p[i + 1:]
            assert c.cmd("RESTORE", f"k{i}", "0", bad).value == CHECKSUM_ERR
        assert c.cmd("RESTORE", "k", "0", p[:-1]).value == CHECKSUM_ERR
        assert c.cmd("RESTORE", "k", "0", p + b"x").value == CHECKSUM_ERR
        # right checksum, wrong version
        v2 = bytearray(p)
        v2[-10] = 2
        assert c.cmd("RESTORE", "k", "0", reseal(bytes(v2))).value == CHECKSUM_ERR
        # right checksum, unknown type / garbage body
        assert c.cmd("RESTORE", "k", "0", make_payload(9, b"abc")).value == FORMAT_ERR
        assert c.cmd("RESTORE", "k", "0", make_payload(200, b"")).value == FORMAT_ERR
        # a payload from real Redis is not ours
        assert c.cmd("RESTORE", "k", "0",
                     b"\x00\x05hello\n\x00\xb1\xbf\x15\xd9\xdcg\xe4\x8c").value == CHECKSUM_ERR
        for t in range(5):
            for body in (b"", b"\xff" * 40, b"\x00" * 3, b"\x05\x00\x00\x00abc"):
                rep = c.cmd("RESTORE", "k", "0", make_payload(t, body))
                assert rep.value in (FORMAT_ERR, b"OK"), (t, body, rep)
                c.cmd("DEL", "k")
        assert c.cmd("EXISTS", "k").value == 0
        assert c.cmd("PING").value == b"PONG"


def test_restore_signals_watch(node):
    need(node, "string")
    import redis
    r = node.client()
    r.set("s", "v")
    p = r.dump("s")
    pipe = r.pipeline()
    pipe.watch("w")
    pipe.multi()
    pipe.get("w")
    node.client().restore("w", 0, p)
    with pytest.raises(redis.WatchError):
        pipe.execute()


@pytest.mark.timeout_s(60)
def test_restore_fuzz(node):
    """Random and mutated payloads (with a valid checksum, so the type parsers see them):
    every reply is OK or a known error and the server stays up."""
    types = available_types(node)
    if not types:
        pytest.skip("no type implemented yet")
    r = node.client()
    seeds = []
    for name, typ, build in BUILDERS:
        if typ in types and "big" not in name:
            build(r, "seed")
            seeds.append(r.dump("seed"))
            r.delete("seed")
    for typ, key in (("list", "lbig"), ("set", "sbig"), ("zset", "zbig"), ("hash", "hbig")):
        if typ in types:   # one mid-size value per aggregate type (other encoding)
            {"list": lambda: r.rpush(key, *range(300)),
             "set": lambda: r.sadd(key, *[f"m{i}" for i in range(600)]),
             "zset": lambda: r.zadd(key, {f"m{i}": i for i in range(200)}),
             "hash": lambda: r.hset(key, mapping={f"f{i}": i for i in range(600)})}[typ]()
            seeds.append(r.dump(key))
    rnd = random.Random(1234)
    allowed = {b"OK", FORMAT_ERR, CHECKSUM_ERR}
    c = node.raw(timeout=10)
    batch, sent = [], 0
    deadline = time.monotonic() + 25

    def flush():
        for args in batch:
            rep = c.read_reply()
            assert rep.value in allowed, f"{fmt_raw(rep.raw)} for {fmt_raw(args[-1][:80])}"
        batch.clear()

    while sent < 6000 and time.monotonic() < deadline:
        p = bytearray(rnd.choice(seeds))
        mode = rnd.random()
        if mode < 0.15:   # random body, valid envelope
            body = bytes(rnd.getrandbits(8) if rnd.random() < 0.3 else rnd.randrange(16)
                         for _ in range(rnd.randrange(64)))
            data = make_payload(rnd.randrange(6), body)
        else:
            for _ in range(rnd.randint(1, 4)):
                body_len = len(p) - 12
                if body_len <= 0:
                    break
                i = 2 + rnd.randrange(body_len)
                op = rnd.randrange(5)
                if op == 0:
                    p[i] ^= 1 << rnd.randrange(8)
                elif op == 1:
                    p[i] = rnd.randrange(256)
                elif op == 2:
                    p[i] = rnd.choice((0, 0xFF, 0x7F, 0x80))
                elif op == 3:
                    del p[i:i + rnd.randint(1, 8)]
                else:
                    p[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
            data = bytes(p) if rnd.random() < 0.05 else reseal(bytes(p))
        args = ("RESTORE", f"fz{sent % 50}", "0", data, "REPLACE")
        c.send_command(*args)
        batch.append(args)
        sent += 1
        if len(batch) >= 100:
            flush()
            # read what was restored: must not crash either
            for k in range(0, 50, 7):
                c.send_command("DUMP", f"fz{k}")
                c.read_reply()
                c.send_command("TYPE", f"fz{k}")
                c.read_reply()
    flush()
    assert c.cmd("PING").value == b"PONG"
    assert sent > 500

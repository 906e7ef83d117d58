"""Key expiry in shoal-node: EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with NX/XX/GT/LT, TTL/PTTL/
EXPIRETIME/PEXPIRETIME/PERSIST, lazy expiry on access and active expiry. Replies and error
texts are compared with the oracle redis-server 7.0 where they are deterministic."""

import time

import pytest


def run_both(node, oracle, script):
    n, o = node.raw(), oracle.raw()
    for i, cmd in enumerate(script):
        a, b = n.cmd(*cmd), o.cmd(*cmd)
        assert a.raw == b.raw, f"#{i} {cmd}: node {a.raw!r} != oracle {b.raw!r}"
    return n, o


def wait_until(pred, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def test_option_errors(node, oracle):
    run_both(node, oracle, [
        ("SET", "a", "1"),
        ("EXPIRE", "a"), ("EXPIRE", "a", "abc"), ("EXPIRE", "a", "1.5"), ("EXPIRE", "a", ""),
        ("EXPIRE", "a", "100", "FOO"), ("EXPIRE", "a", "abc", "FOO"), ("EXPIRE", "a", "abc", "NX", "XX"),
        ("EXPIRE", "a", "100", "NX", "XX"), ("EXPIRE", "a", "100", "NX", "GT"), ("EXPIRE", "a", "100", "NX", "LT"),
        ("EXPIRE", "a", "100", "GT", "LT"), ("EXPIRE", "a", "100", "lt", "gt"),
        ("EXPIRE", "a", "100", "XX", "GT"), ("EXPIRE", "a", "100", "nx", "nx"),
        ("PEXPIRE", "a", "100", "NX", "XX"), ("EXPIREAT", "a", "100", "GT", "LT"),
        ("PEXPIREAT", "a", "100", "BAR"),
        ("EXPIRE", "nokey", "abc"), ("EXPIRE", "nokey", "10"), ("EXPIRE", "nokey", "10", "FOO"),
        ("TTL", "a"),
    ])


def test_nx_xx_gt_lt(node, oracle):
    run_both(node, oracle, [
        ("SET", "a", "1"),
        ("EXPIRE", "a", "100", "XX"), ("EXPIRE", "a", "100", "GT"), ("TTL", "a"),
        ("EXPIRE", "a", "100", "LT"), ("TTL", "a"),                 # no TTL counts as infinite: LT sets
        ("EXPIRE", "a", "200", "NX"), ("TTL", "a"),
        ("EXPIRE", "a", "50", "GT"), ("EXPIRE", "a", "200", "GT"), ("TTL", "a"),
        ("EXPIRE", "a", "300", "LT"), ("EXPIRE", "a", "50", "lt"), ("TTL", "a"),
        ("EXPIRE", "a", "60", "xx"), ("TTL", "a"),
        ("EXPIRE", "a", "70", "XX", "GT"), ("EXPIRE", "a", "10", "XX", "GT"), ("TTL", "a"),
        ("SET", "b", "1"), ("PEXPIRE", "b", "100000", "GT"), ("PTTL", "b"),
        ("EXPIREAT", "b", "32503680000", "NX"), ("EXPIRETIME", "b"),
        ("PEXPIREAT", "b", "32503680000001", "GT"), ("PEXPIRETIME", "b"),
        ("PEXPIREAT", "b", "32503680000000", "GT"), ("PEXPIRETIME", "b"),
        ("PEXPIREAT", "b", "32503600000000", "LT"), ("EXPIRETIME", "b"),
    ])


def test_ttl_family(node, oracle):
    run_both(node, oracle, [
        ("TTL", "nokey"), ("PTTL", "nokey"), ("EXPIRETIME", "nokey"), ("PEXPIRETIME", "nokey"),
        ("SET", "g", "1"),
        ("TTL", "g"), ("PTTL", "g"), ("EXPIRETIME", "g"), ("PEXPIRETIME", "g"),
        ("PEXPIREAT", "g", "32503680000499"),
        ("EXPIRETIME", "g"), ("PEXPIRETIME", "g"),
        ("PERSIST", "g"), ("PERSIST", "g"), ("PERSIST", "nokey"), ("TTL", "g"),
        ("TTL",), ("TTL", "a", "b"), ("PERSIST",),
    ])
    c = node.raw()
    c.call("EXPIRE", "g", "100")
    assert c.call("TTL", "g") == 100
    assert 99000 <= c.call("PTTL", "g") <= 100000
    now = time.time()
    assert abs(c.call("EXPIRETIME", "g") - (now + 100)) <= 2
    assert abs(c.call("PEXPIRETIME", "g") / 1000 - (now + 100)) <= 2
    c.call("PEXPIRE", "g", "1499")
    assert c.call("TTL", "g") == 1  # rounded to the nearest second, as Redis


def test_set_clears_ttl(node):
    r = node.client()
    r.set("k", "v")
    r.expire("k", 100)
    r.set("k", "w")
    assert r.ttl("k") == -1


def test_past_and_negative_delete(node, oracle):
    run_both(node, oracle, [
        ("SET", "a", "1"), ("SET", "b", "1"), ("SET", "c", "1"), ("SET", "d", "1"), ("SET", "e", "1"),
        ("EXPIRE", "a", "-1"), ("EXISTS", "a"),
        ("EXPIREAT", "b", "1"), ("EXISTS", "b"),
        ("PEXPIREAT", "c", "100"), ("EXISTS", "c"),
        ("PEXPIRE", "d", "0"), ("EXISTS", "d"),
        ("EXPIRE", "e", "0", "GT"), ("EXISTS", "e"),     # GT refuses: nothing deleted
        ("EXPIRE", "e", "-5", "LT"), ("EXISTS", "e"),    # LT against "infinite": deleted
        ("DBSIZE",),
    ])


def test_overflow_errors(node, oracle):
    run_both(node, oracle, [
        ("SET", "a", "1"),
        ("EXPIRE", "a", "9223372036854775807"), ("EXPIRE", "a", "9223372036854775"),
        ("EXPIRE", "a", "9223372036854770"), ("EXPIRE", "a", "-9223372036854775808"),
        ("EXPIRE", "a", "9223372036854775808"),
        ("PEXPIRE", "a", "9223372036854775807"), ("PEXPIRE", "a", "9223372036854775000"),
        ("EXPIREAT", "a", "9223372036854775807"), ("EXPIREAT", "a", "9223372036854775"),
        ("PEXPIREAT", "a", "9223372036854775807"),
        ("EXISTS", "a"), ("TTL", "a"),
    ])
    assert node.raw().cmd("EXPIRE", "a", "9223372036854775807").raw == \
        b"-ERR invalid expire time in 'expire' command\r\n"


def test_lazy_expiry_on_access(node):
    r = node.client()
    c = node.raw()
    before = int(r.info("stats")["expired_keys"])
    # Slow the cron down so the access, not the active cycle, finds the key.
    r.config_set("hz", 1)
    try:
        r.set("k", "v")
        r.set("keep", "v")
        r.pexpire("k", 30)
        time.sleep(0.06)
        assert c.call("EXISTS", "k") == 0
        assert c.call("GET", "k") is None
        assert c.call("TTL", "k") == -2
        assert c.call("DBSIZE") == 1
        assert int(r.info("stats")["expired_keys"]) == before + 1
    finally:
        r.config_set("hz", 10)


def test_lazy_expiry_all_access_paths(node):
    r = node.client()
    c = node.raw()
    for k in ("t1", "t2", "t3", "t4", "t5"):
        r.set(k, "v")
        r.pexpire(k, 20)
    time.sleep(0.05)
    assert c.call("TYPE", "t1") == b"none"
    assert c.call("RENAME", "t2", "x") == c.call("RENAME", "nokey", "x")  # ERR no such key
    assert c.call("MOVE", "t3", "1") == 0
    assert c.call("PERSIST", "t4") == 0
    assert c.call("EXPIRE", "t5", "100") == 0


@pytest.mark.timeout_s(30)
def test_active_expiry(node):
    """10k keys with a 100 ms TTL disappear without being accessed."""
    r = node.client()
    r.execute_command("DEBUG", "POPULATE", "10000", "ae")
    r.execute_command("DEBUG", "POPULATE", "100", "stay")
    p = r.pipeline(transaction=False)
    for i in range(10000):
        p.pexpire(f"ae:{i}", 100)
    p.execute()
    assert r.dbsize() == 10100
    info = r.info("keyspace")["db0"]
    assert info["keys"] == 10100 and info["expires"] == 10000
    t0 = time.monotonic()
    assert wait_until(lambda: r.dbsize() == 100, 5.0), f"dbsize still {r.dbsize()}"
    assert time.monotonic() - t0 < 5.0
    assert r.info("keyspace")["db0"]["expires"] == 0
    assert r.exists(*[f"stay:{i}" for i in range(100)]) == 100


def test_expire_rewrites_to_absolute(node):
    """EXPIRE stores an absolute time: EXPIRETIME stays put as time passes."""
    c = node.raw()
    c.call("SET", "k", "v")
    c.call("EXPIRE", "k", "1000")
    t1 = c.call("PEXPIRETIME", "k")
    time.sleep(0.02)
    assert c.call("PEXPIRETIME", "k") == t1
    assert abs(t1 - (time.time() * 1000 + 1000000)) < 2000

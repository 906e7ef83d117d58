"""Type-independent key commands of shoal-node: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME,
RENAMENX, COPY, MOVE, KEYS, SCAN, RANDOMKEY — compared with the oracle redis-server 7.0
wherever replies are deterministic."""

import pytest

from conftest import RespError


def run_both(node, oracle, script, unordered=()):
    """Runs the same command list on both servers (one connection each) and asserts
    identical replies; commands whose index is in `unordered` compare as sorted lists."""
    n, o = node.raw(), oracle.raw()
    for i, cmd in enumerate(script):
        a, b = n.cmd(*cmd), o.cmd(*cmd)
        if i in unordered and a.type == "*" and b.type == "*" and not a.is_null:
            assert sorted(a.to_py()) == sorted(b.to_py()), f"{cmd}: {a} != {b}"
        else:
            assert a.raw == b.raw, f"#{i} {cmd}: node {a.raw!r} != oracle {b.raw!r}"
    return n, o


def implemented(srv, name):
    """True if the server implements command `name` (COMMAND INFO gives nil otherwise)."""
    return srv.raw().call("COMMAND", "INFO", name) != [None]


def test_del_exists_touch_unlink(node, oracle):
    run_both(node, oracle, [
        ("SET", "a", "1"), ("SET", "b", "2"), ("SET", "c", "3"), ("SET", "d", "4"),
        ("EXISTS", "a", "a", "b", "nokey"), ("EXISTS", "nokey"), ("EXISTS",),
        ("TOUCH", "a", "a", "nokey"), ("TOUCH", "nokey"), ("TOUCH",),
        ("DEL", "a", "a", "nokey"), ("DEL", "a"), ("DEL",),
        ("UNLINK", "b", "c", "b"), ("UNLINK", "nokey"), ("UNLINK",),
        ("EXISTS", "a", "b", "c", "d"), ("DBSIZE",),
    ])


def test_type(node, oracle):
    script = [("SET", "s", "v"), ("TYPE", "s"), ("TYPE", "nokey"), ("TYPE",), ("TYPE", "a", "b")]
    for cmd, key, args in (("rpush", "l", ("x",)), ("hset", "h", ("f", "v")), ("sadd", "st", ("m",)),
                           ("zadd", "z", ("1", "m"))):
        if implemented(node, cmd):
            script += [(cmd.upper(), key) + args, ("TYPE", key)]
    run_both(node, oracle, script)


def test_rename(node, oracle):
    n, o = run_both(node, oracle, [
        ("RENAME", "nokey", "x"), ("RENAMENX", "nokey", "x"),
        ("RENAME", "nokey", "nokey"), ("RENAMENX", "nokey", "nokey"),
        ("SET", "k", "v"), ("RENAME", "k", "k"), ("RENAMENX", "k", "k"),
        ("EXPIRE", "k", "1000"),
        ("RENAME", "k", "k2"), ("EXISTS", "k"), ("GET", "k2"), ("TTL", "k2"),
        ("SET", "other", "o"), ("EXPIRE", "other", "500"),
        ("RENAMENX", "k2", "other"), ("GET", "k2"), ("GET", "other"),
        ("RENAME", "other", "k2"), ("GET", "k2"), ("TTL", "k2"),   # dest's TTL replaced by source's
        ("SET", "plain", "p"), ("RENAME", "plain", "k2"), ("TTL", "k2"),  # no TTL carried over
        ("RENAMENX", "k2", "fresh"), ("GET", "fresh"), ("EXISTS", "k2"),
        ("RENAME", "fresh"), ("RENAME", "a", "b", "c"),
    ])


def test_rename_wakes_watchers(node):
    r = node.client()
    r.set("src", "1")
    w = node.raw()
    assert w.call("WATCH", "dst") == b"OK"
    r.rename("src", "dst")
    w.call("MULTI")
    w.call("PING")
    assert w.cmd("EXEC").is_null


def test_copy(node, oracle):
    run_both(node, oracle, [
        ("SET", "s", "val"), ("EXPIRE", "s", "1000"),
        ("COPY", "s", "s"), ("COPY", "nokey", "x"),
        ("COPY", "s", "c1"), ("GET", "c1"), ("TTL", "c1"),
        ("COPY", "s", "c1"), ("SET", "s", "new"), ("COPY", "s", "c1", "REPLACE"), ("GET", "c1"),
        ("TTL", "c1"),
        ("COPY", "s", "s", "DB", "0"), ("COPY", "s", "s", "DB", "1"), ("COPY", "s", "s", "DB", "1"),
        ("COPY", "s", "s", "DB", "1", "replace"),
        ("COPY", "s", "x", "DB", "16"), ("COPY", "s", "x", "DB", "-1"), ("COPY", "s", "x", "DB", "abc"),
        ("COPY", "s", "x", "DB", "99999999999"), ("COPY", "s", "x", "DB"), ("COPY", "s", "x", "FOO"),
        ("COPY", "s", "x", "REPLACE", "FOO"), ("COPY", "s"),
        ("SELECT", "1"), ("GET", "s"), ("SELECT", "0"),
        ("SET", "v", "1"), ("COPY", "v", "w"), ("SET", "v", "2"), ("GET", "w"),  # independent values
    ])


def test_copy_other_types(node, oracle):
    script = []
    if implemented(node, "rpush"):
        script += [("RPUSH", "l", "a", "b"), ("COPY", "l", "l2"), ("RPUSH", "l", "c"), ("LRANGE", "l2", "0", "-1")]
    if implemented(node, "hset"):
        script += [("HSET", "h", "f", "v"), ("COPY", "h", "h2"), ("HSET", "h", "g", "w"), ("HLEN", "h2")]
    if implemented(node, "sadd"):
        script += [("SADD", "st", "1", "2"), ("COPY", "st", "st2"), ("SADD", "st", "3"), ("SCARD", "st2")]
    if implemented(node, "zadd"):
        script += [("ZADD", "z", "1", "a"), ("COPY", "z", "z2"), ("ZADD", "z", "2", "b"), ("ZCARD", "z2")]
    if not script:
        pytest.skip("no aggregate type implemented yet")
    run_both(node, oracle, script)


def test_move(node, oracle):
    run_both(node, oracle, [
        ("SET", "k", "v"), ("EXPIRE", "k", "1000"),
        ("MOVE", "k", "0"), ("MOVE", "k", "16"), ("MOVE", "k", "-1"), ("MOVE", "k", "abc"),
        ("MOVE", "k", "99999999999"), ("MOVE", "nokey", "1"),
        ("MOVE", "k", "1"), ("EXISTS", "k"),
        ("SELECT", "1"), ("GET", "k"), ("TTL", "k"), ("SELECT", "0"),
        ("SET", "k", "again"), ("MOVE", "k", "1"),          # exists in target: 0
        ("GET", "k"), ("MOVE",), ("MOVE", "k"),
    ])


def test_move_signals_watchers_in_target_db(node):
    r = node.client()
    r.set("k", "v")
    w = node.raw()
    w.call("SELECT", "1")
    w.call("WATCH", "k")
    assert r.move("k", 1)
    w.call("MULTI")
    w.call("PING")
    assert w.cmd("EXEC").is_null


KEYS_SET = ["a", "b", "c", "d", "ab", "abc", "x*y", "x?y", "xzy", "h[llo", "hello", "hallo",
            "hxllo", "heeello", "\\", "a\\b", "-", "]", "^"]
PATTERNS = ["*", "?", "??", "a*", "*b*", "[a-c]", "[c-a]", "[^a]", "[!a]", "[^a-c]", "x\\*y", "x\\?y",
            "x*y", "h[ae]llo", "h[^e]llo", "h\\[llo", "h?llo", "h*llo", "[", "[a-", "\\", "a\\",
            "a\\\\b", "[\\]]", "[]]", "*[", "[-]", "[a\\-c]", "\\a", "nomatch*", "*o", "h[a-z]*o"]


def test_keys_patterns(node, oracle):
    script = [("SET", k, "1") for k in KEYS_SET]
    base = len(script)
    script += [("KEYS", p) for p in PATTERNS]
    run_both(node, oracle, script, unordered=set(range(base, len(script))))


def test_keys_skips_expired(node):
    r = node.client()
    r.set("live", "1")
    r.set("dead", "1")
    r.pexpire("dead", 1)
    import time
    time.sleep(0.02)
    assert r.keys("*") == [b"live"]


def _full_scan(c, *extra, count=None):
    seen, cursor, calls = [], b"0", 0
    while True:
        args = ["SCAN", cursor] + (["COUNT", count] if count else []) + list(extra)
        cursor, keys = c.call(*args)
        seen += keys
        calls += 1
        assert calls < 100000
        if cursor == b"0":
            return seen, calls


def test_scan_full_iteration(node):
    r = node.client()
    r.execute_command("DEBUG", "POPULATE", "10000", "key")
    c = node.raw()
    seen, calls = _full_scan(c, count=100)
    assert set(seen) == {b"key:%d" % i for i in range(10000)}
    assert len(seen) < 10000 * 1.2          # few duplicates
    assert 10000 / 100 / 3 < calls < 10000  # COUNT is honoured roughly
    # Default COUNT is 10.
    seen10, calls10 = _full_scan(c)
    assert set(seen10) == set(seen) and calls10 > calls
    # MATCH filters after sampling.
    m, _ = _full_scan(c, "MATCH", "key:99*", count=500)
    assert set(m) == {k for k in seen if k.startswith(b"key:99")}
    t, _ = _full_scan(c, "TYPE", "string", count=1000)
    assert set(t) == set(seen)
    t2, _ = _full_scan(c, "TYPE", "list", count=1000)
    assert t2 == []
    t3, _ = _full_scan(c, "TYPE", "STRING", "MATCH", "key:1", count=1000)
    assert t3 == [b"key:1"]


def test_scan_survives_growth_and_deletes(node):
    """Keys present during the whole scan are returned even when the table is
    resized between calls."""
    r = node.client()
    r.execute_command("DEBUG", "POPULATE", "2000", "stay")
    r.execute_command("DEBUG", "POPULATE", "2000", "gone")
    c = node.raw()
    seen, cursor, step = set(), b"0", 0
    while True:
        cursor, keys = c.call("SCAN", cursor, "COUNT", 50)
        seen.update(keys)
        step += 1
        if step == 5:
            r.execute_command("DEBUG", "POPULATE", "20000", "grow")   # forces growth
        if step == 15:
            r.delete(*[f"gone:{i}" for i in range(2000)])
            r.delete(*[f"grow:{i}" for i in range(20000)])            # allows shrinking
        if cursor == b"0":
            break
        assert step < 20000
    assert {b"stay:%d" % i for i in range(2000)} <= seen


def test_scan_errors(node, oracle):
    run_both(node, oracle, [
        ("SET", "k", "v"),
        ("SCAN", "abc"), ("SCAN", "1a"), ("SCAN", " 0"), ("SCAN", "0 "), ("SCAN", "18446744073709551616"),
        ("SCAN", "-"), ("SCAN", "+"), ("SCAN", "0x10"),
        ("SCAN", "0", "COUNT"), ("SCAN", "0", "COUNT", "0"), ("SCAN", "0", "COUNT", "-1"),
        ("SCAN", "0", "COUNT", "abc"), ("SCAN", "0", "FOO", "bar"), ("SCAN", "0", "MATCH"),
        ("SCAN", "0", "TYPE"), ("SCAN", "0", "MATCH", "*", "COUNT"), ("SCAN",),
        # strtoul accepts these (as Redis does)
        ("SCAN", "", "COUNT", "100"), ("SCAN", "+0", "COUNT", "100"), ("SCAN", "000", "COUNT", "100"),
        ("SCAN", "-0", "COUNT", "100"),
        ("SCAN", "0", "count", "100", "match", "k", "type", "string"),
        ("SCAN", "0", "COUNT", "100", "TYPE", "nosuchtype"),
    ])


def test_scan_weird_cursor_is_not_an_error(node):
    c = node.raw()
    for cur in ("-1", "18446744073709551615", "123456789"):
        r = c.cmd("SCAN", cur)
        assert r.type == "*" and len(r.value) == 2, (cur, r)


def test_scan_hides_expired(node):
    r = node.client()
    r.set("a", "1")
    r.set("b", "1")
    r.pexpire("b", 1)
    import time
    time.sleep(0.02)
    _, keys = node.raw().call("SCAN", "0", "COUNT", "100")
    assert keys == [b"a"]


def test_randomkey(node, oracle):
    run_both(node, oracle, [("RANDOMKEY",), ("RANDOMKEY", "x"), ("SET", "only", "1"), ("RANDOMKEY",)])
    r = node.client()
    r.execute_command("DEBUG", "POPULATE", "50", "rk")
    got = {r.randomkey() for _ in range(200)}
    assert got <= {b"only"} | {b"rk:%d" % i for i in range(50)}
    assert len(got) > 10


def test_randomkey_all_expired(node):
    r = node.client()
    for i in range(5):
        r.set(f"e{i}", "1")
        r.pexpire(f"e{i}", 1)
    import time
    time.sleep(0.02)
    assert r.randomkey() is None


@pytest.mark.parametrize("how", ["rename", "renamenx", "copy", "move"])
def test_writes_wake_blocked_clients(node, oracle, how):
    if not implemented(node, "blpop"):
        pytest.skip("BLPOP not implemented yet")
    for srv in (node, oracle):
        a, b = srv.raw(), srv.raw()
        a.call("RPUSH", "src", "x")
        if how == "move":
            b.call("SELECT", "1")
            b.send_command("BLPOP", "src", "5")
        else:
            b.send_command("BLPOP", "dst", "5")
        import time
        time.sleep(0.05)
        cmd = {"rename": ("RENAME", "src", "dst"), "renamenx": ("RENAMENX", "src", "dst"),
               "copy": ("COPY", "src", "dst"), "move": ("MOVE", "src", "1")}[how]
        assert not a.cmd(*cmd).is_error
        key = b"src" if how == "move" else b"dst"
        assert b.read_reply(timeout=3).to_py() == [key, b"x"], srv.name

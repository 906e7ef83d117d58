"""The CLIENT command family of shoal-node: ID, SETNAME/GETNAME, LIST, INFO, KILL (both
forms), PAUSE/UNPAUSE, REPLY, UNBLOCK, NO-EVICT. Error texts are compared with the oracle
redis-server 7.0; waits are bounded."""

import re
import threading
import time

import pytest


def run_both(node, oracle, script):
    n, o = node.raw(), oracle.raw()
    for i, cmd in enumerate(script):
        a, b = n.cmd(*cmd), o.cmd(*cmd)
        assert a.raw == b.raw, f"#{i} {cmd}: node {a.raw!r} != oracle {b.raw!r}"
    return n, o


def fields(line):
    return dict(kv.split("=", 1) for kv in line.strip().split(" "))


def implemented(srv, name):
    return srv.raw().call("COMMAND", "INFO", name) != [None]


def test_id_and_names(node, oracle):
    c = node.raw()
    i1 = c.call("CLIENT", "ID")
    i2 = node.raw().call("CLIENT", "ID")
    assert isinstance(i1, int) and i2 > i1
    run_both(node, oracle, [
        ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", "foo"), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "a\nb"), ("CLIENT", "SETNAME", "é"),
        ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", ""), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME"), ("CLIENT", "GETNAME", "x"), ("CLIENT", "ID", "x"),
        ("CLIENT", "SETNAME", "~!@#$%^&*()_+"), ("CLIENT", "GETNAME"),
        ("CLIENT", "FOO"), ("CLIENT",), ("CLIENT", "INFO", "x"),
    ])


def test_list_and_info(node, oracle):
    a, b = node.raw(), node.raw()
    aid, bid = a.call("CLIENT", "ID"), b.call("CLIENT", "ID")
    a.call("CLIENT", "SETNAME", "alpha")
    b.call("SELECT", "2")
    lines = a.call("CLIENT", "LIST").decode().strip().split("\n")
    by_id = {int(fields(l)["id"]): fields(l) for l in lines}
    assert aid in by_id and bid in by_id
    assert by_id[aid]["name"] == "alpha" and by_id[bid]["db"] == "2"
    assert by_id[bid]["cmd"] == "select"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", by_id[aid]["addr"])
    assert by_id[aid]["laddr"] == f"127.0.0.1:{node.port}"
    # Field names and order as Redis 7.0.
    oracle_line = oracle.raw().call("CLIENT", "INFO").decode().strip()
    assert list(by_id[aid]) == list(fields(oracle_line))
    # CLIENT INFO is this connection's line.
    info = fields(b.call("CLIENT", "INFO").decode())
    assert int(info["id"]) == bid and info["db"] == "2"
    # Filters.
    only = a.call("CLIENT", "LIST", "ID", bid, 999999).decode().strip().split("\n")
    assert [int(fields(l)["id"]) for l in only] == [bid]
    assert a.call("CLIENT", "LIST", "ID", "0") == b""
    normal = a.call("CLIENT", "LIST", "TYPE", "normal").decode()
    assert f"id={aid} " in normal
    assert a.call("CLIENT", "LIST", "TYPE", "pubsub") == b""
    b.call("SUBSCRIBE", "ch")
    pub = a.call("CLIENT", "LIST", "TYPE", "PUBSUB").decode()
    assert f"id={bid} " in pub and "sub=1" in pub and f"id={aid} " not in pub
    run_both(node, oracle, [
        ("CLIENT", "LIST", "TYPE", "foo"), ("CLIENT", "LIST", "TYPE"), ("CLIENT", "LIST", "ID"),
        ("CLIENT", "LIST", "ID", "abc"), ("CLIENT", "LIST", "ID", "-1"), ("CLIENT", "LIST", "FOO"),
        ("CLIENT", "LIST", "TYPE", "normal", "x"), ("CLIENT", "LIST", "TYPE", "master"),
        ("CLIENT", "LIST", "TYPE", "replica"),
    ])


def test_list_shows_current_command(node, oracle):
    for srv in (node, oracle):
        c = srv.raw()
        cid = c.call("CLIENT", "ID")
        assert fields(c.call("CLIENT", "INFO").decode())["cmd"] == "client|info", srv.name
        mine = [l for l in c.call("CLIENT", "LIST").decode().strip().split("\n") if f"id={cid} " in l]
        assert fields(mine[0])["cmd"] == "client|list", srv.name


def test_list_flags(node):
    a = node.raw()
    aid = a.call("CLIENT", "ID")
    a.call("MULTI")
    b = node.raw()
    line = fields(b.call("CLIENT", "LIST", "ID", aid).decode())
    assert "x" in line["flags"] and line["multi"] == "0"
    a.call("PING")
    assert fields(b.call("CLIENT", "LIST", "ID", aid).decode())["multi"] == "1"
    a.call("DISCARD")
    assert fields(b.call("CLIENT", "LIST", "ID", aid).decode())["flags"] == "N"


def test_kill_old_form(node, oracle):
    for srv in (node, oracle):
        victim = srv.raw()
        addr = fields(victim.call("CLIENT", "INFO").decode())["addr"]
        killer = srv.raw()
        assert killer.call("CLIENT", "KILL", addr) == b"OK"
        assert victim.is_closed_by_peer(2.0)
        assert killer.cmd("CLIENT", "KILL", addr).raw == b"-ERR No such client\r\n"
        assert killer.cmd("PING").raw == b"+PONG\r\n"


def test_kill_self_old_form(node):
    c = node.raw()
    addr = fields(c.call("CLIENT", "INFO").decode())["addr"]
    assert c.cmd("CLIENT", "KILL", addr).raw == b"+OK\r\n"
    assert c.is_closed_by_peer(2.0)


def test_kill_new_form(node, oracle):
    run_both(node, oracle, [
        ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "ID"), ("CLIENT", "KILL", "ID", "abc"),
        ("CLIENT", "KILL", "ID", "0"), ("CLIENT", "KILL", "ID", "99999"),
        ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"), ("CLIENT", "KILL", "LADDR", "1.2.3.4:5"),
        ("CLIENT", "KILL", "TYPE", "foo"), ("CLIENT", "KILL", "TYPE", "pubsub"),
        ("CLIENT", "KILL", "USER", "foo"), ("CLIENT", "KILL", "USER", "default", "SKIPME", "yes"),
        ("CLIENT", "KILL", "SKIPME", "maybe"), ("CLIENT", "KILL", "FOO", "bar"),
        ("CLIENT", "KILL", "ID", "1", "ADDR"), ("CLIENT", "KILL", "USER", "3", "SETNAME"),
        ("CLIENT", "KILL", "USER", "DEFAULT"), ("CLIENT", "KILL", "TYPE", "bad", "FOO"),
        ("CLIENT", "KILL", "ID", "-1", "SKIPME"), ("CLIENT", "KILL", "SKIPME", "yes", "ID", "x"),
    ])
    a, b, killer = node.raw(), node.raw(), node.raw()
    aid = a.call("CLIENT", "ID")
    assert killer.call("CLIENT", "KILL", "ID", aid) == 1
    assert a.is_closed_by_peer(2.0)
    assert b.cmd("PING").raw == b"+PONG\r\n"
    baddr = fields(b.call("CLIENT", "INFO").decode())["addr"]
    assert killer.call("CLIENT", "KILL", "ADDR", baddr, "SKIPME", "no") == 1
    assert b.is_closed_by_peer(2.0)
    # TYPE pubsub kills subscribers only.
    s1, s2, plain = node.raw(), node.raw(), node.raw()
    s1.call("SUBSCRIBE", "x")
    s2.call("PSUBSCRIBE", "y*")
    assert killer.call("CLIENT", "KILL", "TYPE", "pubsub") == 2
    assert s1.is_closed_by_peer(2.0) and s2.is_closed_by_peer(2.0)
    assert plain.cmd("PING").raw == b"+PONG\r\n"
    # SKIPME no with TYPE normal: the killer goes too.
    n = killer.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no")
    assert n >= 2
    assert killer.is_closed_by_peer(2.0) and plain.is_closed_by_peer(2.0)
    assert node.raw().cmd("PING").raw == b"+PONG\r\n"


def _timed(fn):
    t = time.monotonic()
    v = fn()
    return v, time.monotonic() - t


def test_pause_write(node):
    admin, other = node.raw(), node.client()
    other.set("k", "v")
    assert admin.call("CLIENT", "PAUSE", "600", "WRITE") == b"OK"
    v, dt = _timed(lambda: other.get("k"))
    assert v == b"v" and dt < 0.3, f"read waited {dt:.2f}s during a WRITE pause"
    _, dt = _timed(lambda: other.ping())
    assert dt < 0.3
    v, dt = _timed(lambda: other.set("k", "w"))
    assert v is True and 0.35 < dt < 3.0, f"write took {dt:.2f}s"
    assert other.get("k") == b"w"


def test_pause_all(node):
    admin, other = node.raw(), node.client()
    assert admin.call("CLIENT", "PAUSE", "500", "ALL") == b"OK"
    v, dt = _timed(lambda: other.ping())
    assert v is True and 0.35 < dt < 3.0, f"PING took {dt:.2f}s during CLIENT PAUSE ALL"


def test_unpause_releases_held_writes(node):
    # (In ALL mode UNPAUSE itself would be held until the pause ends, as in Redis.)
    admin, other = node.raw(), node.client()
    assert admin.call("CLIENT", "PAUSE", "10000", "WRITE") == b"OK"
    result = {}

    def run():
        result["v"], result["dt"] = _timed(lambda: other.set("k", "v"))

    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.3)
    assert th.is_alive(), "SET answered during CLIENT PAUSE WRITE"
    assert admin.call("CLIENT", "UNPAUSE") == b"OK"
    th.join(5)
    assert not th.is_alive()
    assert result["v"] is True and result["dt"] < 3.0
    assert other.get("k") == b"v"


def test_pause_write_holds_exec_with_writes(node):
    admin, m = node.raw(), node.raw()
    m.call("MULTI")
    m.call("SET", "k", "v")
    admin.call("CLIENT", "PAUSE", "500", "WRITE")
    r, dt = _timed(lambda: m.cmd("EXEC", timeout=5))
    assert r.raw == b"*1\r\n+OK\r\n" and dt > 0.35, dt


def test_pause_held_writes_keep_order(node):
    admin = node.raw()
    w = node.raw()
    admin.call("CLIENT", "PAUSE", "300", "WRITE")
    w.send(b"".join(w.encode(*c) for c in (("SET", "k", "1"), ("GET", "k"), ("SET", "k", "2"), ("GET", "k"))))
    replies = [r.raw for r in w.read_replies(4, timeout=5)]
    assert replies == [b"+OK\r\n", b"$1\r\n1\r\n", b"+OK\r\n", b"$1\r\n2\r\n"]


def test_pause_errors(node, oracle):
    run_both(node, oracle, [
        ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "abc"), ("CLIENT", "PAUSE", "-1"),
        ("CLIENT", "PAUSE", "1.5"), ("CLIENT", "PAUSE", "0", "FOO"), ("CLIENT", "PAUSE", "0", "WRITE", "x"),
        ("client", "pause", "0", "write", "x"), ("CLIENT", "PAUSE", "0", "write"),
        ("CLIENT", "PAUSE", "0", "ALL"), ("CLIENT", "UNPAUSE", "x"), ("CLIENT", "UNPAUSE"),
    ])


def test_reply_modes(node, oracle):
    def script(c):
        out = []
        c.send(b"".join(c.encode(*x) for x in (
            ("CLIENT", "REPLY", "OFF"), ("PING",), ("ECHO", "hidden"), ("NOSUCH",),
            ("CLIENT", "REPLY", "ON"), ("ECHO", "a"),
            ("CLIENT", "REPLY", "SKIP"), ("ECHO", "skipped"), ("ECHO", "b"),
            ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("ECHO", "skipped2"), ("ECHO", "c"),
            ("CLIENT", "REPLY", "FOO"), ("CLIENT", "REPLY"))))
        return c.read_raw(1.0, until=b"wrong number of arguments for 'client|reply' command\r\n")

    a, b = script(node.raw()), script(oracle.raw())
    assert a == b
    assert a.startswith(b"+OK\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n-ERR syntax error\r\n")


def test_reply_off_then_close(node):
    c = node.raw()
    c.send(c.encode("CLIENT", "REPLY", "OFF") + c.encode("SET", "k", "v"))
    time.sleep(0.1)
    assert node.client().get("k") == b"v"
    c.send(c.encode("CLIENT", "REPLY", "ON"))
    assert c.read_reply().raw == b"+OK\r\n"


def test_unblock(node, oracle):
    run_both(node, oracle, [
        ("CLIENT", "UNBLOCK"), ("CLIENT", "UNBLOCK", "abc"), ("CLIENT", "UNBLOCK", "99999"),
        ("CLIENT", "UNBLOCK", "99999", "FOO"), ("CLIENT", "UNBLOCK", "99999", "error"),
        ("CLIENT", "UNBLOCK", "-5"), ("CLIENT", "UNBLOCK", "1", "TIMEOUT", "x"),
        ("CLIENT", "UNBLOCK", "abc", "FOO"), ("CLIENT", "UNBLOCK", "abc", "x", "y"),
    ])
    if not implemented(node, "blpop"):
        pytest.skip("BLPOP not implemented yet: CLIENT UNBLOCK needs a blocked client")
    admin = node.raw()
    for mode, expect in ((None, b"*-1\r\n"), ("TIMEOUT", b"*-1\r\n"),
                         ("ERROR", b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")):
        b = node.raw()
        bid = b.call("CLIENT", "ID")
        b.send_command("BLPOP", "nolist", "0")
        deadline = time.monotonic() + 3
        while "b" not in fields(admin.call("CLIENT", "LIST", "ID", bid).decode())["flags"]:
            assert time.monotonic() < deadline, "client never blocked"
            time.sleep(0.01)
        args = ("CLIENT", "UNBLOCK", bid) + ((mode,) if mode else ())
        assert admin.call(*args) == 1
        assert b.read_reply(timeout=3).raw == expect
        assert b.cmd("PING").raw == b"+PONG\r\n"
        assert admin.call(*args) == 0  # not blocked any more
    # The oracle agrees on the ERROR text.
    ob, oa = oracle.raw(), oracle.raw()
    obid = ob.call("CLIENT", "ID")
    ob.send_command("BLPOP", "nolist", "0")
    time.sleep(0.1)
    assert oa.call("CLIENT", "UNBLOCK", obid, "ERROR") == 1
    assert ob.read_reply(timeout=3).raw == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"


def test_no_evict(node, oracle):
    run_both(node, oracle, [
        ("CLIENT", "NO-EVICT"), ("CLIENT", "NO-EVICT", "maybe"), ("CLIENT", "NO-EVICT", "on"),
        ("CLIENT", "NO-EVICT", "OFF"), ("CLIENT", "NO-EVICT", "on", "x"),
    ])
    c = node.raw()
    c.call("CLIENT", "NO-EVICT", "on")
    assert "e" in fields(c.call("CLIENT", "INFO").decode())["flags"]
    c.call("CLIENT", "NO-EVICT", "off")
    assert "e" not in fields(c.call("CLIENT", "INFO").decode())["flags"]


def test_help(node):
    h = node.raw().call("CLIENT", "HELP")
    assert isinstance(h, list) and len(h) > 5

"""Connection commands of shoal-node: PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET.

Replies and error texts are compared byte for byte with the oracle redis-server 7.0
wherever the two must agree (client ids excepted)."""

import re
import time

import pytest

from conftest import RawConn, free_port


def both(node, oracle, *cmds, proto=None):
    """Runs each command on a fresh raw connection pair; returns [(node, oracle)] raw bytes."""
    n, o = node.raw(), oracle.raw()
    if proto:
        n.cmd("HELLO", proto)
        o.cmd("HELLO", proto)
    return [(n.cmd(*c).raw, o.cmd(*c).raw) for c in cmds]


def assert_same(node, oracle, *cmds, proto=None):
    for c, (a, b) in zip(cmds, both(node, oracle, *cmds, proto=proto)):
        assert a == b, f"{c}: node {a!r} != oracle {b!r}"


ID_RE = re.compile(rb"\$2\r\nid\r\n:\d+\r\n")


def strip_id(raw):
    return ID_RE.sub(b"$2\r\nid\r\n:N\r\n", raw)


def test_ping_echo(node, oracle):
    assert_same(node, oracle,
                ("PING",), ("PING", "hello"), ("PING", ""), ("PING", "a", "b"),
                ("ECHO",), ("ECHO", "x"), ("ECHO", ""), ("ECHO", "x", "y"),
                ("ECHO", b"\x00\xff\r\n"), ("ping",), ("pInG", "Mixed"))


def test_ping_resp3(node, oracle):
    assert_same(node, oracle, ("PING",), ("PING", "x"), ("ECHO", "y"), proto=3)


def test_quit_closes(node, oracle):
    for srv in (node, oracle):
        c = srv.raw()
        c.send(RawConn.encode("QUIT") + RawConn.encode("PING"))
        assert c.read_reply().raw == b"+OK\r\n"
        assert c.is_closed_by_peer(2.0), f"{srv.name} kept the connection after QUIT"
    # The server itself is fine.
    assert node.raw().cmd("PING").raw == b"+PONG\r\n"


def test_quit_extra_args(node, oracle):
    # QUIT takes any arguments in 7.0 (arity -1) and still closes.
    for srv in (node, oracle):
        c = srv.raw()
        assert c.cmd("QUIT", "x").raw == b"+OK\r\n"
        assert c.is_closed_by_peer(2.0)


def test_hello_shapes(node, oracle):
    for proto, head in ((2, b"*14\r\n"), (3, b"%7\r\n")):
        (a, b), = both(node, oracle, ("HELLO", proto))
        assert a.startswith(head) and b.startswith(head)
        assert strip_id(a) == strip_id(b)
    # No version: current protocol unchanged.
    (a, b), = both(node, oracle, ("HELLO",))
    assert strip_id(a) == strip_id(b)


def test_hello_map_contents(node):
    c = node.raw()
    cid = c.call("CLIENT", "ID")
    r = c.cmd("HELLO", "3")
    assert r.type == "%"
    m = r.to_py()
    assert m[b"server"] == b"redis" and m[b"version"] == b"7.0.15"
    assert m[b"proto"] == 3 and m[b"id"] == cid
    assert m[b"mode"] == b"standalone" and m[b"role"] == b"master" and m[b"modules"] == []
    # RESP3 from now on: a null is "_", a map is "%".
    assert c.cmd("CLIENT", "GETNAME").raw == b"_\r\n"
    assert c.cmd("CONFIG", "GET", "hz").type == "%"
    # Back to RESP2.
    assert c.cmd("HELLO", "2").type == "*"
    assert c.cmd("CLIENT", "GETNAME").raw == b"$-1\r\n"


def test_hello_errors(node, oracle):
    assert_same(node, oracle,
                ("HELLO", "4"), ("HELLO", "1"), ("HELLO", "0"), ("HELLO", "-1"),
                ("HELLO", "abc"), ("HELLO", "2147483648"), ("HELLO", "3.0"),
                ("HELLO", "3", "foo"), ("HELLO", "2", "AUTH"), ("HELLO", "2", "AUTH", "default"),
                ("HELLO", "2", "SETNAME"), ("HELLO", "2", "SETNAME", "a b"),
                ("HELLO", "2", "SETNAME", "x\ny"), ("HELLO", "2", "AUTH", "foo", "x"))


def test_hello_options(node, oracle):
    for srv in (node, oracle):
        c = srv.raw()
        r = c.cmd("HELLO", "3", "SETNAME", "myname")
        assert r.type == "%"
        assert c.call("CLIENT", "GETNAME") == b"myname"
        # With no password configured, AUTH default <anything> is accepted.
        assert c.cmd("HELLO", "2", "AUTH", "default", "whatever", "SETNAME", "n2").type == "*"
        assert c.call("CLIENT", "GETNAME") == b"n2"
        # A failed HELLO changes nothing.
        assert c.cmd("HELLO", "3", "SETNAME", "bad name").is_error
        assert c.call("CLIENT", "GETNAME") == b"n2"
        assert c.cmd("PING").raw == b"+PONG\r\n"  # still RESP2


def test_auth_without_password(node, oracle):
    assert_same(node, oracle,
                ("AUTH",), ("AUTH", "x"), ("AUTH", "default", "x"), ("AUTH", "foo", "x"),
                ("AUTH", "a", "b", "c"))


def _start_with_password(node_factory, kind, password):
    """A server started with --requirepass (the harness's PING readiness check
    can't pass, so wait for the NOAUTH answer instead)."""
    srv = node_factory("--requirepass", password, kind=kind, start=False)
    srv.port = free_port()
    srv._spawn()
    deadline = time.monotonic() + 10
    while True:
        try:
            with RawConn(srv.port, timeout=1.0) as c:
                if c.cmd("PING", timeout=1.0).raw.startswith(b"-NOAUTH"):
                    return srv
        except (OSError, TimeoutError):
            pass
        assert srv.alive(), f"{kind} exited during startup:\n{srv.log()[-2000:]}"
        assert time.monotonic() < deadline, f"{kind} not ready"
        time.sleep(0.05)


def test_requirepass(node_factory):
    servers = [_start_with_password(node_factory, k, "s3cret") for k in ("shoal", "redis")]
    script = [
        ("PING",), ("GET", "k"), ("CLIENT", "ID"), ("SELECT", "1"),
        ("AUTH", "wrong"), ("AUTH", "default", "wrong"), ("AUTH", "nouser", "s3cret"),
        ("HELLO", "3"), ("HELLO", "3", "AUTH", "default", "wrong"),
        ("PING",),
        ("AUTH", "s3cret"), ("PING",), ("AUTH", "default", "s3cret"), ("ECHO", "in"),
        ("AUTH", "wrong"), ("PING",),  # a failed AUTH doesn't log the client out
        ("RESET",), ("PING",),          # RESET does
        ("HELLO", "2", "AUTH", "default", "s3cret"), ("PING",),
    ]
    replies = []
    for srv in servers:
        c = RawConn(srv.port)
        replies.append([strip_id(c.cmd(*cmd).raw) for cmd in script])
        c.close()
    for cmd, a, b in zip(script, *replies):
        assert a == b, f"{cmd}: node {a!r} != oracle {b!r}"
    assert replies[0][0] == b"-NOAUTH Authentication required.\r\n"


def test_requirepass_config_set(node, oracle):
    """CONFIG SET requirepass at runtime: existing connections stay logged in,
    new ones must AUTH."""
    for srv in (node, oracle):
        admin = srv.raw()
        assert admin.cmd("CONFIG", "SET", "requirepass", "pw").raw == b"+OK\r\n"
        try:
            assert admin.cmd("PING").raw == b"+PONG\r\n"
            c = srv.raw()
            assert c.cmd("PING").raw == b"-NOAUTH Authentication required.\r\n"
            assert c.cmd("AUTH", "pw").raw == b"+OK\r\n"
            assert c.cmd("PING").raw == b"+PONG\r\n"
        finally:
            assert admin.cmd("CONFIG", "SET", "requirepass", "").raw == b"+OK\r\n"
        assert srv.raw().cmd("PING").raw == b"+PONG\r\n"


def test_select(node, oracle):
    assert_same(node, oracle,
                ("SELECT", "0"), ("SELECT", "15"), ("SELECT", "16"), ("SELECT", "-1"),
                ("SELECT", "abc"), ("SELECT", "1.5"), ("SELECT", ""), ("SELECT", " 1"),
                ("SELECT", "2147483647"), ("SELECT", "2147483648"), ("SELECT", "-2147483649"),
                ("SELECT", "99999999999999999999"), ("SELECT",), ("SELECT", "1", "2"))


def test_select_isolates_databases(node):
    r = node.client()
    r.execute_command("DEBUG", "POPULATE", "3", "d0")
    c = node.raw()
    assert c.call("SELECT", "5") == b"OK"
    assert c.call("DBSIZE") == 0
    assert c.call("EXISTS", "d0:1") == 0
    assert c.call("DEBUG", "POPULATE", "2", "d5") == b"OK"
    assert c.call("DBSIZE") == 2
    assert r.dbsize() == 3
    assert c.call("SELECT", "0") == b"OK"
    assert c.call("EXISTS", "d0:1", "d5:1") == 1


def test_reset(node, oracle):
    for srv in (node, oracle):
        c = srv.raw()
        c.cmd("HELLO", "3")
        c.cmd("SELECT", "3")
        c.cmd("CLIENT", "SETNAME", "before")
        c.cmd("CLIENT", "NO-EVICT", "on")
        c.cmd("WATCH", "k")
        c.cmd("MULTI")
        assert c.cmd("PING").raw == b"+QUEUED\r\n"
        assert c.cmd("RESET").raw == b"+RESET\r\n", srv.name
        # Back to defaults: RESP2, db 0, no name, no MULTI.
        assert c.cmd("CLIENT", "GETNAME").raw == b"$-1\r\n"
        info = c.call("CLIENT", "INFO").decode()
        # NO-EVICT ("e") survives RESET in Redis 7.0; nothing else does.
        assert " db=0 " in info and " resp=2" in info and "flags=e " in info, info
        assert c.cmd("EXEC").raw == b"-ERR EXEC without MULTI\r\n"
        # Subscriber mode ends too.
        c.cmd("SUBSCRIBE", "ch")
        assert c.cmd("RESET").raw == b"+RESET\r\n"
        assert c.cmd("ECHO", "ok").raw == b"$2\r\nok\r\n"
        assert c.call("PUBSUB", "NUMSUB", "ch") == [b"ch", 0]


def test_reset_arity(node, oracle):
    assert_same(node, oracle, ("RESET", "x"))

"""Malformed and abusive input over raw sockets: protocol errors (with Redis's texts, then a
close), oversized bulks and multibulk counts, unbalanced quotes, the query-buffer limit and
maxclients. After every case the server must still answer PING on another connection.
Replies and close behaviour are compared with the oracle redis-server 7.0."""

import socket
import time

import pytest

from conftest import RawConn


def _drain(sock, quiet):
    """Bytes until the peer closes (-> closed True) or nothing arrives for `quiet` s."""
    out = b""
    while True:
        sock.settimeout(quiet)
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return out, False
        except OSError:
            return out, True
        if not d:
            return out, True
        out += d


def probe_many(servers, data, quiet=0.2):
    """Sends data on a new connection to each server at once; returns
    [(bytes received, closed by server)] in the same order."""
    socks = [socket.create_connection(("127.0.0.1", s.port), timeout=2) for s in servers]
    try:
        sent = []
        for s in socks:
            try:
                s.sendall(data)
                sent.append(True)
            except (BrokenPipeError, ConnectionResetError):
                sent.append(False)
        return [_drain(s, quiet) if ok else (b"", True) for s, ok in zip(socks, sent)]
    finally:
        for s in socks:
            s.close()


def probe(srv, data, quiet=0.2):
    return probe_many([srv], data, quiet)[0]


def alive(srv):
    with RawConn(srv.port, timeout=3) as c:
        assert c.cmd("PING").raw == b"+PONG\r\n", f"{srv.name} stopped answering"


CASES = [
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n", True),
    (b"*-1\r\n", b"", False),
    (b"*0\r\n", b"", False),
    (b"*1\r\nfoo\r\n", b"-ERR Protocol error: expected '$', got 'f'\r\n", True),
    (b"*1\r\n:5\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n", True),
    (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n", True),
    (b"*1\r\n$-1\r\n", b"-ERR Protocol error: invalid bulk length\r\n", True),
    (b"*1\r\n$+5\r\n", None, None),
    (b"*1\r\n$600000000\r\n", b"-ERR Protocol error: invalid bulk length\r\n", True),
    (b"*1\r\n$536870912\r\n", b"", False),     # exactly proto-max-bulk-len: accepted, waits
    (b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length\r\n", True),
    (b"*99999999999\r\n", b"-ERR Protocol error: invalid multibulk length\r\n", True),
    (b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n", True),
    (b"*1\r\n$3\r\nfooX\r\n", None, None),
    (b"*2\r\n$4\r\nping\r\n:1\r\n", None, None),
    (b"ping \"abc\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n", True),
    (b"ping 'abc\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n", True),
    (b"ping \"a\"b\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n", True),
    (b"\r\n", b"", False),
    (b"   \r\n", b"", False),
    (b"ping\n", b"+PONG\r\n", False),
    (b"echo \"a\\x41\\n\"\r\n", b"$3\r\naA\n\r\n", False),
    (b"echo 'it''s'\r\n", None, None),
    (b"*1\r\n$4\r\nping\r\n*2\r\n", b"+PONG\r\n", False),
    (b"nosuchcmd a b\r\n", None, None),
    (b"*\r\n", None, None),
    (b"*1\r\n$\r\n", None, None),
    (b"*1\r\n$4\r\nping", b"", False),
]


@pytest.mark.parametrize("data,expect,closed", CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_protocol_errors_match_oracle(node, oracle, data, expect, closed):
    got_n, got_o = probe_many([node, oracle], data)
    assert got_n == got_o, f"node {got_n!r} != oracle {got_o!r}"
    if expect is not None:
        assert got_n == (expect, closed)
    alive(node)


def test_big_multibulk_count_accepted(node, oracle):
    for data in (b"*1048577\r\n", b"*2147483647\r\n"):
        got_n, got_o = probe_many([node, oracle], data)
        assert got_n == got_o == (b"", False)


def test_huge_multibulk_count_does_not_allocate(node):
    r = node.client()
    before = int(r.info("memory")["used_memory"])
    conns = [node.raw() for _ in range(20)]
    for c in conns:
        c.send(b"*1000000\r\n$1\r\nx\r\n")
    time.sleep(0.2)
    grew = int(r.info("memory")["used_memory"]) - before
    assert grew < 2 * 1024 * 1024, f"20 clients announcing 1M args made memory grow by {grew}"
    alive(node)


@pytest.mark.node_args("--proto-max-bulk-len", "1mb")
def test_small_proto_max_bulk_len(node, oracle):
    r = node.client()
    before = int(r.info("memory")["used_memory"])
    for data in (b"*1\r\n$1048577\r\n", b"*2\r\n$3\r\nset\r\n$2000000000\r\n"):
        got_n, got_o = probe_many([node, oracle], data)
        assert got_n == got_o == (b"-ERR Protocol error: invalid bulk length\r\n", True), (got_n, got_o)
    assert int(r.info("memory")["used_memory"]) - before < 512 * 1024
    # A bulk at the limit is fine.
    c = node.raw()
    assert c.cmd("SET", "big", b"z" * (1024 * 1024)).raw == b"+OK\r\n"
    assert r.strlen("big") == 1024 * 1024
    alive(node)


@pytest.mark.node_args("--client-query-buffer-limit", "1mb")
@pytest.mark.timeout_s(30)
def test_query_buffer_limit(node, oracle):
    for srv in (node, oracle):
        # A 2 MB bulk: allowed by proto-max-bulk-len, but the query buffer passes 1 MB.
        c = RawConn(srv.port, timeout=3)
        try:
            c.send(b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$2000000\r\n")
            for _ in range(12):
                c.send(b"a" * 100000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert c.is_closed_by_peer(3.0), f"{srv.name} kept a client over client-query-buffer-limit"
        c.close()
        alive(srv)
        # Under the limit is fine.
        c = RawConn(srv.port, timeout=3)
        assert c.cmd("SET", "k", b"a" * 900000).raw == b"+OK\r\n"
        c.close()
    info = node.client().info("stats")
    assert info["client_query_buffer_limit_disconnections"] >= 1


def test_too_big_inline(node, oracle):
    for srv in (node, oracle):
        out, closed = probe(srv, b"PING " + b"a" * 70000)
        assert closed and out in (b"", b"-ERR Protocol error: too big inline request\r\n"), (srv.name, out)
        alive(srv)


def test_partial_command_then_close(node):
    for data in (b"*3\r\n$3\r\nset\r\n$1\r\nk", b"*2\r\n$4\r\nping\r\n$100\r\nabc", b"PING"):
        c = node.raw()
        c.send(data)
        c.close()
    alive(node)


def test_pipelined_then_error_keeps_earlier_replies(node, oracle):
    data = b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*x\r\n*1\r\n$4\r\nPING\r\n"
    got_n, got_o = probe_many([node, oracle], data)
    assert got_n == got_o
    assert got_n == (b"+PONG\r\n$2\r\nhi\r\n-ERR Protocol error: invalid multibulk length\r\n", True)


@pytest.mark.node_args("--maxclients", "3")
def test_maxclients(node, oracle):
    for srv in (node, oracle):
        conns = [RawConn(srv.port, timeout=3) for _ in range(3)]
        for c in conns:
            assert c.cmd("PING").raw == b"+PONG\r\n"
        extra = RawConn(srv.port, timeout=3)
        assert extra.read_raw(1.0, until=b"\r\n") == b"-ERR max number of clients reached\r\n", srv.name
        assert extra.is_closed_by_peer(2.0)
        extra.close()
        conns[0].close()
        deadline = time.monotonic() + 3
        while True:   # the slot frees once the server has seen the close
            with RawConn(srv.port, timeout=3) as c:
                r = c.read_raw(0.1)
                if r == b"":
                    assert c.cmd("PING").raw == b"+PONG\r\n"
                    break
            assert time.monotonic() < deadline, f"{srv.name}: slot never freed"
            time.sleep(0.05)
        for c in conns[1:]:
            c.close()
    assert node.client().info("stats")["rejected_connections"] >= 1


def test_binary_garbage(node):
    import random
    rng = random.Random(1234)
    for _ in range(30):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        c = RawConn(node.port, timeout=1)
        try:
            c.send(blob)
            c.read_raw(0.05)
        except OSError:
            pass
        c.close()
    alive(node)


def test_many_connections_opened_and_dropped(node):
    socks = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", node.port), timeout=2)
        socks.append(s)
    for s in socks:
        s.close()
    alive(node)
    deadline = time.monotonic() + 3
    while node.client().info("clients")["connected_clients"] > 5:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_unauthenticated_limits(node, oracle):
    admins = [node.raw(), oracle.raw()]
    for a in admins:
        assert a.call("CONFIG", "SET", "requirepass", "pw") == b"OK"
    try:
        for data, expect in ((b"*11\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
                             (b"*1\r\n$16385\r\n", b"-ERR Protocol error: unauthenticated bulk length\r\n"),
                             (b"*10\r\n$16384\r\n", b"")):
            got_o, got_n = probe_many([oracle, node], data)
            assert got_o == (expect, expect != b"")
            assert got_n == got_o
    finally:
        for a in admins:
            a.call("CONFIG", "SET", "requirepass", "")

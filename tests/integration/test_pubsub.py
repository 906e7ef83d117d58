"""Pub/sub in shoal-node: (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE, PUBLISH/SPUBLISH delivery and
counts, the RESP2 subscriber context, RESP3 push messages, PUBSUB introspection, and the
pubsub output-buffer limit. Raw protocol bytes are compared with the oracle redis-server 7.0."""

import socket
import time

import pytest


def pair(node, oracle, proto=None):
    n, o = node.raw(), oracle.raw()
    if proto:
        n.cmd("HELLO", proto)
        o.cmd("HELLO", proto)
    return n, o


def exchange(conns, cmd, nreplies=1):
    """Sends cmd on each connection, returns the raw bytes of nreplies replies per connection."""
    out = []
    for c in conns:
        c.send_command(*cmd)
        out.append(b"".join(r.raw for r in c.read_replies(nreplies, timeout=3)))
    return out


def same(conns, cmd, nreplies=1):
    a, b = exchange(conns, cmd, nreplies)
    assert a == b, f"{cmd}: node {a!r} != oracle {b!r}"
    return a


def test_subscribe_confirmations(node, oracle):
    for proto in (2, 3):
        c = pair(node, oracle, proto)
        same(c, ("SUBSCRIBE", "a", "b", "a"), 3)
        same(c, ("PSUBSCRIBE", "p*", "q?"), 2)
        same(c, ("SSUBSCRIBE", "s1", "s2"), 2)
        same(c, ("UNSUBSCRIBE", "b", "zz"), 2)
        same(c, ("PUNSUBSCRIBE", "q?"), 1)
        same(c, ("SUNSUBSCRIBE", "s2", "nope"), 2)
        same(c, ("UNSUBSCRIBE",), 1)
        same(c, ("PUNSUBSCRIBE",), 1)
        same(c, ("SUNSUBSCRIBE",), 1)
        same(c, ("PING",), 1)  # subscriber mode ended: plain PONG again


def test_unsubscribe_when_not_subscribed(node, oracle):
    for proto in (2, 3):
        c = pair(node, oracle, proto)
        a = same(c, ("UNSUBSCRIBE",))
        same(c, ("PUNSUBSCRIBE",))
        same(c, ("SUNSUBSCRIBE",))
        same(c, ("UNSUBSCRIBE", "x", "y"), 2)
        same(c, ("PUNSUBSCRIBE", "x*"))
        if proto == 2:
            assert a == b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
        # The client is not stuck in subscriber mode afterwards.
        same(c, ("ECHO", "fine"))


def test_publish_counts_and_delivery(node, oracle):
    for srv in (node, oracle):
        s1, s2, ps, pub = srv.raw(), srv.raw(), srv.raw(), srv.raw()
        s1.call("SUBSCRIBE", "news")
        exchange([s2], ("SUBSCRIBE", "news", "other"), 2)
        exchange([ps], ("PSUBSCRIBE", "n*", "*s", "x"), 3)
        assert pub.call("PUBLISH", "news", "hello") == 4   # 2 channel + 2 matching patterns
        assert pub.call("PUBLISH", "other", "o") == 1
        assert pub.call("PUBLISH", "nobody", "z") == 1     # pattern n*
        assert pub.call("PUBLISH", "void", "z") == 0
        assert s1.read_reply().raw == b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
        got = sorted(r.raw for r in ps.read_replies(3))
        assert got == sorted([
            b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
            b"*4\r\n$8\r\npmessage\r\n$2\r\n*s\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
            b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$6\r\nnobody\r\n$1\r\nz\r\n",
        ]), srv.name
        assert [r.raw for r in s2.read_replies(2)] == [
            b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
            b"*3\r\n$7\r\nmessage\r\n$5\r\nother\r\n$1\r\no\r\n"]
        # Binary-safe payloads.
        assert pub.call("PUBLISH", "news", b"\x00\r\n\xff") == 4
        assert s1.read_reply().value[2].value == b"\x00\r\n\xff"
        # Shard channels are separate from ordinary ones.
        sh = srv.raw()
        sh.call("SSUBSCRIBE", "news")
        assert pub.call("SPUBLISH", "news", "s") == 1
        assert sh.read_reply().raw == b"*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$1\r\ns\r\n"
        assert pub.call("PUBLISH", "news", "again") == 4


def test_subscriber_context_resp2(node, oracle):
    c = pair(node, oracle)
    same(c, ("SUBSCRIBE", "ch"))
    for cmd in (("GET", "k"), ("SET", "k", "v"), ("PUBLISH", "ch", "x"), ("SELECT", "1"),
                ("MULTI",), ("NOSUCH",)):
        same(c, cmd)
    # Allowed: PING (in the message shape), (P|S)(UN)SUBSCRIBE, RESET, QUIT.
    same(c, ("PING",))
    same(c, ("PING", "msg"))
    same(c, ("PSUBSCRIBE", "x*"))
    same(c, ("SSUBSCRIBE", "sh"))
    same(c, ("RESET",))
    same(c, ("GET", "k"))


def test_subscriber_context_subcommand_name(node, oracle):
    c = pair(node, oracle)
    same(c, ("SUBSCRIBE", "ch"))
    same(c, ("CLIENT", "ID"))
    same(c, ("PUBSUB", "NUMPAT"))


def test_resp3_push_messages(node, oracle):
    subs = pair(node, oracle, 3)
    same(subs, ("SUBSCRIBE", "ch"))
    same(subs, ("PSUBSCRIBE", "c*"))
    # RESP3 subscribers may run any command.
    same(subs, ("PING",))
    same(subs, ("GET", "nokey"))
    same(subs, ("ECHO", "x"))
    for srv, sub in zip((node, oracle), subs):
        assert srv.raw().call("PUBLISH", "ch", "payload") == 2
    got = [b"".join(r.raw for r in s.read_replies(2)) for s in subs]
    assert got[0] == got[1]
    assert got[0] == (b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$7\r\npayload\r\n"
                      b">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$7\r\npayload\r\n")
    same(subs, ("UNSUBSCRIBE",))
    same(subs, ("PUNSUBSCRIBE",))


def test_push_between_replies_resp3(node):
    """A message published by the subscriber itself arrives before the PUBLISH reply."""
    c = node.raw()
    c.cmd("HELLO", "3")
    c.cmd("SUBSCRIBE", "me")
    c.send_command("PUBLISH", "me", "hi")
    push = c.read_reply()
    assert push.type == ">" and push.value[2].value == b"hi"
    assert c.read_reply().raw == b":1\r\n"


def test_pubsub_introspection(node, oracle):
    for proto in (2, 3):
        watchers = []
        for srv in (node, oracle):
            a, b = srv.raw(), srv.raw()
            exchange([a], ("SUBSCRIBE", "news.it", "news.fr", "sport"), 3)
            exchange([b], ("SUBSCRIBE", "news.it"), 1)
            exchange([b], ("PSUBSCRIBE", "news.*", "x"), 2)
            exchange([a], ("SSUBSCRIBE", "s1", "s2"), 2)
            watchers.append((a, b))
        c = pair(node, oracle, proto)
        for cmd in (("PUBSUB", "NUMSUB"), ("PUBSUB", "NUMSUB", "news.it", "sport", "none"),
                    ("PUBSUB", "NUMPAT"), ("PUBSUB", "SHARDNUMSUB", "s1", "none"), ("PUBSUB", "SHARDNUMSUB"),
                    ("PUBSUB", "CHANNELS", "nomatch*"), ("PUBSUB", "CHANNELS", "a", "b"),
                    ("PUBSUB", "NUMPAT", "x"), ("PUBSUB", "FOO"), ("PUBSUB",),
                    ("PUBSUB", "SHARDCHANNELS", "a", "b"), ("PUBSUB", "CHANNELS", "sport")):
            same(c, cmd)
        for cmd in (("PUBSUB", "CHANNELS"), ("PUBSUB", "CHANNELS", "news.*"), ("PUBSUB", "SHARDCHANNELS"),
                    ("PUBSUB", "SHARDCHANNELS", "s[12]")):
            a, b = (x.cmd(*cmd) for x in c)
            assert a.type == b.type and sorted(a.to_py()) == sorted(b.to_py()), (cmd, a, b)
        for a, b in watchers:
            a.close()
            b.close()
        # Subscriptions go away with their connections.
        deadline = time.monotonic() + 3
        while node.raw().call("PUBSUB", "NUMPAT") != 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert node.raw().call("PUBSUB", "CHANNELS") == []


def test_info_pubsub_counts(node):
    a = node.raw()
    a.call("SUBSCRIBE", "one")
    exchange([a], ("PSUBSCRIBE", "p1", "p2"), 2)
    info = node.client().info("stats")
    assert info["pubsub_channels"] == 1 and info["pubsub_patterns"] == 2


def test_subscribe_inside_multi(node, oracle):
    c = pair(node, oracle)
    same(c, ("MULTI",))
    same(c, ("SUBSCRIBE", "x"))
    same(c, ("EXEC",))
    same(c, ("PING",))


@pytest.mark.fresh_node
@pytest.mark.timeout_s(30)
def test_slow_subscriber_disconnected(node):
    assert node.raw().call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 32kb 1") == b"OK"
    sub = node.raw()
    sub.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.call("SUBSCRIBE", "flood")
    sub_id = node.raw().call("CLIENT", "LIST", "TYPE", "pubsub").split(b" ")[0]
    pub = node.client()
    before = int(pub.info("stats")["client_output_buffer_limit_disconnections"])
    payload = b"x" * 1024
    p = pub.pipeline(transaction=False)
    # ~8 MB while the subscriber reads nothing: loopback socket buffers alone
    # can absorb ~4 MB, the rest must pile up in the node's output buffer.
    for _ in range(8000):
        p.publish("flood", payload)
    p.execute()
    deadline = time.monotonic() + 5
    while pub.execute_command("PUBSUB", "NUMSUB", "flood")[1] != 0:
        assert time.monotonic() < deadline, "slow subscriber still connected"
        time.sleep(0.05)
    assert int(pub.info("stats")["client_output_buffer_limit_disconnections"]) > before
    assert sub_id not in node.raw().call("CLIENT", "LIST")
    assert pub.ping()


@pytest.mark.node_args("--client-output-buffer-limit", "pubsub 0 32kb 1")
@pytest.mark.timeout_s(30)
def test_soft_limit_needs_time(node):
    """Over the soft limit only: disconnected after soft-seconds, not at once."""
    sub = node.raw()
    sub.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.call("SUBSCRIBE", "soft")
    pub = node.client()
    p = pub.pipeline(transaction=False)
    for _ in range(8000):   # ~8 MB: MBs over 32 KB even after the kernel buffers fill
        p.publish("soft", b"y" * 1024)
    p.execute()
    assert pub.execute_command("PUBSUB", "NUMSUB", "soft")[1] == 1
    deadline = time.monotonic() + 5
    while True:
        pub.publish("soft", b"z")   # the limit is checked when output is produced
        if pub.execute_command("PUBSUB", "NUMSUB", "soft")[1] == 0:
            break
        assert time.monotonic() < deadline, "soft limit never enforced"
        time.sleep(0.1)

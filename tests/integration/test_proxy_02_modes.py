"""shoal-proxy: stateful client modes and authentication, in front of a Shoal cluster and a
Redis 7.0 cluster (3 masters, one replica each where the kind has replication).

* MULTI/EXEC/DISCARD/WATCH: the first key fixes the slot; a queued command for another slot
  is refused at once with CROSSSLOT and EXEC then answers EXECABORT; queueing errors,
  runtime errors inside EXEC, nested MULTI, WATCH aborts (RESP2 and RESP3) as Redis does
  (differential against a standalone server of the same kind); many concurrent
  transactions stay atomic; a client leaving mid-transaction applies nothing.
* Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN/MAX, BZMPOP):
  timeouts, wake-up by another client through the proxy, CROSSSLOT for multi-slot keys,
  a blocked client holds up nobody else, a blocked client that leaves consumes nothing.
* Pub/sub: SUBSCRIBE/PSUBSCRIBE with PUBLISH from another client (any node: PUBLISH is
  cluster-wide), SSUBSCRIBE/SPUBLISH by slot, RESP2 and RESP3 push, the subscribed-mode
  command restrictions of RESP2, UNSUBSCRIBE back to normal.
* requirepass on the proxy (NOAUTH, WRONGPASS, AUTH, HELLO AUTH, inline AUTH, redis-py).
* Backend credentials: a cluster started with --requirepass (+ --masterauth on Redis), the
  proxy configured with --backend-password: every mode works for a client that knows no
  password; a wrong backend password gives errors, never a hang.
"""

import threading
import time

import pytest
import redis

from conftest import RawConn, fmt_raw
from cluster_util import attach, wait_for
from proxy_util import (CROSSSLOT, ProxyFactory, Raw, backend_params, differential, key_in_slot,
                        key_slot, proxy_env, proxy_px, reference_server, resp)


@pytest.fixture(scope="module", params=backend_params())
def env(request):
    yield from proxy_env(request)


@pytest.fixture
def px(request, env):
    yield from proxy_px(request, env)


@pytest.fixture
def ref(request, env):
    return reference_server(request, env)


def tag_on(cluster, i, name):
    """A hash-tagged key builder for a slot served by master i."""
    k = cluster.keys_on(cluster.masters[i], 1, "tg")[0]
    tag = k[1:k.index("}")]
    return lambda n: f"{{{tag}}}{name}{n}"


def other_slot_key(cluster, i, key, name="o"):
    """A key on master i in a different slot from `key`."""
    for k in cluster.keys_on(cluster.masters[i], 4, name):
        if key_slot(k.encode()) != key_slot(key.encode()):
            return k
    raise AssertionError("no other slot")


# ---------------------------------------------------------------------------
# MULTI / EXEC / DISCARD / WATCH

def test_multi_exec_on_every_master(px):
    c = px.proxy.raw()
    for i in range(3):
        k = tag_on(px.cluster, i, "m")
        assert c.cmd("MULTI").raw == b"+OK\r\n"
        for cmd in [("SET", k(1), "one"), ("INCR", k(2)), ("GET", k(1)), ("PING",),
                    ("LPUSH", k(3), "x", "y"), ("LRANGE", k(3), 0, -1)]:
            r = c.cmd(*cmd)
            assert r.raw == b"+QUEUED\r\n", f"{cmd}: {fmt_raw(r.raw)}"
        r = c.cmd("EXEC")
        assert r.raw == resp(Raw(b"+OK\r\n"), 1, "one", Raw(b"+PONG\r\n"), 2,
                             Raw(resp("y", "x"))), fmt_raw(r.raw)
        assert px.cluster.get_direct(k(1)) == "one"


def test_multi_first_key_fixes_the_slot(px):
    c = px.proxy.raw()
    a = px.cluster.keys_on(px.cluster.masters[0], 1, "fa")[0]
    b_other_node = px.cluster.keys_on(px.cluster.masters[1], 1, "fb")[0]
    b_same_node = other_slot_key(px.cluster, 0, a)
    for b in (b_other_node, b_same_node):
        assert c.cmd("MULTI").raw == b"+OK\r\n"
        assert c.cmd("SET", a, "1").raw == b"+QUEUED\r\n"
        assert c.cmd("PING").raw == b"+QUEUED\r\n"
        r = c.cmd("SET", b, "2")
        assert r.raw == CROSSSLOT, f"queued command for another slot: {fmt_raw(r.raw)}"
        assert c.cmd("GET", a).raw == b"+QUEUED\r\n"
        r = c.cmd("EXEC")
        assert r.raw == b"-EXECABORT Transaction discarded because of previous errors.\r\n", \
            fmt_raw(r.raw)
        assert c.cmd("EXISTS", a).raw == b":0\r\n" and c.cmd("EXISTS", b).raw == b":0\r\n"
        assert c.cmd("EXEC").raw == b"-ERR EXEC without MULTI\r\n"
    # A multi-key command spanning slots inside MULTI is refused the same way.
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("MGET", a, b_other_node).raw == CROSSSLOT
    assert c.cmd("EXEC").raw.startswith(b"-EXECABORT")
    # Keyless first, then a key: the key fixes the slot.
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("PING").raw == b"+QUEUED\r\n"
    assert c.cmd("SET", b_other_node, "x").raw == b"+QUEUED\r\n"
    assert c.cmd("SET", a, "x").raw == CROSSSLOT
    assert c.cmd("DISCARD").raw == b"+OK\r\n"
    assert c.cmd("EXISTS", a, b_other_node).raw == b":0\r\n"
    assert px.cluster.total_keys() == 0


def multi_script(t):
    k = lambda n: f"{{{t}}}{n}"  # noqa: E731
    return [
        ("MULTI",), ("SET", k("a"), "1"), ("INCR", k("a")), ("LPUSH", k("a"), "x"),
        ("GET", k("a")), ("EXEC",),                              # runtime error inside EXEC
        ("MULTI",), ("SET", k("b"), "1"), ("NOSUCHCMD", "x"), ("EXEC",),   # unknown: abort
        ("MULTI",), ("SET", k("b"), "1"), ("GET",), ("EXEC",),             # arity: abort
        ("GET", k("b")),
        ("MULTI",), ("MULTI",), ("WATCH", k("a")), ("SET", k("c"), "3"), ("EXEC",),
        ("EXEC",), ("DISCARD",), ("MULTI",), ("SET", k("d"), "4"), ("DISCARD",), ("GET", k("d")),
        ("WATCH", k("a")), ("UNWATCH",), ("MULTI",), ("EXEC",),
        ("MULTI",), ("BLPOP", k("empty"), 1), ("BZPOPMIN", k("empty"), 1), ("EXEC",),
        ("MULTI",), ("HSET", k("h"), "f", "v"), ("HGETALL", k("h")), ("SMEMBERS", k("nos")),
        ("ZADD", k("z"), "1.5", "m"), ("ZSCORE", k("z"), "m"), ("EXEC",),
    ]


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_multi_semantics_match_standalone(px, ref, resp3):
    p, r = px.proxy.raw(), ref.raw()
    if resp3:
        for c in (p, r):
            assert c.cmd("HELLO", "3").type == "%"
    bad = differential(p, r, multi_script("mx3" if resp3 else "mx2"))
    assert not bad, "MULTI replies differ from a standalone server:\n" + "\n".join(bad)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_watch(px, resp3):
    a, b = px.proxy.raw(), px.proxy.raw()
    if resp3:
        assert a.cmd("HELLO", "3").type == "%"
    k = tag_on(px.cluster, 1, "w3" if resp3 else "w2")
    # Touched by another client: EXEC aborts with a null.
    assert a.cmd("WATCH", k(1), k(2)).raw == b"+OK\r\n"
    assert a.cmd("GET", k(1)).type in "$_"
    assert b.cmd("SET", k(2), "theirs").raw == b"+OK\r\n"
    assert a.cmd("MULTI").raw == b"+OK\r\n"
    assert a.cmd("SET", k(1), "mine").raw == b"+QUEUED\r\n"
    assert a.cmd("EXEC").raw == (b"_\r\n" if resp3 else b"*-1\r\n")
    assert b.cmd("EXISTS", k(1)).raw == b":0\r\n"
    # Untouched: EXEC runs.
    assert a.cmd("WATCH", k(1)).raw == b"+OK\r\n"
    assert b.cmd("SET", k(3), "other key, same slot").raw == b"+OK\r\n"
    assert a.cmd("MULTI").raw == b"+OK\r\n"
    assert a.cmd("SET", k(1), "mine").raw == b"+QUEUED\r\n"
    assert a.cmd("EXEC").raw == b"*1\r\n+OK\r\n"
    assert px.cluster.get_direct(k(1)) == "mine"
    # WATCH then UNWATCH: a change no longer aborts.
    assert a.cmd("WATCH", k(1)).raw == b"+OK\r\n"
    assert a.cmd("UNWATCH").raw == b"+OK\r\n"
    assert b.cmd("SET", k(1), "theirs").raw == b"+OK\r\n"
    assert a.cmd("MULTI").raw == b"+OK\r\n"
    assert a.cmd("INCR", k(4)).raw == b"+QUEUED\r\n"
    assert a.cmd("EXEC").raw == b"*1\r\n:1\r\n"


def test_concurrent_transactions_are_atomic(px):
    k = tag_on(px.cluster, 2, "cc")
    errors = []

    def worker(n):
        try:
            with px.proxy.raw(timeout=10) as c:
                for i in range(40):
                    assert c.cmd("MULTI").raw == b"+OK\r\n"
                    assert c.cmd("INCR", k("counter")).raw == b"+QUEUED\r\n"
                    assert c.cmd("RPUSH", k("log"), f"{n}:{i}").raw == b"+QUEUED\r\n"
                    r = c.cmd("EXEC")
                    assert r.type == "*" and len(r.value) == 2, fmt_raw(r.raw)
                    # Within one EXEC, INCR's value and the list length move together.
                    assert r.value[0].value == r.value[1].value, fmt_raw(r.raw)
                    assert c.cmd("SET", f"plain:{n}:{i}", "x").raw == b"+OK\r\n"
        except Exception as e:  # noqa: BLE001
            errors.append(f"worker {n}: {e!r}")
    ts = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(40)
    assert not any(t.is_alive() for t in ts), "transactions hung"
    assert not errors, errors[:5]
    c = px.proxy.raw()
    assert c.cmd("GET", k("counter")).raw == b"$3\r\n480\r\n"
    assert c.cmd("LLEN", k("log")).raw == b":480\r\n"


def test_client_leaving_mid_transaction_applies_nothing(px):
    k = tag_on(px.cluster, 0, "gone")
    c = px.proxy.raw()
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("SET", k(1), "x").raw == b"+QUEUED\r\n"
    c.close()
    time.sleep(0.3)
    d = px.proxy.raw()
    assert d.cmd("EXISTS", k(1)).raw == b":0\r\n"
    assert d.cmd("MULTI").raw == b"+OK\r\n"
    assert d.cmd("SET", k(2), "y").raw == b"+QUEUED\r\n"
    assert d.cmd("EXEC").raw == b"*1\r\n+OK\r\n"
    assert px.cluster.total_keys() == 1


# ---------------------------------------------------------------------------
# Blocking commands

def timed_reply(conn, timeout):
    t0 = time.monotonic()
    r = conn.read_reply(timeout)
    return r, time.monotonic() - t0


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_blocking_timeouts(px, resp3):
    c = px.proxy.raw()
    if resp3:
        assert c.cmd("HELLO", "3").type == "%"
    nil = b"_\r\n" if resp3 else b"*-1\r\n"
    k = tag_on(px.cluster, 0, "bt")
    for cmd, want in [(("BLPOP", k(1), "0.3"), nil), (("BRPOP", k(1), k(2), "0.3"), nil),
                      # a timed-out BLMOVE/BRPOPLPUSH answers a null *array* in RESP2
                      (("BLMOVE", k(1), k(2), "LEFT", "RIGHT", "0.3"), nil),
                      (("BRPOPLPUSH", k(1), k(2), "0.3"), nil),
                      (("BLMPOP", "0.3", 2, k(1), k(2), "LEFT"), nil),
                      (("BZPOPMIN", k(3), "0.3"), nil), (("BZPOPMAX", k(3), "0.3"), nil),
                      (("BZMPOP", "0.3", 1, k(3), "MIN"), nil)]:
        c.send_command(*cmd)
        r, dt = timed_reply(c, 5)
        assert r.raw == want, f"{cmd}: {fmt_raw(r.raw)}"
        assert 0.2 < dt < 2.5, f"{cmd}: answered after {dt:.2f}s"
    for cmd, want in [(("BLPOP", k(1), "-1"), b"-ERR timeout is negative\r\n"),
                      (("BLPOP", k(1), "x"), b"-ERR timeout is not a float or out of range\r\n")]:
        assert c.cmd(*cmd).raw == want
    assert c.cmd("PING").raw == b"+PONG\r\n"


def test_blocking_crossslot(px):
    c = px.proxy.raw()
    a = px.cluster.keys_on(px.cluster.masters[0], 1, "ba")[0]
    b = px.cluster.keys_on(px.cluster.masters[1], 1, "bb")[0]
    for cmd in [("BLPOP", a, b, 5), ("BRPOP", a, b, 5), ("BLMOVE", a, b, "LEFT", "LEFT", 5),
                ("BRPOPLPUSH", a, b, 5), ("BLMPOP", 5, 2, a, b, "LEFT"),
                ("BZPOPMIN", a, b, 5), ("BZPOPMAX", a, b, 5), ("BZMPOP", 5, 2, a, b, "MIN")]:
        t0 = time.monotonic()
        r = c.cmd(*cmd, timeout=3)
        assert r.raw == CROSSSLOT, f"{cmd}: {fmt_raw(r.raw)}"
        assert time.monotonic() - t0 < 1.0


def wake_case(px, blocker, pusher, timeout=5):
    """Send `blocker` on one connection, then `pusher` on another after 0.2 s; returns the
    blocked connection's reply and how long after the push it came."""
    a, b = px.proxy.raw(timeout=10), px.proxy.raw(timeout=10)
    a.send_command(*blocker)
    time.sleep(0.2)
    with pytest.raises(TimeoutError):
        a.read_reply(0.01)  # still blocked
    r = b.cmd(*pusher)
    assert not r.is_error, f"{pusher}: {fmt_raw(r.raw)}"
    got, dt = timed_reply(a, timeout)
    return got, dt


def test_blocking_wakeup_through_proxy(px):
    for i in range(3):  # one case per master
        k = tag_on(px.cluster, i, "wk")
        got, dt = wake_case(px, ("BLPOP", k(1), k(2), 5), ("RPUSH", k(2), "v1"))
        assert got.raw == resp(k(2), "v1") and dt < 1.0, (fmt_raw(got.raw), dt)
        got, dt = wake_case(px, ("BRPOP", k(1), 0), ("LPUSH", k(1), "a", "b"))
        assert got.raw == resp(k(1), "a") and dt < 1.0, (fmt_raw(got.raw), dt)
        c = px.proxy.raw()
        assert c.cmd("LRANGE", k(1), 0, -1).raw == resp("b")
        got, dt = wake_case(px, ("BLMOVE", k(3), k(4), "LEFT", "RIGHT", 5),
                            ("RPUSH", k(3), "m1", "m2"))
        assert got.raw == b"$2\r\nm1\r\n" and dt < 1.0
        assert c.cmd("LRANGE", k(4), 0, -1).raw == resp("m1")
        got, dt = wake_case(px, ("BRPOPLPUSH", k(5), k(4), 5), ("RPUSH", k(5), "r"))
        assert got.raw == b"$1\r\nr\r\n" and dt < 1.0
        got, dt = wake_case(px, ("BLMPOP", 5, 2, k(6), k(7), "RIGHT", "COUNT", 2),
                            ("RPUSH", k(7), "p", "q", "r"))
        assert got.raw == resp(k(7), Raw(resp("r", "q"))) and dt < 1.0
        got, dt = wake_case(px, ("BZPOPMIN", k(8), 5), ("ZADD", k(8), 2, "two", 1, "one"))
        assert got.raw == resp(k(8), "one", "1") and dt < 1.0
        got, dt = wake_case(px, ("BZPOPMAX", k(10), 5), ("ZADD", k(10), 3, "three"))
        assert got.raw == resp(k(10), "three", "3") and dt < 1.0
        got, dt = wake_case(px, ("BZMPOP", 5, 1, k(9), "MIN"), ("ZADD", k(9), 7, "s"))
        assert got.raw == resp(k(9), Raw(resp(Raw(resp("s", "7"))))) and dt < 1.0


def test_blocking_nonblocking_paths_match_standalone(px, ref):
    p, r = px.proxy.raw(), ref.raw()
    k = lambda n: f"{{nb}}{n}"  # noqa: E731
    script = [("RPUSH", k(1), "a", "b", "c"), ("BLPOP", k(0), k(1), 1), ("BRPOP", k(1), 1),
              ("BLMOVE", k(1), k(2), "RIGHT", "LEFT", 1), ("BRPOPLPUSH", k(2), k(3), 1),
              ("RPUSH", k(4), 1, 2, 3), ("BLMPOP", 1, 2, k(0), k(4), "LEFT", "COUNT", 5),
              ("ZADD", k(5), 1, "a", "2.5", "b", 3, "c"), ("BZPOPMIN", k(5), 1),
              ("BZPOPMAX", k(0), k(5), 1), ("BZMPOP", 1, 1, k(5), "MAX", "COUNT", 3),
              ("SET", k(6), "str"), ("BLPOP", k(6), 1), ("BZPOPMIN", k(6), 1)]
    for proto in ("2", "3"):
        assert p.cmd("HELLO", proto).type in "*%" and r.cmd("HELLO", proto).type in "*%"
        bad = differential(p, r, script)
        assert not bad, f"RESP{proto}:\n" + "\n".join(bad)
        p.cmd("DEL", k(1), k(2), k(3), k(4), k(5), k(6))
        r.cmd("DEL", k(1), k(2), k(3), k(4), k(5), k(6))


def test_blocked_clients_hold_up_nobody(px):
    """Blocked clients on every master; other clients' requests to the same masters (the
    same worker threads) are answered at once; then every blocked client is woken by its
    own push."""
    blocked = []
    for i in range(3):
        for j in range(4):
            k = px.cluster.keys_on(px.cluster.masters[i], 4, f"hb{i}")[j]
            c = px.proxy.raw(timeout=10)
            c.send_command("BLPOP", k, 8)
            blocked.append((c, k))
    time.sleep(0.2)
    other = [px.proxy.raw() for _ in range(4)]
    worst = 0.0
    for n in range(60):
        c = other[n % 4]
        key = px.cluster.keys_on(px.cluster.masters[n % 3], 1, f"free{n}")[0]
        t0 = time.monotonic()
        assert c.cmd("SET", key, n, timeout=3).raw == b"+OK\r\n"
        assert c.cmd("GET", key, timeout=3).raw == b"$%d\r\n%d\r\n" % (len(str(n)), n)
        worst = max(worst, time.monotonic() - t0)
    assert worst < 0.5, f"a request took {worst:.2f}s while others were blocked"
    pusher = px.proxy.raw()
    for c, k in blocked:
        assert pusher.cmd("RPUSH", k, "v-" + k).raw == b":1\r\n"
    for c, k in blocked:
        r = c.read_reply(3)
        assert r.raw == resp(k, "v-" + k), fmt_raw(r.raw)


def test_blocked_client_that_leaves_consumes_nothing(px):
    k = tag_on(px.cluster, 1, "lv")
    a = px.proxy.raw()
    a.send_command("BLPOP", k(1), 10)
    a2 = px.proxy.raw()
    a2.send_command("BZPOPMIN", k(2), 10)
    time.sleep(0.2)
    a.close()
    a2.close()
    time.sleep(0.4)
    b = px.proxy.raw()
    assert b.cmd("RPUSH", k(1), "precious").raw == b":1\r\n"
    assert b.cmd("ZADD", k(2), 1, "precious").raw == b":1\r\n"
    time.sleep(0.4)
    assert b.cmd("LRANGE", k(1), 0, -1).raw == resp("precious"), \
        "the element was popped by a backend connection of a client that left"
    assert b.cmd("ZCARD", k(2)).raw == b":1\r\n"


# ---------------------------------------------------------------------------
# Pub/sub

def read_until(conn, n, timeout=3.0):
    """n replies/pushes within timeout (raises TimeoutError with what came)."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        try:
            out.append(conn.read_reply(max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            raise TimeoutError(f"got {len(out)}/{n}: {[fmt_raw(x.raw) for x in out]}")
    return out


def test_subscribe_publish_resp2(px, ref):
    s, p = px.proxy.raw(), px.proxy.raw()
    s.send_command("SUBSCRIBE", "ch1", "ch2")
    assert [x.raw for x in read_until(s, 2)] == [resp("subscribe", "ch1", 1),
                                                 resp("subscribe", "ch2", 2)]
    # Subscribed-mode rules of RESP2, as a standalone server has them.
    rs = ref.raw()
    rs.send_command("SUBSCRIBE", "ch1", "ch2")
    read_until(rs, 2)
    for cmd in [("PING",), ("PING", "x"), ("GET", "k")]:
        want = rs.cmd(*cmd)
        got = s.cmd(*cmd)
        assert got.raw == want.raw, f"{cmd}: proxy {fmt_raw(got.raw)} ref {fmt_raw(want.raw)}"
    msgs = [f"hello-{i}" for i in range(30)]
    for m in msgs:
        r = p.cmd("PUBLISH", "ch1" if int(m[6:]) % 2 else "ch2", m)
        assert r.type == ":", fmt_raw(r.raw)
    got = read_until(s, 30)
    want = {resp("message", "ch1" if int(m[6:]) % 2 else "ch2", m) for m in msgs}
    assert {x.raw for x in got} == want
    # PUBLISH reaches subscribers whichever node they are leased to.
    others = [px.proxy.raw() for _ in range(6)]
    for o in others:
        o.send_command("SUBSCRIBE", "fan")
        read_until(o, 1)
    p.cmd("PUBLISH", "fan", "to-all")
    for o in others:
        assert read_until(o, 1)[0].raw == resp("message", "fan", "to-all")
    s.send_command("UNSUBSCRIBE", "ch1")
    assert read_until(s, 1)[0].raw == resp("unsubscribe", "ch1", 1)
    p.cmd("PUBLISH", "ch1", "not for you")
    p.cmd("PUBLISH", "ch2", "for you")
    assert read_until(s, 1)[0].raw == resp("message", "ch2", "for you")
    s.send_command("UNSUBSCRIBE")
    assert read_until(s, 1)[0].raw == resp("unsubscribe", "ch2", 0)
    # Back to normal.
    assert s.cmd("SET", "after-sub", "1").raw == b"+OK\r\n"
    assert s.cmd("GET", "after-sub").raw == b"$1\r\n1\r\n"


def test_psubscribe(px):
    s, p = px.proxy.raw(), px.proxy.raw()
    s.send_command("PSUBSCRIBE", "news.*", "x?")
    assert [x.raw for x in read_until(s, 2)] == [resp("psubscribe", "news.*", 1),
                                                 resp("psubscribe", "x?", 2)]
    s.send_command("SUBSCRIBE", "news.sport")
    assert read_until(s, 1)[0].raw == resp("subscribe", "news.sport", 3)
    p.cmd("PUBLISH", "news.sport", "goal")
    got = {x.raw for x in read_until(s, 2)}
    assert got == {resp("pmessage", "news.*", "news.sport", "goal"),
                   resp("message", "news.sport", "goal")}
    p.cmd("PUBLISH", "xy", "1")
    assert read_until(s, 1)[0].raw == resp("pmessage", "x?", "xy", "1")
    s.send_command("PUNSUBSCRIBE", "news.*")
    assert read_until(s, 1)[0].raw == resp("punsubscribe", "news.*", 2)
    s.send_command("PUNSUBSCRIBE")
    s.send_command("UNSUBSCRIBE")
    assert [x.raw for x in read_until(s, 2)] == [resp("punsubscribe", "x?", 1),
                                                 resp("unsubscribe", "news.sport", 0)]
    assert s.cmd("PING").raw == b"+PONG\r\n"


def test_ssubscribe_by_slot(px):
    for i in range(3):
        ch = px.cluster.keys_on(px.cluster.masters[i], 1, "shard")[0]
        ch2 = other_slot_key(px.cluster, (i + 1) % 3, ch, "shard2")
        s, p = px.proxy.raw(), px.proxy.raw()
        assert s.cmd("SSUBSCRIBE", ch, ch2).raw == CROSSSLOT
        s.send_command("SSUBSCRIBE", ch)
        assert read_until(s, 1)[0].raw == resp("ssubscribe", ch, 1)
        r = p.cmd("SPUBLISH", ch, "shard-msg")
        assert r.raw == b":1\r\n", f"SPUBLISH must reach the slot's master: {fmt_raw(r.raw)}"
        assert read_until(s, 1)[0].raw == resp("smessage", ch, "shard-msg")
        assert p.cmd("SPUBLISH", ch2, "elsewhere").raw == b":0\r\n"
        s.send_command("SUNSUBSCRIBE", ch)
        assert read_until(s, 1)[0].raw == resp("sunsubscribe", ch, 0)
        assert s.cmd("PING").raw == b"+PONG\r\n"


def test_pubsub_resp3_push(px):
    s, p = px.proxy.raw(), px.proxy.raw()
    assert s.cmd("HELLO", "3").type == "%"
    s.send_command("SUBSCRIBE", "r3")
    assert read_until(s, 1)[0].raw == resp("subscribe", "r3", 1, kind=">")
    # RESP3 allows any command while subscribed; pushes interleave with replies.
    assert s.cmd("SET", "r3key", "v").raw == b"+OK\r\n"
    assert s.cmd("GET", "r3key").raw == b"$1\r\nv\r\n"
    assert s.cmd("GET", "r3none").raw == b"_\r\n"
    assert s.cmd("PING").raw == b"+PONG\r\n"
    p.cmd("PUBLISH", "r3", "pushed")
    assert read_until(s, 1)[0].raw == resp("message", "r3", "pushed", kind=">")
    s.send_command("PSUBSCRIBE", "r*")
    assert read_until(s, 1)[0].raw == resp("psubscribe", "r*", 2, kind=">")
    p.cmd("PUBLISH", "r3", "both")
    got = {x.raw for x in read_until(s, 2)}
    assert got == {resp("message", "r3", "both", kind=">"),
                   resp("pmessage", "r*", "r3", "both", kind=">")}
    ch = px.cluster.keys_on(px.cluster.masters[2], 1, "s3")[0]
    s.send_command("SSUBSCRIBE", ch)
    assert read_until(s, 1)[0].raw == resp("ssubscribe", ch, 1, kind=">")
    assert p.cmd("SPUBLISH", ch, "sm").raw == b":1\r\n"
    assert read_until(s, 1)[0].raw == resp("smessage", ch, "sm", kind=">")
    s.send_command("UNSUBSCRIBE")
    assert read_until(s, 1)[0].raw == resp("unsubscribe", "r3", 1, kind=">")
    assert s.cmd("HGETALL", "nohash").raw == b"%0\r\n"


def test_subscriber_leaving_is_cleaned_up(px):
    for _ in range(20):
        s = px.proxy.raw()
        s.send_command("SUBSCRIBE", "churn")
        read_until(s, 1)
        s.close()
    p = px.proxy.raw()

    def gone():
        # Subscribers live on some node; the sum over masters counts them.
        return sum(n.call("PUBSUB", "NUMSUB", "churn")[1] for n in px.cluster.masters) == 0
    wait_for(gone, 5, what="backend subscriptions released after clients left")
    assert p.cmd("PUBLISH", "churn", "x").type == ":"


# ---------------------------------------------------------------------------
# requirepass on the proxy

NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


@pytest.fixture
def authproxy(request, env):
    attach(request, env.cluster.nodes)
    pf = ProxyFactory(request)
    p = pf.start(env.cluster, password="s3cret pass")
    yield p
    pf.teardown()


def test_requirepass(authproxy, env):
    env.cluster.flushall()
    c = authproxy.raw()
    assert c.cmd("PING").raw == NOAUTH
    assert c.cmd("GET", "k").raw == NOAUTH
    assert c.cmd("MGET", "a", "b").raw == NOAUTH
    assert c.cmd("SUBSCRIBE", "x").raw == NOAUTH
    assert c.cmd("MULTI").raw == NOAUTH
    r = c.cmd("HELLO", "3")
    assert r.raw.startswith(b"-NOAUTH HELLO must be called with the client already "
                            b"authenticated"), fmt_raw(r.raw)
    assert c.cmd("AUTH", "wrong").raw == WRONGPASS
    assert c.cmd("AUTH", "default", "wrong").raw == WRONGPASS
    assert c.cmd("AUTH", "bob", "s3cret pass").raw == WRONGPASS
    assert c.cmd("GET", "k").raw == NOAUTH
    assert c.cmd("AUTH", "s3cret pass").raw == b"+OK\r\n"
    assert c.cmd("PING").raw == b"+PONG\r\n"
    for k, v in (("a1", "1"), ("b1", "2"), ("c1", "3")):  # three masters
        assert c.cmd("SET", k, v).raw == b"+OK\r\n"
    assert env.cluster.total_keys() == 3
    assert c.cmd("MGET", "a1", "b1", "c1").raw == resp("1", "2", "3")
    c2 = authproxy.raw()
    assert c2.cmd("AUTH", "default", "s3cret pass").raw == b"+OK\r\n"
    assert c2.cmd("GET", "a1").raw == b"$1\r\n1\r\n"
    c3 = authproxy.raw()
    h = c3.cmd("HELLO", "3", "AUTH", "default", "s3cret pass")
    assert h.type == "%", fmt_raw(h.raw)
    assert c3.cmd("GET", "none").raw == b"_\r\n"
    c4 = authproxy.raw()
    c4.send(b'AUTH "s3cret pass"\r\nGET a1\r\n')  # inline, as telnet would
    assert [x.raw for x in c4.read_replies(2)] == [b"+OK\r\n", b"$1\r\n1\r\n"]
    ok = redis.Redis(host="127.0.0.1", port=authproxy.port, password="s3cret pass",
                     socket_timeout=5)
    assert ok.get("b1") == b"2"
    ok.close()
    bad = redis.Redis(host="127.0.0.1", port=authproxy.port, socket_timeout=5)
    with pytest.raises(redis.exceptions.AuthenticationError):
        bad.get("b1")
    bad.close()


def test_auth_without_requirepass_matches_standalone(px, ref):
    p, r = px.proxy.raw(), ref.raw()
    for cmd in [("AUTH", "x"), ("AUTH", "default", "x"), ("AUTH",)]:
        want, got = r.cmd(*cmd), p.cmd(*cmd)
        assert got.raw == want.raw, f"{cmd}: proxy {fmt_raw(got.raw)} ref {fmt_raw(want.raw)}"


# ---------------------------------------------------------------------------
# Backend credentials

BACKEND_PASS = "backend-secret"


@pytest.fixture(scope="module")
def authenv(request, env):
    """A cluster of the module's kind whose nodes require a password, with a proxy that
    knows it (--backend-password) and asks clients for none."""
    yield from proxy_env(request, env.kind, ("--backend-password", BACKEND_PASS),
                         password=BACKEND_PASS)


def test_backend_password_every_mode(request, authenv):
    attach(request, authenv.cluster.nodes + authenv.pf.made)
    cl, proxy = authenv.cluster, authenv.proxy
    cl.flushall()
    c = proxy.raw()
    # A node refuses the client without the password: the proxy authenticates for it.
    with RawConn(cl.masters[0].port) as plain:
        assert plain.cmd("GET", "x").raw == NOAUTH
    keys = [key_in_slot(s, "bk") for s in range(0, 16384, 700)]
    args = []
    for k in keys:
        args += [k, "v" + k]
    assert c.cmd("MSET", *args).raw == b"+OK\r\n"
    assert c.cmd("MGET", *keys).to_py() == [("v" + k).encode() for k in keys]
    assert c.cmd("DBSIZE").raw == b":%d\r\n" % len(keys)
    assert len(c.cmd("KEYS", "*").value) == len(keys)
    assert cl.total_keys() == len(keys)
    # MULTI on a leased connection
    k = lambda n: f"{{bt}}{n}"  # noqa: E731
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("INCR", k(1)).raw == b"+QUEUED\r\n"
    assert c.cmd("EXEC").raw == b"*1\r\n:1\r\n"
    # blocking
    a = proxy.raw()
    a.send_command("BLPOP", k(2), 5)
    time.sleep(0.2)
    assert c.cmd("RPUSH", k(2), "w").raw == b":1\r\n"
    assert a.read_reply(3).raw == resp(k(2), "w")
    # pub/sub
    s = proxy.raw()
    s.send_command("SUBSCRIBE", "bch")
    assert read_until(s, 1)[0].raw == resp("subscribe", "bch", 1)
    c.cmd("PUBLISH", "bch", "m")
    assert read_until(s, 1)[0].raw == resp("message", "bch", "m")
    s2 = proxy.raw()
    s2.send_command("SSUBSCRIBE", k(3))
    assert read_until(s2, 1)[0].raw == resp("ssubscribe", k(3), 1)
    assert c.cmd("SPUBLISH", k(3), "sm").raw == b":1\r\n"
    assert read_until(s2, 1)[0].raw == resp("smessage", k(3), "sm")
    # SCAN walks every (password-protected) master
    seen, cur = set(), b"0"
    for _ in range(1000):
        r = c.cmd("SCAN", cur, "COUNT", 100).value
        cur = r[0].value
        seen |= {x.value.decode() for x in r[1].value}
        if cur == b"0":
            break
    assert set(keys) <= seen
    authenv.pf.check_alive()


def test_wrong_backend_password_errors_not_hangs(request, authenv):
    attach(request, authenv.cluster.nodes)
    pf = ProxyFactory(request)
    try:
        p = pf.start(authenv.cluster, "--backend-password", "not-it", "--request-timeout-ms",
                     2000, routable=False)
        c = p.raw(timeout=10)
        for cmd in [("GET", "k"), ("MGET", "a", "b", "c"), ("SET", "k", "v"), ("DBSIZE",)]:
            t0 = time.monotonic()
            r = c.cmd(*cmd, timeout=10)
            dt = time.monotonic() - t0
            assert r.is_error, f"{cmd} through a proxy with a wrong backend password: " \
                               f"{fmt_raw(r.raw)}"
            assert dt < 6, f"{cmd}: error after {dt:.1f}s"
        assert c.cmd("PING").raw == b"+PONG\r\n"
    finally:
        pf.teardown()

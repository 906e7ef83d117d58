"""shoal-proxy's command modules, focused checks: proxy/fanout.c (multi-key commands split by
slot and merged, whole-cluster commands) and proxy/lease.c (transactions, blocking commands and
pub/sub on dedicated backend connections), in front of a Shoal cluster and a Redis 7.0 cluster
(3 masters, one replica each where the kind has replication).

* Split: MGET/MSET/DEL/UNLINK/EXISTS/TOUCH over many slots, duplicates, client key order,
  RESP2/RESP3; a failing part (OOM on one master) becomes the reply.
* Whole cluster: SCAN's cursor walks the masters one after the other (master index in the
  cursor's high bits, 0 only at the very end, MATCH/TYPE passed on); DBSIZE, KEYS, RANDOMKEY,
  FLUSHDB/FLUSHALL; INFO's Keyspace summed over masters; PUBSUB NUMSUB/CHANNELS/NUMPAT summed
  over the masters the subscribers are spread on.
* Transactions: keyless commands before the first key, refusals that abort (EXECABORT) and
  errors that do not (nested MULTI, WATCH inside MULTI), CLIENT LIST's multi=, WATCH fixing
  the slot, a slot that moves during the transaction (clear error, then EXECABORT).
* Blocking: pipelined blocking commands to one node run in order; the lease is released.
* Pub/sub: RESP2 subscribed-mode rules follow the subscriptions as Redis will see them
  (pipelined SUBSCRIBE+UNSUBSCRIBE+GET), local answers when nothing is subscribed, shard
  subscriptions on two nodes with the client's total count, a shard channel dropped when its
  slot moves, HELLO 2 while subscribed, RESET out of every mode.
* A master killed under leases: a blocked client gets an error (no hang), a shard subscriber
  is told its channel is gone, a transaction aborts at EXEC; the proxy keeps serving.
"""

import time

import pytest

from conftest import RawConn, fmt_raw
from cluster_util import ClusterFactory, wait_for
from proxy_util import (CROSSSLOT, backend_params, build_cluster, key_in_slot, proxy_env, proxy_px,
                        ProxyFactory, Raw, resp, spread_keys,
                        supports_command)

EXECABORT = b"-EXECABORT Transaction discarded because of previous errors.\r\n"
SCAN_SHIFT = 54


@pytest.fixture(scope="module", params=backend_params())
def env(request):
    yield from proxy_env(request)


@pytest.fixture
def px(request, env):
    yield from proxy_px(request, env)


def hello3(c):
    assert c.cmd("HELLO", "3").type == "%"


def tag_on(cluster, i, name):
    """A hash-tagged key builder for one slot served by master i."""
    k = cluster.keys_on(cluster.masters[i], 1, "tg")[0]
    tag = k[1:k.index("}")]
    return lambda n: f"{{{tag}}}{name}{n}"


def read_n(conn, n, timeout=3.0):
    out, deadline = [], time.monotonic() + timeout
    while len(out) < n:
        try:
            out.append(conn.read_reply(max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            raise TimeoutError(f"got {len(out)}/{n}: {[fmt_raw(x.raw) for x in out]}")
    return out


def client_field(proxy, cid, field):
    """A field of CLIENT LIST's line for client id cid (asked on a fresh connection)."""
    with proxy.raw() as c:
        text = c.cmd("CLIENT", "LIST").value.decode()
    for line in text.splitlines():
        kv = dict(p.split("=", 1) for p in line.split(" ") if "=" in p)
        if kv.get("id") == str(cid):
            return kv.get(field)
    return None


def move_slot(cluster, slot, to_node):
    """Bind an empty slot to another master with CLUSTER SETSLOT NODE on every master."""
    nid = to_node.myid()
    for n in cluster.masters:
        r = n.call("CLUSTER", "SETSLOT", slot, "NODE", nid)
        assert r == "OK", f"SETSLOT on {n.name}: {r!r}"


# ---------------------------------------------------------------------------
# Split by slot

@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_split_merge_order(px, resp3):
    c = px.proxy.raw()
    if resp3:
        hello3(c)
    nil = Raw(b"_\r\n" if resp3 else b"$-1\r\n")
    keys = spread_keys(60, "sp")
    args = []
    for i, k in enumerate(keys):
        args += [k, f"v{i}"]
    args += [keys[0], "again"]                 # the same key twice: the last value wins
    assert c.cmd("MSET", *args).raw == b"+OK\r\n"
    for k in keys[1:10]:
        assert px.cluster.get_direct(k) == f"v{keys.index(k)}"
    assert px.cluster.get_direct(keys[0]) == "again"
    ask = [keys[5], "missing1", keys[59], keys[5], key_in_slot(777, "none"), keys[0], keys[30]]
    want = resp(Raw(resp("v5")[4:]), nil, Raw(resp("v59")[4:]), Raw(resp("v5")[4:]), nil,
                Raw(resp("again")[4:]), Raw(resp("v30")[4:]))
    assert c.cmd("MGET", *ask).raw == want
    assert c.cmd("EXISTS", keys[1], keys[1], "nope", keys[40]).raw == b":3\r\n"
    assert c.cmd("TOUCH", *keys[:20], "nope").raw == b":20\r\n"
    assert c.cmd("DEL", keys[1], keys[1], keys[2], "nope").raw == b":2\r\n"
    assert c.cmd("UNLINK", *keys[3:13]).raw == b":10\r\n"
    assert c.cmd("EXISTS", *keys).raw == b":48\r\n"
    assert c.cmd("MSET", keys[0], "x", keys[40]).raw == \
        b"-ERR wrong number of arguments for 'mset' command\r\n"
    assert c.cmd("DBSIZE").raw == b":48\r\n"


def test_split_part_error(px):
    """One master refuses writes (maxmemory 1, noeviction): the MSET reports its error;
    the reads still merge."""
    victim = px.cluster.masters[1]
    r = victim.call("CONFIG", "SET", "maxmemory", "1")
    if r != "OK":
        pytest.skip(f"{px.kind}: CONFIG SET maxmemory not supported ({r!r})")
    try:
        victim.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
        c = px.proxy.raw()
        keys = spread_keys(12, "oom")
        args = [x for i, k in enumerate(keys) for x in (k, i)]
        r = c.cmd("MSET", *args)
        assert r.raw.startswith(b"-OOM"), fmt_raw(r.raw)
        r = c.cmd("MGET", *keys)
        assert r.type == "*" and len(r.value) == len(keys), fmt_raw(r.raw)
        assert c.cmd("DEL", *keys).type == ":"
    finally:
        victim.call("CONFIG", "SET", "maxmemory", "0")


# ---------------------------------------------------------------------------
# Whole cluster

def test_scan_walks_every_master(px):
    c = px.proxy.raw()
    keys = set(spread_keys(300, "sc"))
    for i, k in enumerate(sorted(keys)):
        c.send_command("SET", k, i)
    assert all(r.raw == b"+OK\r\n" for r in c.read_replies(len(keys)))
    for i in range(5):
        assert c.cmd("HSET", f"{{h{i}}}hash", "f", "v").raw == b":1\r\n"
    seen, cur, masters_seen, steps = [], 0, [], 0
    while True:
        r = c.cmd("SCAN", cur, "COUNT", 25)
        assert r.type == "*" and len(r.value) == 2, fmt_raw(r.raw)
        cur = int(r.value[0].value)
        seen += [x.value.decode() for x in r.value[1].value]
        steps += 1
        assert steps < 500, "SCAN does not finish"
        if cur == 0:
            break
        mi = cur >> SCAN_SHIFT
        assert mi < 3, f"cursor {cur}: master index {mi}"
        assert not masters_seen or mi >= masters_seen[-1], "SCAN went back to an earlier master"
        masters_seen.append(mi)
    assert set(seen) >= keys and len(set(seen)) == len(keys) + 5
    assert {1, 2} <= set(masters_seen), masters_seen
    # MATCH and TYPE are passed on to every master.
    got, cur = set(), 0
    while True:
        r = c.cmd("SCAN", cur, "MATCH", "*hash", "TYPE", "hash", "COUNT", 1000)
        cur = int(r.value[0].value)
        got |= {x.value.decode() for x in r.value[1].value}
        if cur == 0:
            break
    assert got == {f"{{h{i}}}hash" for i in range(5)}
    assert c.cmd("SCAN", "abc").raw == b"-ERR invalid cursor\r\n"
    assert c.cmd("SCAN", "18446744073709551616").raw == b"-ERR invalid cursor\r\n"
    assert c.cmd("SCAN", 7 << SCAN_SHIFT).raw == resp("0", Raw(b"*0\r\n"))
    r = c.cmd("SCAN", 0, "COUNT", "x")
    assert r.raw == b"-ERR value is not an integer or out of range\r\n", fmt_raw(r.raw)


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_whole_cluster_commands(px, resp3):
    c = px.proxy.raw()
    if resp3:
        hello3(c)
    assert c.cmd("DBSIZE").raw == b":0\r\n"
    assert c.cmd("RANDOMKEY").raw == (b"_\r\n" if resp3 else b"$-1\r\n")
    assert c.cmd("KEYS", "*").raw == b"*0\r\n"
    keys = spread_keys(30, "wc")
    assert c.cmd("MSET", *[x for k in keys for x in (k, 1)]).raw == b"+OK\r\n"
    assert c.cmd("DBSIZE").raw == b":30\r\n"
    assert c.cmd("KEYS", "wc*").raw == b"*0\r\n"      # the keys start with their hash tag
    r = c.cmd("KEYS", "*wc1*")
    assert sorted(x.value.decode() for x in r.value) == sorted(k for k in keys if "}wc1" in k)
    owners = set()
    for _ in range(60):
        k = c.cmd("RANDOMKEY").value.decode()
        assert k in keys
        owners.add(px.cluster.owner(k).port)
    assert len(owners) >= 2, "RANDOMKEY always picks the same master"
    assert c.cmd("FLUSHDB", "ASYNC").raw == b"+OK\r\n"
    wait_for(lambda: c.cmd("DBSIZE").raw == b":0\r\n", 5, what="FLUSHDB ASYNC on every master")
    assert c.cmd("SET", keys[0], 1).raw == b"+OK\r\n"
    assert c.cmd("FLUSHALL").raw == b"+OK\r\n"
    assert c.cmd("DBSIZE").raw == b":0\r\n"
    assert c.cmd("FLUSHALL", "BADARG").raw.startswith(b"-ERR")


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_info_keyspace_is_the_clusters(px, resp3):
    c = px.proxy.raw()
    if resp3:
        hello3(c)
    keys = spread_keys(40, "inf")
    assert c.cmd("MSET", *[x for k in keys for x in (k, 1)]).raw == b"+OK\r\n"
    for k in keys[:7]:
        assert c.cmd("EXPIRE", k, 1000).raw == b":1\r\n"

    def text(*args):
        r = c.cmd("INFO", *args)
        assert r.type == ("=" if resp3 else "$"), fmt_raw(r.raw)
        return r.value.decode()[4:] if resp3 else r.value.decode()
    t = text("keyspace")
    assert t.startswith("# Keyspace\r\ndb0:keys=40,expires=7,avg_ttl="), t
    t = text()
    assert "\r\n# Keyspace\r\ndb0:keys=40,expires=7," in t and "# Server\r\n" in t, t[-300:]
    assert "Keyspace" not in text("server")
    t = text("all")
    assert "db0:keys=40,expires=7," in t


def test_pubsub_introspection_is_summed(px):
    subs = []
    for i in range(6):      # spread over the masters by client ID
        s = px.proxy.raw()
        s.send_command("SUBSCRIBE", "intro", f"only{i}")
        read_n(s, 2)
        subs.append(s)
    p = px.proxy.raw()
    p.send_command("PSUBSCRIBE", "intro*")
    read_n(p, 1)
    direct = px.cluster.masters[2].raw()
    direct.send_command("SUBSCRIBE", "intro")
    read_n(direct, 1)
    c = px.proxy.raw()
    r = c.cmd("PUBSUB", "NUMSUB", "intro", "only3", "none")
    assert r.raw == resp("intro", 7, "only3", 1, "none", 0), fmt_raw(r.raw)
    r = c.cmd("PUBSUB", "CHANNELS", "*")
    assert sorted(x.value for x in r.value) == sorted([b"intro"] + [b"only%d" % i for i in range(6)])
    assert c.cmd("PUBSUB", "NUMPAT").raw == b":1\r\n"
    hello3(c)
    r = c.cmd("PUBSUB", "NUMSUB", "intro")
    assert r.raw in (b"%1\r\n$5\r\nintro\r\n:7\r\n", resp("intro", 7)), fmt_raw(r.raw)
    for x in subs + [p, direct]:
        x.close()


# ---------------------------------------------------------------------------
# Transactions

@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_multi_keyless_commands_before_the_key(px, resp3):
    c = px.proxy.raw()
    if resp3:
        hello3(c)
    k = tag_on(px.cluster, 2, "kl")
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    for cmd in [("PING",), ("ECHO", "hi"), ("SET", k(1), "v"), ("GET", k(1))]:
        assert c.cmd(*cmd).raw == b"+QUEUED\r\n", cmd
    assert c.cmd("EXEC").raw == resp(Raw(b"+PONG\r\n"), "hi", Raw(b"+OK\r\n"), "v")
    assert px.cluster.get_direct(k(1)) == "v"
    # keyless only: any master runs it
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("PING", "x").raw == b"+QUEUED\r\n"
    assert c.cmd("EXEC").raw == resp("x")
    # empty
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("EXEC").raw == b"*0\r\n"


def test_multi_refusals(px):
    c = px.proxy.raw()
    k = tag_on(px.cluster, 0, "rf")
    cid = c.cmd("CLIENT", "ID").value
    assert client_field(px.proxy, cid, "multi") == "-1"
    # errors that do not abort, as in Redis
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("SET", k(1), "1").raw == b"+QUEUED\r\n"
    assert c.cmd("MULTI").raw == b"-ERR MULTI calls can not be nested\r\n"
    assert c.cmd("WATCH", k(1)).raw == b"-ERR WATCH inside MULTI is not allowed\r\n"
    assert c.cmd("INCR", k(1)).raw == b"+QUEUED\r\n"
    assert client_field(px.proxy, cid, "multi") == "2"
    assert c.cmd("EXEC").raw == resp(Raw(b"+OK\r\n"), 2)
    assert client_field(px.proxy, cid, "multi") == "-1"
    # errors that abort
    for bad in [("KEYS", "*"), ("SUBSCRIBE", "x"), ("SAVE",), ("CLIENT", "SETNAME", "x"),
                ("NOSUCHCOMMAND",), ("GET",)]:
        assert c.cmd("MULTI").raw == b"+OK\r\n"
        assert c.cmd("SET", k(2), "x").raw == b"+QUEUED\r\n"
        r = c.cmd(*bad)
        assert r.is_error, f"{bad}: {fmt_raw(r.raw)}"
        assert c.cmd("PING").raw == b"+QUEUED\r\n"
        assert c.cmd("EXEC").raw == EXECABORT, bad
    assert c.cmd("EXISTS", k(2)).raw == b":0\r\n"
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("SAVE").raw == b"-ERR Command not allowed inside a transaction\r\n"
    assert c.cmd("DISCARD").raw == b"+OK\r\n"
    assert c.cmd("DISCARD").raw == b"-ERR DISCARD without MULTI\r\n"
    assert c.cmd("EXEC").raw == b"-ERR EXEC without MULTI\r\n"


def test_watch_fixes_the_slot(px):
    a, b = px.proxy.raw(), px.proxy.raw()
    k = tag_on(px.cluster, 1, "wf")
    other = tag_on(px.cluster, 2, "wo")
    assert a.cmd("WATCH", k(1)).raw == b"+OK\r\n"
    assert a.cmd("WATCH", other(1)).raw == CROSSSLOT
    assert a.cmd("WATCH", k(2)).raw == b"+OK\r\n"
    assert a.cmd("MULTI").raw == b"+OK\r\n"
    assert a.cmd("SET", other(1), "x").raw == CROSSSLOT
    assert a.cmd("EXEC").raw == EXECABORT
    # watched key changed by someone else: EXEC answers a null
    assert a.cmd("WATCH", k(1)).raw == b"+OK\r\n"
    assert b.cmd("SET", k(1), "theirs").raw == b"+OK\r\n"
    assert a.cmd("MULTI").raw == b"+OK\r\n"
    assert a.cmd("SET", k(1), "mine").raw == b"+QUEUED\r\n"
    assert a.cmd("EXEC").raw == b"*-1\r\n"
    assert b.cmd("GET", k(1)).raw == b"$6\r\ntheirs\r\n"
    assert a.cmd("UNWATCH").raw == b"+OK\r\n"


def test_slot_moving_during_a_transaction_aborts_it(px):
    cl = px.cluster
    src, dst = cl.masters[0], cl.masters[1]
    slot = next(s for s in range(0, 16384, 97) if cl.owner(s) is src)
    k = lambda n: key_in_slot(slot, f"mv{n}")  # noqa: E731
    c = px.proxy.raw()
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("SET", k(1), "1").raw == b"+QUEUED\r\n"
    move_slot(cl, slot, dst)
    try:
        r = c.cmd("SET", k(2), "2")
        assert r.raw.startswith(b"-ERR shoal-proxy: slot %d moved" % slot), fmt_raw(r.raw)
        assert c.cmd("EXEC").raw == EXECABORT
        # a blocking command right after the move: a MOVED (if the proxy's map is still the
        # old one) is followed, since the command did not run
        r = c.cmd("BLPOP", k(4), "0.2", timeout=3)
        assert r.raw == b"*-1\r\n", fmt_raw(r.raw)
    finally:
        move_slot(cl, slot, src)
    wait_for(lambda: c.cmd("SET", k(3), "3").raw == b"+OK\r\n", 5, what="slot usable again")
    assert c.cmd("EXISTS", k(1), k(2)).raw == b":0\r\n"
    assert src.call("GET", k(3)) == "3"


# ---------------------------------------------------------------------------
# Blocking commands

def test_blocking_pipelined_in_order_and_released(px):
    k = tag_on(px.cluster, 0, "bp")
    master = px.cluster.masters[0]

    def clients():
        info = master.call("INFO", "clients")
        return int(info.split("connected_clients:")[1].split()[0])
    before = clients()
    a, b = px.proxy.raw(timeout=10), px.proxy.raw()
    a.send(RawConn.encode("BLPOP", k(1), 5) + RawConn.encode("BRPOP", k(1), 5))
    time.sleep(0.2)
    assert b.cmd("RPUSH", k(1), "first").raw == b":1\r\n"
    assert a.read_reply(3).raw == resp(k(1), "first")
    assert b.cmd("RPUSH", k(1), "second").raw == b":1\r\n"
    assert a.read_reply(3).raw == resp(k(1), "second")
    wait_for(lambda: clients() <= before, 5, what="blocking lease released")


def test_xread_block_on_a_lease(px):
    if not supports_command(px.cluster.masters[0], "xread"):
        pytest.skip(f"{px.kind} nodes have no XREAD")
    k = tag_on(px.cluster, 2, "xs")
    a, b = px.proxy.raw(timeout=10), px.proxy.raw()
    a.send_command("XREAD", "BLOCK", 3000, "STREAMS", k(1), "$")
    time.sleep(0.2)
    for _ in range(5):   # the shared connections are not held up meanwhile
        assert b.cmd("PING").raw == b"+PONG\r\n" and b.cmd("GET", k(9)).raw == b"$-1\r\n"
    r = b.cmd("XADD", k(1), "*", "f", "v")
    assert r.type == "$", fmt_raw(r.raw)
    got = a.read_reply(3)
    assert got.type == "*" and got.value[0].value[0].value == k(1).encode(), fmt_raw(got.raw)
    other = tag_on(px.cluster, 0, "xo")
    assert a.cmd("XREAD", "BLOCK", 100, "STREAMS", k(1), other(1), "$", "$").raw == CROSSSLOT
    assert a.cmd("XREAD", "BLOCK", 100, "STREAMS", k(1), k(2), "$", "$").raw == b"*-1\r\n"


# ---------------------------------------------------------------------------
# Pub/sub

GET_REFUSED = (b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT /"
               b" RESET are allowed in this context\r\n")


def test_subscribed_mode_follows_pipelined_commands(px):
    s = px.proxy.raw()
    # nothing subscribed: answered here, nothing leased
    assert s.cmd("UNSUBSCRIBE").raw == resp("unsubscribe", None, 0)
    assert s.cmd("PUNSUBSCRIBE", "p").raw == resp("punsubscribe", "p", 0)
    assert s.cmd("SUNSUBSCRIBE").raw == resp("sunsubscribe", None, 0)
    # SUBSCRIBE then UNSUBSCRIBE then GET in one pipeline: GET runs (no longer subscribed)
    s.send(RawConn.encode("SUBSCRIBE", "pa") + RawConn.encode("UNSUBSCRIBE", "pa") +
           RawConn.encode("GET", "pipek"))
    assert [x.raw for x in read_n(s, 3)] == [resp("subscribe", "pa", 1),
                                             resp("unsubscribe", "pa", 0), b"$-1\r\n"]
    s.send(RawConn.encode("SUBSCRIBE", "pb") + RawConn.encode("GET", "pipek") +
           RawConn.encode("PING") + RawConn.encode("CLIENT", "LIST"))
    got = [x.raw for x in read_n(s, 4)]
    assert got[:3] == [resp("subscribe", "pb", 1), GET_REFUSED, resp("pong", "")], got
    assert got[3].startswith(b"-ERR Can't execute 'client|list'"), got[3]
    cid = px.proxy.raw().cmd("CLIENT", "LIST").value.decode()
    assert " sub=1 psub=0 ssub=0 " in cid
    s.send_command("UNSUBSCRIBE")
    assert s.read_reply(3).raw == resp("unsubscribe", "pb", 0)
    assert s.cmd("GET", "pipek").raw == b"$-1\r\n"


def test_shard_subscriptions_on_two_nodes(px):
    cl = px.cluster
    ch_a = cl.keys_on(cl.masters[0], 1, "sa")[0]
    ch_b = cl.keys_on(cl.masters[1], 1, "sb")[0]
    s, p = px.proxy.raw(), px.proxy.raw()
    s.send_command("SSUBSCRIBE", ch_a)
    assert s.read_reply(3).raw == resp("ssubscribe", ch_a, 1)
    s.send_command("SSUBSCRIBE", ch_b)
    assert s.read_reply(3).raw == resp("ssubscribe", ch_b, 2)   # the client's total
    assert p.cmd("SPUBLISH", ch_b, "mb").raw == b":1\r\n"
    assert p.cmd("SPUBLISH", ch_a, "ma").raw == b":1\r\n"
    got = {x.raw for x in read_n(s, 2)}
    assert got == {resp("smessage", ch_a, "ma"), resp("smessage", ch_b, "mb")}
    s.send_command("SUNSUBSCRIBE")
    frames = [x.value for x in read_n(s, 2)]
    assert sorted(f[1].value.decode() for f in frames) == sorted([ch_a, ch_b])
    assert [f[2].value for f in frames] == [1, 0]
    assert s.cmd("PING").raw == b"+PONG\r\n"
    assert p.cmd("SPUBLISH", ch_a, "gone").raw == b":0\r\n"


def test_shard_channel_dropped_when_its_slot_moves(px):
    cl = px.cluster
    src, dst = cl.masters[2], cl.masters[0]
    slot = next(s for s in range(5, 16384, 101) if cl.owner(s) is src)
    ch = key_in_slot(slot, "moving")
    s = px.proxy.raw()
    s.send_command("SSUBSCRIBE", ch)
    assert s.read_reply(3).raw == resp("ssubscribe", ch, 1)
    cid = px.proxy.raw().cmd("CLIENT", "LIST").value.decode()
    assert "ssub=1" in cid
    move_slot(cl, slot, dst)
    try:
        assert s.read_reply(3).raw == resp("sunsubscribe", ch, 0)
        assert s.cmd("PING").raw == b"+PONG\r\n"     # subscribed mode left
    finally:
        move_slot(cl, slot, src)


def test_hello2_while_subscribed(px):
    s, p = px.proxy.raw(), px.proxy.raw()
    hello3(s)
    s.send_command("SUBSCRIBE", "h2")
    assert s.read_reply(3).raw == resp("subscribe", "h2", 1, kind=">")
    r = s.cmd("HELLO", "2")
    assert r.type == "*", fmt_raw(r.raw)
    assert p.cmd("PUBLISH", "h2", "m").type == ":"
    assert s.read_reply(3).raw == resp("message", "h2", "m")      # an array now
    assert s.cmd("GET", "x").raw == GET_REFUSED
    s.send_command("UNSUBSCRIBE")
    assert s.read_reply(3).raw == resp("unsubscribe", "h2", 0)


def test_reset_leaves_every_mode(px):
    c, p = px.proxy.raw(), px.proxy.raw()
    k = tag_on(px.cluster, 1, "rs")
    c.send_command("SUBSCRIBE", "rs1")
    c.read_reply(3)
    assert c.cmd("RESET").raw == b"+RESET\r\n"
    assert c.cmd("GET", k(1)).raw == b"$-1\r\n"
    wait_for(lambda: p.cmd("PUBSUB", "NUMSUB", "rs1").raw == resp("rs1", 0), 5,
             what="subscription gone after RESET")
    assert c.cmd("WATCH", k(1)).raw == b"+OK\r\n"
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("SET", k(1), "x").raw == b"+QUEUED\r\n"
    assert c.cmd("RESET").raw == b"+RESET\r\n"
    assert c.cmd("EXEC").raw == b"-ERR EXEC without MULTI\r\n"
    assert c.cmd("GET", k(1)).raw == b"$-1\r\n"


# ---------------------------------------------------------------------------
# A master dies under leases

@pytest.mark.parametrize("kind", backend_params())
def test_master_killed_under_leases(request, kind):
    cf, pf = ClusterFactory(request), ProxyFactory(request)
    try:
        cl = build_cluster(cf, kind, masters=3, replicas=1)
        proxy = pf.start(cl)
        victim = cl.masters[1]
        key = cl.keys_on(victim, 1, "dead")[0]
        ch = cl.keys_on(victim, 2, "deadch")[1]
        blocked = proxy.raw(timeout=10)
        blocked.send_command("BLPOP", key, 0)
        sub = proxy.raw(timeout=10)
        sub.send_command("SSUBSCRIBE", ch)
        assert sub.read_reply(3).raw == resp("ssubscribe", ch, 1)
        tx = proxy.raw(timeout=10)
        assert tx.cmd("MULTI").raw == b"+OK\r\n"
        assert tx.cmd("SET", key, "x").raw == b"+QUEUED\r\n"
        time.sleep(0.2)
        victim.kill9()
        t0 = time.monotonic()
        r = blocked.read_reply(5)
        assert r.is_error and b"shoal-proxy" in r.raw, fmt_raw(r.raw)
        assert time.monotonic() - t0 < 5
        assert sub.read_reply(5).raw == resp("sunsubscribe", ch, 0)
        r = tx.cmd("SET", key, "y")
        assert r.is_error, fmt_raw(r.raw)
        assert tx.cmd("EXEC").raw == EXECABORT
        # the proxy keeps serving the other masters
        other = cl.keys_on(cl.masters[0], 1, "alive")[0]
        c = proxy.raw()
        assert c.cmd("SET", other, "1").raw == b"+OK\r\n"
        assert c.cmd("PING").raw == b"+PONG\r\n"
        pf.check_alive()
    finally:
        try:
            pf.teardown()
        finally:
            cf.teardown()

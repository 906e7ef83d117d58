"""Mixed clusters of shoal-node and real redis-server 7.0 nodes (needs both kinds in
SHOAL_CLUSTER_KINDS), cluster-node-timeout 2000:

* CLUSTER MEET in both directions (shoal -> redis and redis -> shoal): both sides end up
  knowing each other by their real IDs, as connected masters;
* `redis-cli --cluster create` over 2 shoal + 1 redis and over 1 shoal + 2 redis
  succeeds and `--cluster check` is clean; CLUSTER NODES on every node of both kinds
  lists the same nodes, addresses, flags, epochs and slots;
* redis-cli -c and redis-py's RedisCluster follow MOVED across the mix;
* kill -9 of a node of either kind (a shoal node in the first mix, a redis node in the
  second) is flagged FAIL by every survivor of both kinds within the bound; restarted,
  it is accepted back (cluster_state:ok everywhere, same CLUSTER NODES on all);
* the redis-server logs show no bus complaints (lines with "bad", "unknown", "Unknown",
  "length" — what 7.0 logs for malformed or unexpected bus messages).
"""

import re
import time

import pytest

from cluster_util import (NODE_TIMEOUT, cluster, describe_views, keys_by_slot_owner,  # noqa: F401
                          meet, redis_cli, require_kinds, views_consistent, wait_for, wait_marked,
                          wait_state)
from conftest import HOST

FAIL_BOUND = NODE_TIMEOUT / 1000 + 8
BUS_COMPLAINTS = re.compile(r"bad|unknown|Unknown|length")


@pytest.fixture(autouse=True)
def _both_kinds():
    require_kinds("shoal", "redis")


def assert_quiet_redis_logs(nodes):
    for n in nodes:
        if n.kind != "redis":
            continue
        bad = [ln for ln in n.log().splitlines()
               if BUS_COMPLAINTS.search(ln) and not ln.startswith("==== harness")]
        assert not bad, f"{n.name} logged bus complaints:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("first", ["shoal", "redis"])
def test_meet_both_directions(cluster, first):  # noqa: F811
    other = "redis" if first == "shoal" else "shoal"
    a, b = cluster.node(first), cluster.node(other)
    meet(a, b)  # a (first kind) sends MEET to b
    ids = [a.myid(), b.myid()]

    def joined():
        for n in (a, b):
            v = n.view()
            if sorted(v) != sorted(ids):
                return False
            for line in v.values():
                if line.flags - {"myself"} != {"master"} or line.link != "connected":
                    return False
        return views_consistent([a, b], ids)
    common = wait_for(joined, 10, interval=0.1, what=f"{first} MEET {other}: both know both",
                      describe=lambda: describe_views([a, b]))
    assert common[b.myid()][0] == f"{HOST}:{b.port}@{b.port + 10000}", common
    assert common[a.myid()][0] == f"{HOST}:{a.port}@{a.port + 10000}", common
    for n in (a, b):
        assert n.info()["cluster_known_nodes"] == 2
    assert_quiet_redis_logs([a, b])


@pytest.mark.parametrize("kinds,victim", [
    pytest.param(["shoal", "shoal", "redis"], 0, id="2shoal+1redis-kill-shoal"),
    pytest.param(["shoal", "redis", "redis"], 2, id="1shoal+2redis-kill-redis"),
])
def test_mixed_cluster(cluster, kinds, victim):  # noqa: F811
    nodes = cluster.build(kinds)
    ids = [n.myid() for n in nodes]

    r = redis_cli("--cluster", "check", nodes[1].addr, timeout=20)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "[OK] All nodes agree about slots configuration." in out, out
    assert "[OK] All 16384 slots covered." in out, out
    assert "[ERR]" not in out and "[WARNING]" not in out, out

    common = wait_for(lambda: views_consistent(nodes, ids), 10, interval=0.1,
                      what="CLUSTER NODES consistent on every node",
                      describe=lambda: describe_views(nodes))
    assert sorted(v[3] for v in common.values()) == [1, 2, 3], common
    assert all(v[1] == ("master",) for v in common.values()), common
    for n in nodes:
        info = n.info()
        assert (info["cluster_known_nodes"], info["cluster_size"],
                info["cluster_slots_ok"]) == (3, 3, 16384), (n.name, info)

    # MOVED across the mix: redis-cli -c, entering at each node in turn.
    owned = keys_by_slot_owner(nodes, count_per_node=2)
    for i, entry in enumerate(nodes):
        for owner, keys in owned.items():
            for k in keys:
                r = redis_cli("-c", "-p", entry.port, "SET", f"{k}:{i}", f"v{i}", timeout=10)
                assert r.stdout.strip() == "OK", (entry.name, owner.name, r.stdout, r.stderr)
                r = redis_cli("-c", "-p", nodes[(i + 1) % 3].port, "GET", f"{k}:{i}", timeout=10)
                assert r.stdout.strip() == f"v{i}", (entry.name, owner.name, r.stdout, r.stderr)

    # redis-py, started from each kind of node.
    from redis.cluster import ClusterNode as PyNode, RedisCluster
    for entry in (nodes[0], nodes[2]):
        rc = RedisCluster(startup_nodes=[PyNode(HOST, entry.port)], socket_timeout=10)
        try:
            keys = [f"py:{entry.port}:{j}" for j in range(300)]
            for k in keys:
                assert rc.set(k, k) is True
            assert [rc.get(k) for k in keys] == [k.encode() for k in keys]
        finally:
            rc.close()

    # kill -9 one node; every survivor (one of each kind) flags it FAIL.
    dead = nodes[victim]
    survivors = [n for n in nodes if n is not dead]
    assert {n.kind for n in survivors} == {"shoal", "redis"}
    t0 = time.monotonic()
    dead.kill9()
    wait_marked(survivors, ids[victim], "fail", FAIL_BOUND)
    took = time.monotonic() - t0
    assert took > NODE_TIMEOUT / 1000 * 0.9, f"FAIL after {took:.2f}s, below the node timeout"
    wait_state(survivors, "fail", 3)

    # Restarted from its nodes.conf, it is taken back by both kinds (FAIL cleared).
    dead.restart()
    assert dead.myid() == ids[victim]
    wait_state(nodes, "ok", 2 * NODE_TIMEOUT / 1000 + 12)
    wait_for(lambda: views_consistent(nodes, ids), 10, interval=0.1,
             what="CLUSTER NODES consistent after the restart",
             describe=lambda: describe_views(nodes))
    assert_quiet_redis_logs(nodes)

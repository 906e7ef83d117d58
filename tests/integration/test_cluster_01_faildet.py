"""Failure detection, once per node kind (SHOAL_CLUSTER_KINDS), cluster-node-timeout 2000:

one 5-master cluster per kind, in steps:
1. kill -9 of a master: every survivor flags it `fail` within a bound, cluster_state
   goes `fail` on the survivors (its slots are no longer covered,
   cluster-require-full-coverage yes) and keys get CLUSTERDOWN;
2. after the node restarts (same port and dir, so same nodes.conf) its FAIL flag is
   cleared and every node returns to cluster_state:ok;
3. PFAIL -> FAIL needs a majority of the slot-serving masters: killing 2 leaves 3
   survivors (quorum 3 of 5) and both get `fail`;
4. killing a third leaves 2, which only ever see it as `fail?` (PFAIL) and stay in
   cluster_state:fail.
"""

import time

import pytest

from cluster_util import (NODE_TIMEOUT, cluster, describe_views, kind_params,  # noqa: F401
                          wait_marked, wait_state)

# Bounds, from the kill: PFAIL needs NODE_TIMEOUT without a PONG (plus up to one ping
# period), FAIL then needs reports gossiped from a majority: Redis takes ~3-4 s here.
FAIL_BOUND = NODE_TIMEOUT / 1000 + 8
# Clearing FAIL of a master with slots waits 2 x NODE_TIMEOUT after the FAIL; a restarted
# master waits 2 s before going ok.
RECOVER_BOUND = 2 * NODE_TIMEOUT / 1000 + 12


@pytest.mark.parametrize("kind", kind_params())
def test_fail_detection(cluster, kind):  # noqa: F811
    # One 5-master cluster per kind walks through all the steps (a build costs seconds).
    nodes = cluster.build([kind] * 5)
    ids = {n: n.myid() for n in nodes}
    a, b, c, d, e = nodes

    # 1. kill -9 one master: every survivor flags it FAIL, the cluster goes down.
    survivors = [b, c, d, e]
    t0 = time.monotonic()
    a.kill9()
    wait_marked(survivors, ids[a], "fail", FAIL_BOUND)
    took = time.monotonic() - t0
    assert took > NODE_TIMEOUT / 1000 * 0.9, f"FAIL after only {took:.2f}s: faster than the timeout"
    wait_state(survivors, "fail", 3)
    lost = victim_slots(b, ids[a])
    for n in survivors:
        info = n.info()
        assert info["cluster_slots_fail"] == lost, (n.name, info)
        assert info["cluster_slots_ok"] == 16384 - lost, (n.name, info)
        r = n.call("GET", "anything")  # refused while the cluster is down
        assert str(r).startswith("CLUSTERDOWN"), (n.name, r)

    # 2. restart it (same port, same dir -> same nodes.conf): FAIL cleared, cluster ok.
    a.restart()
    assert a.myid() == ids[a]
    wait_state(nodes, "ok", RECOVER_BOUND)
    for n in nodes:
        line = n.view()[ids[a]]
        assert "fail" not in line.flags and "fail?" not in line.flags, (n.name, line.raw)

    # 3. kill two masters: the 3 survivors are a majority of 5 and flag both FAIL.
    for n in (b, c):
        n.kill9()
    survivors = [a, d, e]
    for n in (b, c):
        wait_marked(survivors, ids[n], "fail", FAIL_BOUND)
    wait_state(survivors, "fail", 3)

    # 4. kill a third: 2 of 5 can never reach the quorum of 3, so it stays PFAIL (fail?)
    # on both survivors. Watch for a while: reports stay valid 2 x NODE_TIMEOUT, and a
    # FAIL would follow the PFAIL within about a second if it were going to happen.
    d.kill9()
    survivors = [a, e]
    wait_marked(survivors, ids[d], "fail?", FAIL_BOUND)
    deadline = time.monotonic() + 1.5 * NODE_TIMEOUT / 1000
    while time.monotonic() < deadline:
        for n in survivors:
            line = n.view()[ids[d]]
            assert "fail" not in line.flags, (f"{n.name} marked {ids[d][:8]} FAIL without a "
                                              f"majority:\n{describe_views(survivors)}")
            assert n.state() == "fail"
        time.sleep(0.2)


def victim_slots(node, vid):
    line = node.view()[vid]
    return sum(hi - lo + 1 for lo, hi in line.slots)

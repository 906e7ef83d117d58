"""configEpoch handling, once per node kind (SHOAL_CLUSTER_KINDS):

* collision resolution: fresh masters that all have the same configEpoch (0, or 5 set
  with CLUSTER SET-CONFIG-EPOCH) are joined with CLUSTER MEET and converge to unique
  epochs; the node with the greatest ID keeps its epoch, the others move above it, and
  every node's currentEpoch ends at the maximum;
* CLUSTER SET-CONFIG-EPOCH: replies (exact bytes of Redis 7.0.15) for negative, zero,
  first and second assignment and for a node that already knows another node; the epoch
  is persisted across a restart;
* CLUSTER BUMPEPOCH: BUMPED <e> / STILL <e> on a lone node and in a 3-master cluster,
  the new epoch propagates to every node and is written to nodes.conf.
"""

import pytest

from cluster_util import (cluster, describe_views, kind_params, meet, myself_of,  # noqa: F401
                          parse_cluster_nodes, views_consistent, wait_for, wait_state)

CONVERGE_BOUND = 15


@pytest.mark.parametrize("kind", kind_params())
@pytest.mark.parametrize("epoch", [0, 5])
def test_epoch_collision_converges(cluster, kind, epoch):  # noqa: F811
    nodes = cluster.nodes([kind] * 3)
    for n in nodes:
        if epoch:
            assert n.call("CLUSTER", "SET-CONFIG-EPOCH", epoch) == "OK"
        assert n.info()["cluster_my_epoch"] == epoch
    meet(nodes[1], nodes[0])
    meet(nodes[2], nodes[0])
    ids = [n.myid() for n in nodes]

    def unique():
        common = views_consistent(nodes, expect_ids=ids)
        if common is None:
            return None
        epochs = [v[3] for v in common.values()]
        return common if len(set(epochs)) == len(epochs) else None

    common = wait_for(unique, CONVERGE_BOUND, interval=0.1, what="unique configEpochs",
                      describe=lambda: describe_views(nodes))
    top = max(ids)
    assert common[top][3] == epoch, f"greatest ID must keep its epoch: {common}"
    assert all(common[i][3] > epoch for i in ids if i != top), common
    high = max(v[3] for v in common.values())
    wait_for(lambda: all(n.info()["cluster_current_epoch"] == high for n in nodes), 5,
             what=f"currentEpoch {high} everywhere", describe=lambda: describe_views(nodes))
    for n in nodes:
        assert n.info()["cluster_my_epoch"] == common[n.myid()][3]


@pytest.mark.parametrize("kind", kind_params())
def test_set_config_epoch(cluster, kind):  # noqa: F811
    a = cluster.node(kind)
    r = a.raw()
    assert r.cmd("CLUSTER", "SET-CONFIG-EPOCH", -1).raw == b"-ERR Invalid config epoch specified: -1\r\n"
    assert r.cmd("CLUSTER", "SET-CONFIG-EPOCH", "abc").raw == \
        b"-ERR value is not an integer or out of range\r\n"
    assert r.cmd("CLUSTER", "SET-CONFIG-EPOCH", 0).raw == b"+OK\r\n"
    assert a.info()["cluster_my_epoch"] == 0
    assert r.cmd("CLUSTER", "SET-CONFIG-EPOCH", 7).raw == b"+OK\r\n"
    assert r.cmd("CLUSTER", "SET-CONFIG-EPOCH", 8).raw == b"-ERR Node config epoch is already non-zero\r\n"
    info = a.info()
    assert (info["cluster_my_epoch"], info["cluster_current_epoch"]) == (7, 7), info
    assert myself_of(a.view()).epoch == 7
    assert r.cmd("CLUSTER", "BUMPEPOCH").raw == b"+STILL 7\r\n"  # already the highest
    r.close()

    # Persisted: a restart comes back with the same epochs.
    myid = a.myid()
    a.restart()
    info = a.info()
    assert a.myid() == myid
    assert (info["cluster_my_epoch"], info["cluster_current_epoch"]) == (7, 7), info

    # A node that knows another node (even one still in handshake) refuses.
    b = cluster.node(kind)
    meet(b, a)
    assert b.raw().cmd("CLUSTER", "SET-CONFIG-EPOCH", 3).raw == (
        b"-ERR The user can assign a config epoch only when the node does not know any "
        b"other node.\r\n")
    assert b.info()["cluster_my_epoch"] == 0


@pytest.mark.parametrize("kind", kind_params())
def test_bumpepoch(cluster, kind):  # noqa: F811
    lone = cluster.node(kind)
    r = lone.raw()
    assert r.cmd("CLUSTER", "BUMPEPOCH").raw == b"+BUMPED 1\r\n"
    assert r.cmd("CLUSTER", "BUMPEPOCH").raw == b"+STILL 1\r\n"
    r.close()

    nodes = cluster.build([kind] * 3)
    by_epoch = {myself_of(n.view()).epoch: n for n in nodes}
    assert sorted(by_epoch) == [1, 2, 3]
    low, top = by_epoch[1], by_epoch[3]
    assert low.raw().cmd("CLUSTER", "BUMPEPOCH").raw == b"+BUMPED 4\r\n"
    assert low.raw().cmd("CLUSTER", "BUMPEPOCH").raw == b"+STILL 4\r\n"
    # The former top learns currentEpoch 4 from gossip; its 3 is then no longer the
    # maximum, so it bumps to 5.
    wait_for(lambda: top.info()["cluster_current_epoch"] == 4, 10, what="currentEpoch 4 on top")
    assert top.raw().cmd("CLUSTER", "BUMPEPOCH").raw == b"+BUMPED 5\r\n"

    ids = [n.myid() for n in nodes]

    def bumped():
        c = views_consistent(nodes, ids)
        return c if c and sorted(v[3] for v in c.values()) == [2, 4, 5] else None
    common = wait_for(bumped, 10, interval=0.1, what="epochs 2, 4, 5 everywhere",
                      describe=lambda: describe_views(nodes))
    assert common[low.myid()][3] == 4 and common[top.myid()][3] == 5, common
    wait_for(lambda: all(n.info()["cluster_current_epoch"] == 5 for n in nodes), 5,
             what="currentEpoch 5 everywhere")
    wait_state(nodes, "ok", 5)

    # The bump is in nodes.conf (saved before the node sleeps; allow a moment).
    def conf_epochs():
        with open(low.nodes_conf_path()) as f:
            text = f.read()
        lines = [ln for ln in text.splitlines() if not ln.startswith("vars")]
        return myself_of(parse_cluster_nodes("\n".join(lines))).epoch, text
    wait_for(lambda: conf_epochs()[0] == 4, 5, what="configEpoch 4 in nodes.conf",
             describe=lambda: conf_epochs()[1])

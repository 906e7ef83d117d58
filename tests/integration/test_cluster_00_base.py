"""Cluster basics, once per node kind (SHOAL_CLUSTER_KINDS): 3 masters built with
`redis-cli --cluster create`, then `--cluster check` is clean, `--cluster info` shows the
three masters and all slots, redis-cli -c follows MOVED for SET/GET across slots,
redis-py's RedisCluster writes and reads 1000 keys spread over all slots, and every node
reports the same CLUSTER NODES (node set, addresses, flags, epochs, slots) and CLUSTER
SLOTS."""

import json
import os
import re
import shutil
import subprocess

import pytest

from cluster_util import (SLOTS, ClusterFactory, attach, kind_params, keys_by_slot_owner,
                          myself_of, redis_cli, slot_count, wait_consistent)
from conftest import HOST


@pytest.fixture(scope="module", params=kind_params())
def three_mod(request):
    # One cluster per kind for the whole module: building one takes a few seconds.
    f = ClusterFactory(request)
    try:
        yield f.build([request.param] * 3)
    finally:
        f.teardown()


@pytest.fixture
def three(request, three_mod):
    attach(request, three_mod)  # their logs go into this test's report if it fails
    for n in three_mod:
        assert n.alive(), f"{n.name} died during an earlier test"
    return three_mod


def test_create_check_info(three):
    r = redis_cli("--cluster", "check", three[0].addr, timeout=20)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "[OK] All nodes agree about slots configuration." in out, out
    assert "[OK] All 16384 slots covered." in out, out
    assert "[ERR]" not in out and "[WARNING]" not in out, out

    r = redis_cli("--cluster", "info", three[1].addr, timeout=20)
    out = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)
    assert r.returncode == 0, out
    rows = re.findall(r"^(\S+) \((\w{8})\.\.\.\) -> (\d+) keys \| (\d+) slots \| (\d+) slaves\.$",
                      out, re.M)
    assert sorted(x[0] for x in rows) == sorted(n.addr for n in three), out
    assert sum(int(x[3]) for x in rows) == SLOTS, out
    assert all(int(x[4]) == 0 for x in rows), out
    assert "[OK] 0 keys in 3 masters." in out, out

    for n in three:
        info = n.info()
        assert info["cluster_state"] == "ok", info
        assert info["cluster_slots_assigned"] == SLOTS, info
        assert info["cluster_slots_ok"] == SLOTS, info
        assert info["cluster_known_nodes"] == 3, info
        assert info["cluster_size"] == 3, info
        assert info["cluster_current_epoch"] == 3, info


def test_views_consistent(three):
    ids = [n.myid() for n in three]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[0-9a-f]{40}", i) for i in ids), ids
    common = wait_consistent(three, timeout=10, expect_ids=ids)
    epochs = sorted(v[3] for v in common.values())
    assert epochs == [1, 2, 3], common
    total = 0
    for n in three:
        addr, flags, master, epoch, slots = common[n.myid()]
        assert addr == f"{HOST}:{n.port}@{n.port + 10000}", common
        assert flags == ("master",) and master == "-", common
        total += slot_count(slots)
        me = myself_of(n.view())
        assert me.id == n.myid() and me.link == "connected", me.raw
    assert total == SLOTS, common
    for n in three:  # every peer link is up
        for line in n.view().values():
            assert line.link == "connected", f"{n.name}: {line.raw}"
    slots0 = three[0].ok("CLUSTER", "SLOTS")
    for n in three[1:]:
        assert sorted(map(str, n.ok("CLUSTER", "SLOTS"))) == sorted(map(str, slots0)), n.name


def test_redis_cli_follows_moved(three):
    owned = keys_by_slot_owner(three, count_per_node=3)
    for owner, keys in owned.items():
        for k in keys:
            # Write through a node that does not own the key, read through another one.
            entry = next(n for n in three if n is not owner)
            r = redis_cli("-c", "-p", entry.port, "SET", k, f"v-{k}", timeout=10)
            assert r.returncode == 0 and r.stdout.strip() == "OK", (k, r.stdout, r.stderr)
            reader = next(n for n in three if n is not owner and n is not entry)
            r = redis_cli("-c", "-p", reader.port, "GET", k, timeout=10)
            assert r.stdout.strip() == f"v-{k}", (k, r.stdout, r.stderr)
            # Without -c the entry node answers MOVED <slot> <owner address>.
            moved = entry.call("GET", k)
            assert str(moved).startswith("MOVED ") and str(moved).endswith(f" {owner.addr}"), moved
            assert owner.call("GET", k) == f"v-{k}"


def test_redis_py_cluster_1000_keys(three):
    from redis.cluster import ClusterNode as PyNode, RedisCluster
    from redis.crc import key_slot
    for n in three:
        n.ok("FLUSHALL")
    rc = RedisCluster(startup_nodes=[PyNode(HOST, three[0].port)], socket_timeout=10)
    try:
        keys = [f"rc:{i}" for i in range(1000)]
        for k in keys:
            assert rc.set(k, k.upper()) is True
        for k in keys:
            assert rc.get(k) == k.upper().encode()
    finally:
        rc.close()
    slots_hit = {key_slot(k.encode()) for k in keys}
    assert len(slots_hit) > 900
    per_node = {}
    for n in three:
        me = myself_of(n.view())
        mine = [k for k in keys if any(a <= key_slot(k.encode()) <= b for a, b in me.slots)]
        per_node[n.name] = int(n.ok("DBSIZE"))
        assert per_node[n.name] == len(mine), (n.name, per_node)
        assert len(mine) > 200, per_node  # spread over all three
        sample = mine[:20]
        assert [n.call("GET", k) for k in sample] == [k.upper() for k in sample]
    assert sum(per_node.values()) == 1000, per_node


JS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "js")


def test_ioredis_cluster_reads_and_writes(three):
    """ioredis's Cluster client (Node.js) discovers the cluster from one node
    and writes/reads keys spread over every master (tools/deps.sh installs
    it into tests/js/node_modules)."""
    assert shutil.which("node"), "node is required (tools/deps.sh installs it)"
    assert os.path.isdir(os.path.join(JS_DIR, "node_modules", "ioredis")), \
        "ioredis missing: run tools/deps.sh"
    r = subprocess.run(["node", os.path.join(JS_DIR, "cluster_rw.js"), str(three[0].port), "2000"],
                       capture_output=True, timeout=60, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res == {"written": 2000, "matched": 2000, "masters": 3}, res

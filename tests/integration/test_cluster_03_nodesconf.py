"""nodes.conf (cluster-config-file), once per node kind (SHOAL_CLUSTER_KINDS):

* stop (SIGTERM) and restart a node of a 3-master cluster: same node ID, slots,
  configEpoch, currentEpoch and known nodes, read back from nodes.conf; the cluster
  returns to ok; the file has the CLUSTER NODES line format plus a `vars` line;
* a relative cluster-config-file lives in `dir`, not in the process's cwd: two nodes
  started from one cwd with different dirs each get their own file and their own ID;
* a second process pointed at a nodes.conf that a running node holds (same dir) refuses
  to start, and the running node's file is left alone;
* a corrupt nodes.conf makes the node refuse to start (Redis: "corrupted cluster config
  file"); shoal-node must also name the file and line (`nodes.conf:<line>`), for several
  kinds of damage, and exit cleanly.
"""

import os
import re

import pytest

from cluster_util import (cluster, kind_params, myself_of, parse_cluster_nodes,  # noqa: F401
                          views_consistent, wait_state)

EXIT_BOUND = 10


def read_conf(node):
    with open(node.nodes_conf_path()) as f:
        return f.read()


def conf_view(text):
    body = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("vars ")]
    return parse_cluster_nodes("\n".join(body))


@pytest.mark.parametrize("kind", kind_params())
def test_restart_keeps_identity(cluster, kind):  # noqa: F811
    nodes = cluster.build([kind] * 3)
    n = nodes[2]
    before = n.view()
    info = n.info()
    ids = sorted(before)
    n.stop()
    assert not n.alive()

    text = read_conf(n)
    assert re.search(r"^vars currentEpoch \d+ lastVoteEpoch \d+$", text, re.M), text
    saved = conf_view(text)
    assert sorted(saved) == ids, text
    me = myself_of(saved)
    assert me.id == myself_of(before).id and me.slots == myself_of(before).slots, text
    assert me.epoch == myself_of(before).epoch, text

    n.restart()
    after = n.view()
    assert myself_of(after).id == myself_of(before).id
    assert sorted(after) == ids
    for nid in ids:
        assert (after[nid].epoch, after[nid].slots, after[nid].port) == \
            (before[nid].epoch, before[nid].slots, before[nid].port), (before[nid].raw, after[nid].raw)
    info2 = n.info()
    for k in ("cluster_current_epoch", "cluster_my_epoch", "cluster_slots_assigned",
              "cluster_known_nodes"):
        assert info2[k] == info[k], (k, info, info2)
    wait_state(nodes, "ok", 15)
    assert views_consistent(nodes, ids) is not None


@pytest.mark.parametrize("kind", kind_params())
def test_relative_config_file_in_dir(cluster, kind):  # noqa: F811
    cwd = cluster.tmpdir()
    d1, d2 = cluster.tmpdir(), cluster.tmpdir()
    # a and b: same cwd, same relative name, different dirs; c: another name in b's dir.
    a = cluster.node(kind, cwd=cwd, data_dir=d1)
    b = cluster.node(kind, cwd=cwd, data_dir=d2)
    c = cluster.node(kind, cwd=cwd, data_dir=d2, config_file="nodes-c.conf")
    assert os.listdir(cwd) == [], f"files written in the cwd: {os.listdir(cwd)}"
    assert os.path.exists(os.path.join(d1, "nodes.conf"))
    assert os.path.exists(os.path.join(d2, "nodes.conf"))
    assert os.path.exists(os.path.join(d2, "nodes-c.conf"))
    ids = [x.myid() for x in (a, b, c)]
    assert len(set(ids)) == 3, ids
    for x, nid in zip((a, b, c), ids):
        assert myself_of(conf_view(read_conf(x))).id == nid


@pytest.mark.parametrize("kind", kind_params())
def test_locked_config_refuses_second_process(cluster, kind):  # noqa: F811
    a = cluster.node(kind)
    text = read_conf(a)
    twin = cluster.node(kind, data_dir=a.data_dir, start=False, name=f"{kind}-twin")
    rc = twin.spawn_expecting_exit(EXIT_BOUND)
    assert rc is not None, f"second node on a locked nodes.conf still running after {EXIT_BOUND}s"
    assert rc != 0, twin.log()
    assert "nodes.conf" in twin.log() and re.search(r"already used|lock", twin.log()), twin.log()
    assert a.alive() and a.call("PING") == "PONG"
    assert read_conf(a) == text


def _corrupt(real_redis, lines):
    """Yields (description, new lines, 1-based bad line or None) variants of a valid file."""
    me = next(i for i, ln in enumerate(lines) if "myself" in ln)
    f = lines[me].split(" ")

    def with_myself(line):
        return lines[:me] + [line] + lines[me + 1:]
    yield "short line", lines[:me + 1] + ["abc def"] + lines[me + 1:], me + 2
    yield "slot out of range", with_myself(" ".join(f[:8] + ["5-99999"])), me + 1
    yield "no myself line", with_myself(" ".join(f[:2] + ["master"] + f[3:])), None
    if not real_redis:  # 7.0.15 panics (and crashes) on an unknown flag
        yield "unknown flag", with_myself(" ".join(f[:2] + ["myself,master,bogus"] + f[3:])), me + 1


@pytest.mark.parametrize("kind", kind_params())
def test_corrupt_config_refuses_to_start(cluster, kind):  # noqa: F811
    a = cluster.node(kind)
    a.ok("CLUSTER", "ADDSLOTSRANGE", 0, 99)
    a.stop()
    good = read_conf(a).splitlines()
    for what, text, bad_line in _corrupt(a.is_real_redis, good):
        with open(a.nodes_conf_path(), "w") as f:
            f.write("\n".join(text) + "\n")
        mark = len(a.log())
        rc = a.spawn_expecting_exit(EXIT_BOUND)
        log = a.log()[mark:]
        assert rc is not None, f"{what}: still running after {EXIT_BOUND}s with a corrupt nodes.conf"
        assert rc != 0, f"{what}: exit status 0\n{log}"
        if a.is_real_redis:
            assert "corrupted cluster config file" in log, log
        else:
            assert rc > 0, f"{what}: killed by signal {-rc}\n{log}"
            where = rf"nodes\.conf:{bad_line}\b" if bad_line else r"nodes\.conf"
            assert re.search(where, log), f"{what}: no {where!r} in the log\n{log}"
    # The intact file still loads.
    with open(a.nodes_conf_path(), "w") as f:
        f.write("\n".join(good) + "\n")
    a.restart()
    assert myself_of(a.view()).slots == ((0, 99),)

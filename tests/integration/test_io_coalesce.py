"""io-coalesce-us: while many clients each have one command in flight, shoal-node
naps briefly instead of sleeping in epoll_wait, so one poll takes a batch. These tests
check that it naps only then, that nothing is lost while it does, and its config key."""

import subprocess

import pytest

from conftest import HOST


def naps(c):
    return int(c.info("stats")["io_coalesce_naps"])


def bench(port, n, clients):
    # INCR on one key (no -r): the final count proves no request was lost.
    out = subprocess.run(["redis-benchmark", "-h", HOST, "-p", str(port), "-t", "incr",
                          "-n", str(n), "-c", str(clients), "-P", "1", "-q"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def naps_during_load(node, n, clients):
    """INCR load on one counter; returns the naps it caused, after checking the count."""
    c = node.client()
    c.delete("counter:__rand_int__")
    c.config_resetstat()
    bench(node.port, n, clients)
    assert c.get("counter:__rand_int__") == str(n).encode()
    return naps(c)


def test_config_key(node):
    c = node.client()
    assert c.config_get("io-coalesce-us") == {"io-coalesce-us": "60"}
    assert c.config_set("io-coalesce-us", 0)
    assert c.config_get("io-coalesce-us") == {"io-coalesce-us": "0"}
    for bad in ("1001", "-1", "x"):
        with pytest.raises(Exception) as e:
            c.config_set("io-coalesce-us", bad)
        assert "io-coalesce-us" in str(e.value)
    assert c.config_get("io-coalesce-us") == {"io-coalesce-us": "0"}
    c.config_set("io-coalesce-us", 60)


@pytest.mark.node_args("--io-coalesce-us", "200")
def test_many_clients_nap_and_lose_nothing(node):
    assert naps_during_load(node, 20000, 50) > 0


@pytest.mark.node_args("--io-coalesce-us", "1000")
def test_lone_client_never_naps(node):
    idle = [node.raw() for _ in range(30)]   # many connected, one active
    for r in idle:
        assert r.cmd("PING").value == b"PONG"
    c = node.client()
    c.config_resetstat()
    for i in range(300):
        assert c.incr("k") == i + 1
    assert naps(c) == 0
    # A few clients at once are served without naps too.
    assert naps_during_load(node, 5000, 4) == 0


@pytest.mark.node_args("--io-coalesce-us", "0")
def test_zero_disables(node):
    assert naps_during_load(node, 10000, 50) == 0

"""io-coalesce-us: while many clients each have one command in flight, shoal-node
naps briefly instead of sleeping in epoll_wait, so one poll takes a batch; shoal-proxy's
workers nap briefly after an iteration that found only a few of them, so the next one
sends the nodes a batch. These tests check that each naps only then, that nothing is
lost while it does, and the config keys (CONFIG SET on the node, SIGHUP on the proxy)."""

import os
import signal
import subprocess
import time

import pytest

from conftest import HOST
from cluster_util import wait_for
from proxy_util import ClusterFactory, ProxyFactory, build_cluster


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


# ---- shoal-proxy ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def pcluster(request):
    cf = ClusterFactory(request)
    try:
        yield build_cluster(cf, "shoal", masters=3, replicas=0)
    finally:
        cf.teardown()


@pytest.fixture
def proxies(request, pcluster):
    pf = ProxyFactory(request)
    try:
        yield pf
    finally:
        pf.teardown()


def proxy_naps(p):
    return int(p.client().info("stats")["io_coalesce_naps"])


def proxy_load(p, n, clients):
    """INCR load through the proxy; the count must come out exact. Returns the naps."""
    c = p.client()
    c.delete("counter:__rand_int__")
    before = proxy_naps(p)
    bench(p.port, n, clients)
    assert c.get("counter:__rand_int__") == str(n).encode()
    return proxy_naps(p) - before


def test_proxy_many_clients_nap_and_lose_nothing(pcluster, proxies):
    p = proxies.start(pcluster, "--io-coalesce-us", "200", threads=1)
    assert p.client().execute_command("PROXY", "CONFIG", "GET", "io-coalesce-us") == \
        [b"io-coalesce-us", b"200"]
    assert proxy_load(p, 20000, 50) > 0


def test_proxy_lone_client_and_few_clients_never_nap(pcluster, proxies):
    p = proxies.start(pcluster, "--io-coalesce-us", "1000", threads=1)
    idle = [p.raw() for _ in range(30)]   # many connected, one active
    for r in idle:
        assert r.cmd("PING").value == b"PONG"
    time.sleep(0.05)   # those 30 PINGs may count as 30 busy clients for a millisecond
    c = p.client()
    before = proxy_naps(p)
    for i in range(300):
        assert c.incr("k") == i + 1
    assert proxy_naps(p) == before
    assert proxy_load(p, 5000, 4) == 0


def test_proxy_default_zero_and_sighup(pcluster, proxies, tmp_path):
    p = proxies.start(pcluster, threads=1)
    assert p.client().execute_command("PROXY", "CONFIG", "GET", "io-coalesce-us") == \
        [b"io-coalesce-us", b"50"]
    # Off from the file, then on again by SIGHUP (a runtime key).
    cfg = tmp_path / "proxy.yaml"
    cfg.write_text("io-coalesce-us: 0\n")
    q = proxies.start(pcluster, config=str(cfg), threads=1)
    assert proxy_load(q, 10000, 50) == 0
    cfg.write_text("io-coalesce-us: 300\n")
    os.kill(q.pid, signal.SIGHUP)
    wait_for(lambda: q.client().execute_command("PROXY", "CONFIG", "GET", "io-coalesce-us")[1]
             == b"300", 5, what="io-coalesce-us reloaded by SIGHUP")
    assert proxy_load(q, 20000, 50) > 0
    cfg.write_text("io-coalesce-us: 5000\n")   # out of range: refused, 300 stays
    os.kill(q.pid, signal.SIGHUP)
    wait_for(lambda: "reload refused" in q.log(), 5, what="the bad reload reported in the log")
    assert q.client().execute_command("PROXY", "CONFIG", "GET", "io-coalesce-us")[1] == b"300"

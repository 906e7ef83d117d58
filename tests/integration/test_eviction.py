"""maxmemory eviction in shoal-node: noeviction's OOM error, and the approximated LRU / LFU /
TTL / random policies, checked with bounded, tolerant statistics (eviction samples keys, as
Redis does, so only clear tendencies are asserted)."""

import time

import pytest

VALUE = b"v" * 1000
OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"


def used(r):
    return int(r.info("memory")["used_memory"])


def fill(r, prefix, n, ttl=None):
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.set(f"{prefix}:{i}", VALUE)
        if ttl:
            p.expire(f"{prefix}:{i}", ttl)
    p.execute()


def survivors(r, prefix, n):
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.exists(f"{prefix}:{i}")
    return sum(p.execute())


def limit_to_now(r, slack=20000):
    """maxmemory just above the current use: the next writes must evict."""
    r.config_set("maxmemory", used(r) + slack)


def evicted(r):
    return int(r.info("stats")["evicted_keys"])


@pytest.mark.fresh_node
def test_noeviction_oom(node, oracle):
    r = node.client()
    r.config_set("maxmemory-policy", "noeviction")
    fill(r, "base", 100)
    limit_to_now(r, slack=50000)
    c = node.raw()
    err = None
    for i in range(2000):
        rep = c.cmd("SET", f"more:{i}", VALUE)
        if rep.is_error:
            err = rep.raw
            break
    assert err == OOM, err
    assert 10 < i < 200
    # Reads, deletes and non-denyoom commands still work.
    assert c.call("GET", "base:1") == VALUE
    assert c.cmd("PING").raw == b"+PONG\r\n"
    assert c.cmd("SET", "x", "y").raw == OOM
    assert c.cmd("MULTI").raw == b"+OK\r\n"
    assert c.cmd("SET", "x", "y").raw == OOM          # refused while queueing...
    assert c.cmd("EXEC").raw.startswith(b"-EXECABORT")  # ...which aborts the transaction
    assert c.call("DEL", *[f"base:{k}" for k in range(100)]) == 100
    assert c.cmd("SET", "x", "y").raw == b"+OK\r\n"
    assert evicted(r) == 0
    # The oracle uses the same error text.
    o = oracle.raw()
    o.call("CONFIG", "SET", "maxmemory", "1")
    try:
        assert o.cmd("SET", "x", "y").raw == OOM
    finally:
        o.call("CONFIG", "SET", "maxmemory", "0")


@pytest.mark.fresh_node
def test_allkeys_lru_keeps_recently_used(node):
    r = node.client()
    r.config_set("maxmemory-policy", "allkeys-lru")
    fill(r, "k", 600)
    limit_to_now(r)
    time.sleep(1.2)   # the LRU clock counts seconds: make the old keys idle
    p = r.pipeline(transaction=False)
    for i in range(100):
        p.get(f"k:{i}")   # hot: keys 0..99
    p.execute()
    fill(r, "new", 200)   # forces ~200 evictions
    hot = survivors(r, "k", 100) / 100
    cold = (survivors(r, "k", 600) - survivors(r, "k", 100)) / 500
    assert evicted(r) >= 150
    assert hot >= 0.8, (hot, cold)
    assert hot > cold + 0.25, (hot, cold)
    assert used(r) <= int(r.config_get("maxmemory")["maxmemory"]) + 10000


@pytest.mark.fresh_node
def test_allkeys_lfu_keeps_frequently_used(node):
    r = node.client()
    r.config_set("maxmemory-policy", "allkeys-lfu")
    fill(r, "k", 600)
    limit_to_now(r)
    for _ in range(50):
        p = r.pipeline(transaction=False)   # small batches: big client buffers count as used memory
        for i in range(100):
            p.get(f"k:{i}")
        p.execute()
    cold_freqs = [f for f in (r.object("freq", f"k:{i}") for i in range(500, 520)) if f is not None]
    assert cold_freqs and r.object("freq", "k:0") > max(cold_freqs)
    # New keys start at the same counter as the cold ones, so eviction picks among cold and
    # new alike: 200 evictions would leave ~0.7 of the cold keys, too close to the margin
    # below; 400 leave ~0.55.
    fill(r, "new", 400)
    hot = survivors(r, "k", 100) / 100
    cold = (survivors(r, "k", 600) - survivors(r, "k", 100)) / 500
    assert evicted(r) >= 300
    assert hot >= 0.8 and hot > cold + 0.25, (hot, cold)


@pytest.mark.fresh_node
@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
def test_volatile_policies_spare_persistent_keys(node, policy):
    r = node.client()
    r.config_set("maxmemory-policy", policy)
    fill(r, "keep", 300)
    fill(r, "vol", 300, ttl=10000)
    limit_to_now(r)
    fill(r, "keep2", 100)   # evicts volatile keys only
    assert survivors(r, "keep", 300) == 300
    assert survivors(r, "keep2", 100) == 100
    assert survivors(r, "vol", 300) <= 230
    assert evicted(r) >= 70
    # Once nothing volatile is left, writes fail like noeviction.
    c = node.raw()
    err = None
    for i in range(1000):
        rep = c.cmd("SET", f"more:{i}", VALUE)
        if rep.is_error:
            err = rep.raw
            break
    assert err == OOM
    assert survivors(r, "vol", 300) == 0
    assert survivors(r, "keep", 300) == 300


@pytest.mark.fresh_node
def test_volatile_ttl_prefers_nearest_expiry(node):
    r = node.client()
    r.config_set("maxmemory-policy", "volatile-ttl")
    fill(r, "short", 300, ttl=1000)
    fill(r, "long", 300, ttl=100000)
    limit_to_now(r)
    fill(r, "plain", 150)
    short = survivors(r, "short", 300) / 300
    long_ = survivors(r, "long", 300) / 300
    assert evicted(r) >= 100
    assert long_ >= 0.85 and long_ > short + 0.25, (short, long_)


@pytest.mark.fresh_node
def test_allkeys_random_and_info(node):
    r = node.client()
    r.config_set("maxmemory-policy", "allkeys-random")
    fill(r, "k", 400)
    limit_to_now(r)
    before = evicted(r)
    fill(r, "n", 200)
    after = evicted(r)
    assert after - before >= 150
    assert r.dbsize() <= 450
    info = r.info("memory")
    assert info["maxmemory_policy"] == "allkeys-random"
    assert int(info["used_memory"]) <= int(info["maxmemory"]) + 10000


@pytest.mark.fresh_node
def test_lowering_maxmemory_evicts_in_background(node):
    r = node.client()
    r.config_set("maxmemory-policy", "allkeys-lru")
    fill(r, "k", 500)
    half = used(r) - 250 * 1000
    r.config_set("maxmemory", half)
    deadline = time.monotonic() + 5
    while used(r) > half + 10000:
        assert time.monotonic() < deadline, "memory never went under the new maxmemory"
        time.sleep(0.05)
    assert 150 <= r.dbsize() <= 350


@pytest.mark.node_args("--cluster-enabled", "yes")
@pytest.mark.timeout_s(30)
def test_eviction_in_cluster_mode(node):
    """Cluster mode keeps one table per slot: eviction must sample those."""
    r = node.client()
    assert r.execute_command("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
    deadline = time.monotonic() + 10
    while b"cluster_state:ok" not in r.execute_command("CLUSTER", "INFO"):
        assert time.monotonic() < deadline, "cluster never reached state ok"
        time.sleep(0.1)
    for policy in ("allkeys-lru", "volatile-lru"):
        r.flushall()
        r.config_set("maxmemory", 0)
        r.config_set("maxmemory-policy", policy)
        fill(r, "k", 300, ttl=10000)
        limit_to_now(r)
        before = evicted(r)
        fill(r, "n", 100)
        assert evicted(r) - before >= 70, policy
        if policy.startswith("volatile"):
            assert survivors(r, "n", 100) == 100   # no TTL: never evicted

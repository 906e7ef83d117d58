"""Reply and execution order through the proxy when one pipeline mixes the
shared backend connection with leased ones (MULTI/EXEC, blocking pops) and
split commands over several backend connections: a later command must see
the effects of every earlier one."""
import socket, time
import pytest
from cluster_util import ClusterFactory
from proxy_util import ProxyFactory, backend_params, build_cluster

@pytest.fixture(scope="module", params=backend_params())
def env(request):
    cf = ClusterFactory(request); pf = ProxyFactory(request)
    try:
        cluster = build_cluster(cf, request.param, masters=3, replicas=0)
        proxy = pf.start(cluster, "--backend-connections", "4")
        yield cluster, proxy
    finally:
        try: pf.teardown()
        finally: cf.teardown()

def enc(*a):
    out = b"*%d\r\n" % len(a)
    for x in a:
        x = str(x).encode(); out += b"$%d\r\n%s\r\n" % (len(x), x)
    return out

def read_until(s, want, timeout=5):
    data = b""; end = time.monotonic() + timeout
    s.settimeout(0.3)
    while time.monotonic() < end and not data.endswith(want):
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk: break
        data += chunk
    return data

def test_multi_exec_get(env):
    cluster, proxy = env
    ok = 0
    for i in range(50):
        s = socket.create_connection(("127.0.0.1", proxy.port))
        s.sendall(enc("MULTI") + enc("SET", "k", i) + enc("EXEC") + enc("GET", "k"))
        v = str(i).encode()
        exp = b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n$%d\r\n%s\r\n" % (len(v), v)
        d = read_until(s, exp)
        s.close()
        if d == exp: ok += 1
        else: print("BAD", i, d)
    assert ok == 50

def test_mset_split_then_get(env):
    cluster, proxy = env
    ok = 0
    keys = ["a%d" % j for j in range(20)]
    for i in range(30):
        s = socket.create_connection(("127.0.0.1", proxy.port))
        args = []
        for k in keys: args += [k, i]
        s.sendall(enc("MSET", *args) + b"".join(enc("GET", k) for k in keys))
        v = str(i).encode()
        exp = b"+OK\r\n" + (b"$%d\r\n%s\r\n" % (len(v), v)) * len(keys)
        d = read_until(s, exp)
        s.close()
        if d == exp: ok += 1
        else: print("BAD", i, d)
    assert ok == 30

def test_rpush_blpop_order(env):
    cluster, proxy = env
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", proxy.port))
        s.sendall(enc("DEL", "L") + enc("RPUSH", "L", "x%d" % i) + enc("BLPOP", "L", 1) + enc("GET", "nokey"))
        el = b"x%d" % i
        exp = b"*2\r\n$1\r\nL\r\n$%d\r\n%s\r\n$-1\r\n" % (len(el), el)
        d = read_until(s, exp, 4)
        s.close()
        assert d.endswith(exp), d

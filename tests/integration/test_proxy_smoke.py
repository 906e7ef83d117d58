"""Smoke test of shoal-proxy's core (proxy/*.c) against a 3-master cluster of each kind
("redis" = Debian redis-server 7.0, "shoal" = bin/shoal-node; env SHOAL_CLUSTER_KINDS).

Per kind, one cluster and one proxy for the module:
* SET/GET of a few thousand keys across all slots with redis-py (a non-cluster client):
  every master gets keys, every value reads back, the nodes see no stray keys;
* a pipeline mixing keys of every node with commands the proxy answers itself and
  errors gets its replies strictly in request order;
* redis-cli in interactive mode (it sends COMMAND DOCS first) and in one-shot mode;
* redis-benchmark -P 16 through the proxy: zero errors;
* RESP3 through the proxy (HELLO 3: maps and doubles as Redis 7 sends them), the
  one-node cluster emulation (CLUSTER SLOTS / KEYSLOT / INFO), CROSSSLOT, unknown
  commands and protocol errors;
* SIGHUP reloads the runtime keys (requirepass), and a bad file is refused with the
  reason logged while the running configuration stays.
The full proxy suite (fanout, leases, failover, resharding) is tests/integration/test_proxy_*.py.
"""

import os
import pty
import select
import signal
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from conftest import HOST, Server
from cluster_util import ClusterFactory, kind_params, redis_cli, wait_state

REPO = Path(__file__).resolve().parents[2]
PROXY_BIN = os.environ.get("SHOAL_PROXY_BIN", str(REPO / "bin" / "shoal-proxy"))
REDIS_BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


class Proxy(Server):
    """shoal-proxy on a free port, pointed at seeds."""

    def __init__(self, seeds, args=()):
        super().__init__("shoal", args=args, binary=PROXY_BIN, name="shoal-proxy")
        self.seeds = seeds

    def argv(self):
        return [self.binary, "--port", str(self.port), "--bind", HOST, "--threads", "2",
                "--seeds", ",".join(self.seeds)] + self.extra_args


def _proxy_binary():
    if not os.path.exists(PROXY_BIN):
        subprocess.run(["make", "-C", str(REPO), "bin/shoal-proxy"], capture_output=True, timeout=300)
    if not os.path.exists(PROXY_BIN):
        pytest.fail(f"{PROXY_BIN} not found and `make bin/shoal-proxy` did not build it", pytrace=False)


@pytest.fixture(scope="module", params=kind_params())
def env(request):
    _proxy_binary()
    kind = request.param
    factory = ClusterFactory(request)
    proxy = None
    try:
        nodes = factory.nodes([kind] * 3)
        factory.create(nodes)
        wait_state(nodes, "ok", 30)
        proxy = Proxy([n.addr for n in nodes])
        proxy.start()
        c = proxy.client()
        # Wait (bounded) until the proxy routes to every master.
        deadline = time.monotonic() + 15
        while True:
            try:
                c.set("smoke:warmup", "1")
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield kind, nodes, proxy
    finally:
        if proxy is not None:
            proxy.cleanup()
        factory.teardown()


def _node_keys(node, pattern):
    with redis.Redis(host=HOST, port=node.port, socket_timeout=10) as r:
        return {k.decode() for k in r.scan_iter(match=pattern, count=1000)}


def test_set_get_across_slots(env):
    kind, nodes, proxy = env
    c = proxy.client()
    keys = [f"smoke:k:{i}" for i in range(3000)]
    for k in keys:
        assert c.set(k, k + ":v") is True
    for k in keys:
        assert c.get(k) == (k + ":v").encode()
    # Every master got its share, and only the keys of its slots.
    seen = set()
    for n in nodes:
        got = _node_keys(n, "smoke:k:*")
        assert got, f"{n.name} got no keys"
        for k in got:
            slot = int(n.ok("CLUSTER", "KEYSLOT", k))
            owner = int(c.execute_command("CLUSTER", "KEYSLOT", k))
            assert slot == owner
        seen |= got
    assert seen == set(keys)


def test_pipeline_order(env):
    kind, nodes, proxy = env
    c = proxy.client()
    p = c.pipeline(transaction=False)
    expect = []
    for i in range(600):
        k = f"smoke:p:{i}"
        p.set(k, i)
        expect.append(True)
        p.get(k)
        expect.append(str(i).encode())
        if i % 7 == 0:
            p.ping()
            expect.append(True)
        if i % 11 == 0:
            p.echo(f"e{i}")
            expect.append(f"e{i}".encode())
        if i % 13 == 0:
            p.execute_command("NOSUCHCOMMAND", i)
            expect.append("error")
        if i % 17 == 0:
            p.incr(f"smoke:p:{i}")
            expect.append(i + 1)
    got = p.execute(raise_on_error=False)
    assert len(got) == len(expect)
    for n, (e, g) in enumerate(zip(expect, got)):
        if e == "error":
            assert isinstance(g, redis.ResponseError) and "unknown command" in str(g), (n, g)
        else:
            assert e == g, (n, e, g)


def _cli_interactive(port, lines, timeout=10.0):
    """Drive interactive redis-cli through a pty (answers linenoise's cursor query)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(REDIS_CLI, [REDIS_CLI, "-h", HOST, "-p", str(port)])
    out = b""
    deadline = time.monotonic() + timeout

    def pump(seconds):
        nonlocal out
        end = min(time.monotonic() + seconds, deadline)
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    d = os.read(fd, 65536)
                except OSError:
                    return
                out += d
                if b"\x1b[6n" in d:
                    os.write(fd, b"\x1b[1;1R")
    try:
        pump(1.0)
        for line in lines:
            os.write(fd, line.encode() + b"\r")
            pump(0.7)
        os.write(fd, b"quit\r")
        pump(0.5)
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return out.decode(errors="replace")


def test_redis_cli(env):
    kind, nodes, proxy = env
    r = redis_cli("-h", HOST, "-p", proxy.port, "SET", "smoke:cli", "hello")
    assert r.stdout.strip() == "OK", r.stdout + r.stderr
    r = redis_cli("-h", HOST, "-p", proxy.port, "GET", "smoke:cli")
    assert r.stdout.strip() == "hello"
    before = proxy.client().info("commandstats").get("cmdstat_command|docs", {}).get("calls", 0)
    out = _cli_interactive(proxy.port, ["set smoke:tty world", "get smoke:tty", "hgetall smoke:nohash"])
    assert '"world"' in out, out[-2000:]
    assert "(empty array)" in out, out[-2000:]
    after = proxy.client().info("commandstats").get("cmdstat_command|docs", {}).get("calls", 0)
    assert after > before, "interactive redis-cli did not send COMMAND DOCS?"


def test_redis_benchmark_pipelined(env):
    kind, nodes, proxy = env
    r = subprocess.run([REDIS_BENCHMARK, "-h", HOST, "-p", str(proxy.port), "-t", "set,get",
                        "-n", "20000", "-P", "16", "-r", "10000", "-q"],
                       capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "error" not in out.lower(), out
    stats = proxy.client().info("commandstats")
    assert stats["cmdstat_set"]["failed_calls"] == 0
    assert stats["cmdstat_get"]["failed_calls"] == 0


def test_resp3_and_emulation(env):
    kind, nodes, proxy = env
    c = proxy.client()
    c.hset("smoke:h", mapping={"a": "1", "b": "2"})
    c.zadd("smoke:z", {"m": 1.5})
    with proxy.raw() as raw:
        hello = raw.cmd("HELLO", "3")
        assert hello.type == "%"
        h = raw.cmd("HGETALL", "smoke:h")
        assert h.type == "%", h.raw
        z = raw.cmd("ZSCORE", "smoke:z", "m")
        assert z.raw == b",1.5\r\n"
        assert raw.cmd("GET", "smoke:nosuch").raw == b"_\r\n"
    slots = c.execute_command("CLUSTER", "SLOTS")
    assert len(slots) == 1 and slots[0][0] == 0 and slots[0][1] == 16383
    assert slots[0][2][1] == proxy.port
    assert c.execute_command("CLUSTER", "KEYSLOT", "foo") == 12182
    info = c.execute_command("CLUSTER", "INFO")
    assert info["cluster_state"] == "ok" if isinstance(info, dict) else b"cluster_state:ok" in info
    with pytest.raises(redis.ResponseError, match="CROSSSLOT"):
        c.execute_command("RENAME", "smoke:a", "smoke:b")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get'"):
        c.execute_command("GET")
    with pytest.raises(redis.ResponseError, match="SELECT is not allowed in cluster mode"):
        c.execute_command("SELECT", "1")
    assert c.execute_command("SELECT", "0")


def test_protocol_errors_do_not_hurt(env):
    kind, nodes, proxy = env
    for junk in (b"*2\r\n$3\r\nGET\r\n$x\r\n", b"*1\r\n$99999999999\r\n", b"*3\r\n$3\r\nSET\r\nfoo\r\n"):
        s = socket.create_connection((HOST, proxy.port), timeout=5)
        s.sendall(junk)
        data = b""
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                data += d
        except socket.timeout:
            pass
        s.close()
        assert data.startswith(b"-ERR Protocol error"), data
    assert proxy.client().ping() is True


def test_sighup_reload(env, tmp_path):
    """SIGHUP re-reads the file: runtime keys change; a bad file is refused, the running
    configuration stays and the reason is logged."""
    kind, nodes, _ = env
    cfg = tmp_path / "proxy.yaml"
    seeds = ", ".join(n.addr for n in nodes)
    cfg.write_text(f"seeds: [{seeds}]\nrequirepass: \"\"\nmax-redirects: 16\n")
    p = Proxy([n.addr for n in nodes])
    p.config = str(cfg)
    p.argv = lambda: [p.binary, p.config, "--port", str(p.port), "--bind", HOST]
    p.start()
    try:
        assert p.client().set("smoke:hup", "1") is True
        cfg.write_text(f"seeds: [{seeds}]\nrequirepass: \"s3cret\"\nmax-redirects: 16\n")
        os.kill(p.pid, signal.SIGHUP)

        def refused():
            with p.raw() as r:
                return r.cmd("GET", "smoke:hup").raw.startswith(b"-NOAUTH")
        deadline = time.monotonic() + 5
        while not refused():
            assert time.monotonic() < deadline, "requirepass not applied after SIGHUP"
            time.sleep(0.05)
        authed = p.client(password="s3cret")
        assert authed.get("smoke:hup") == b"1"
        # A bad value: refused, the old configuration stays.
        cfg.write_text(f"seeds: [{seeds}]\nrequirepass: \"other\"\nmax-redirects: 1000\n")
        os.kill(p.pid, signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "reload refused" not in p.log():
            assert time.monotonic() < deadline, "bad reload not reported in the log"
            time.sleep(0.05)
        assert "max-redirects" in p.log()
        assert p.client(password="s3cret").get("smoke:hup") == b"1"
    finally:
        p.cleanup()

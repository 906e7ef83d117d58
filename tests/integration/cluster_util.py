"""Helpers for the cluster integration tests (test_cluster_*.py).

Starts cluster-enabled nodes of either kind ("shoal" = bin/shoal-node, "redis" = the
real redis-server 7.0 oracle) on free loopback ports (P and P+10000 both free, from
conftest.free_port), each with its own temp dir; builds clusters with
`redis-cli --cluster create ... --cluster-yes` (masters only); parses CLUSTER NODES /
CLUSTER INFO; polls with bounded waits (wait_for); kills nodes with SIGKILL.

Fixture (import it into a test module: `from cluster_util import cluster  # noqa`):
  cluster.node(kind, node_timeout=2000, args=(), cwd=None, data_dir=None,
               config_file="nodes.conf", start=True, name=None) -> ClusterNode
  cluster.nodes(kinds, **kw) -> [ClusterNode]          (started)
  cluster.create(nodes, timeout=40) -> redis-cli output (asserts success)
  cluster.build(kinds, **kw) -> [ClusterNode]          (created, cluster_state:ok)
  cluster.tmpdir() -> a temp dir removed at teardown
Every node is stopped (by PID) and its dir removed at teardown; a node that died
without the test asking (node.kill()/stop() set expect_exit) fails the test, and the
logs of all nodes are attached to a failing test's report.

Environment: SHOAL_CLUSTER_KINDS (default "shoal,redis") selects which kinds the
parametrised tests run; mixed tests need both and are skipped otherwise.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections import namedtuple

import pytest

from conftest import (HOST, RawConn, RespError, Server, ServerStartError, _crash_message,
                      _die_with_parent, _register)

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
NODE_TIMEOUT = 2000          # ms, cluster-node-timeout used by the tests
CLUSTER_KINDS = [k.strip() for k in os.environ.get("SHOAL_CLUSTER_KINDS", "shoal,redis").split(",")
                 if k.strip()]
SLOTS = 16384


def kind_params():
    """Parameter list for tests that run once per node kind (env SHOAL_CLUSTER_KINDS)."""
    return [pytest.param(k, id=k) for k in CLUSTER_KINDS]


def require_kinds(*kinds):
    missing = [k for k in kinds if k not in CLUSTER_KINDS]
    if missing:
        pytest.skip(f"SHOAL_CLUSTER_KINDS={','.join(CLUSTER_KINDS)} excludes {missing}")


# ---------------------------------------------------------------------------
# Bounded waiting

class WaitTimeout(AssertionError):
    pass


def wait_for(pred, timeout, interval=0.05, what="condition", describe=None):
    """Poll pred() until it returns something truthy (returned) or timeout seconds pass
    (WaitTimeout naming `what`, the last value or exception, and describe() if given).
    Exceptions from pred count as "not yet" (nodes restarting, links coming up)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            last = v
        except Exception as e:  # noqa: BLE001 - a transient error is just "not yet"
            v, last = None, e
        if v:
            return v
        if time.monotonic() >= deadline:
            extra = ""
            if describe is not None:
                try:
                    extra = "\n" + str(describe())
                except Exception as e:  # noqa: BLE001
                    extra = f"\n(describe failed: {e!r})"
            raise WaitTimeout(f"{what}: not true after {timeout}s (last: {last!r}){extra}")
        time.sleep(interval)


# ---------------------------------------------------------------------------
# Parsing

NodeLine = namedtuple("NodeLine", "id ip port cport hostname flags master ping_sent pong_recv "
                                  "epoch link slots open_slots raw")


def parse_slot_ranges(fields):
    """('0-5460', '5461', '[12->-id]') -> ([(0, 5460), (5461, 5461)], ['[12->-id]'])"""
    ranges, open_slots = [], []
    for f in fields:
        if f.startswith("["):
            open_slots.append(f)
        elif "-" in f:
            a, b = f.split("-", 1)
            ranges.append((int(a), int(b)))
        else:
            ranges.append((int(f), int(f)))
    return ranges, open_slots


def parse_addr(addr):
    """'ip:port@cport[,hostname]' -> (ip, port, cport, hostname)"""
    hostname = ""
    if "," in addr:
        addr, hostname = addr.split(",", 1)
    cport = None
    if "@" in addr:
        addr, c = addr.split("@", 1)
        cport = int(c)
    ip, _, port = addr.rpartition(":")
    return ip, int(port), cport, hostname


def parse_cluster_nodes(text):
    """CLUSTER NODES text -> {id: NodeLine}; flags is a frozenset, slots a tuple of ranges."""
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        f = line.split(" ")
        assert len(f) >= 8, f"CLUSTER NODES line has {len(f)} fields: {line!r}"
        ip, port, cport, hostname = parse_addr(f[1])
        ranges, open_slots = parse_slot_ranges(f[8:])
        out[f[0]] = NodeLine(f[0], ip, port, cport, hostname, frozenset(f[2].split(",")), f[3],
                             int(f[4]), int(f[5]), int(f[6]), f[7], tuple(ranges),
                             tuple(open_slots), line)
    return out


def parse_cluster_info(text):
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            v = v.strip()
            out[k] = int(v) if re.fullmatch(r"-?\d+", v) else v
    return out


def slot_count(ranges):
    return sum(b - a + 1 for a, b in ranges)


def myself_of(view):
    for n in view.values():
        if "myself" in n.flags:
            return n
    raise AssertionError("no myself line in CLUSTER NODES")


def normalized_view(view):
    """What every node must agree on: per node id -> (addr, flags without myself, master,
    configEpoch, slot ranges). Link state and ping times legitimately differ."""
    return {nid: (f"{n.ip}:{n.port}@{n.cport}", tuple(sorted(n.flags - {"myself"})), n.master,
                  n.epoch, n.slots)
            for nid, n in view.items()}


def is_failed(view, nid):
    n = view.get(nid)
    return n is not None and "fail" in n.flags


def is_pfail(view, nid):
    n = view.get(nid)
    return n is not None and "fail?" in n.flags


# ---------------------------------------------------------------------------
# Nodes

class ClusterNode(Server):
    """A cluster-enabled shoal-node or redis-server. self.dir holds the log (and is the
    node's --dir unless data_dir is given); cwd defaults to the data dir."""

    def __init__(self, kind, node_timeout=NODE_TIMEOUT, args=(), cwd=None, data_dir=None,
                 config_file="nodes.conf", name=None, port=None):
        super().__init__(kind, args=args, name=name, port=port)
        self.node_timeout = node_timeout
        self.data_dir = data_dir or self.dir
        self.cwd = cwd
        self.config_file = config_file

    def argv(self):
        a = [self.binary, "--port", str(self.port), "--bind", HOST, "--dir", self.data_dir]
        a += self.base_args()
        a += ["--cluster-enabled", "yes", "--cluster-node-timeout", str(self.node_timeout)]
        if self.config_file:
            a += ["--cluster-config-file", self.config_file]
        return a + self.extra_args

    def _spawn(self):
        self.starts += 1
        self.expect_exit = False
        argv = self.argv()
        with open(self.log_path, "ab") as f:
            f.write(f"==== harness: start #{self.starts} (cwd {self.cwd or self.data_dir}): "
                    f"{shlex.join(argv)}\n".encode())
            f.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f,
                                         stderr=subprocess.STDOUT, cwd=self.cwd or self.data_dir,
                                         preexec_fn=_die_with_parent)

    def spawn_expecting_exit(self, timeout=10.0):
        """Start the process and wait (bounded) for it to exit on its own; returns the exit
        status, or None if it is still running after timeout (it is then killed)."""
        if self.port is None:
            from conftest import free_port
            self.port = free_port()
        self._spawn()
        self.expect_exit = True
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None

    # -- commands ----------------------------------------------------------
    def call(self, *args, timeout=5.0):
        """One command on a fresh connection; bytes are decoded; errors are returned as
        RespError (not raised)."""
        with RawConn(self.port, timeout=timeout) as c:
            return _decode(c.call(*args, timeout=timeout))

    def ok(self, *args, timeout=5.0):
        """call() that must not fail."""
        r = self.call(*args, timeout=timeout)
        assert not isinstance(r, RespError), f"{self.name} {args}: {r}"
        return r

    def myid(self):
        return self.ok("CLUSTER", "MYID")

    def info(self):
        return parse_cluster_info(self.ok("CLUSTER", "INFO"))

    def view(self):
        return parse_cluster_nodes(self.ok("CLUSTER", "NODES"))

    def state(self):
        return self.info().get("cluster_state")

    @property
    def is_real_redis(self):
        """The binary is redis-server (kind "redis", or SHOAL_NODE_BIN pointed at it to
        self-check the tests): Shoal-only expectations do not apply."""
        return os.path.basename(self.binary).startswith("redis-server")

    @property
    def addr(self):
        return f"{HOST}:{self.port}"

    def kill9(self):
        self.kill(signal.SIGKILL)

    def nodes_conf_path(self):
        cf = self.config_file or "nodes.conf"
        return cf if os.path.isabs(cf) else os.path.join(self.data_dir, cf)

    def __repr__(self):
        return f"<ClusterNode {self.name} {self.kind} port={self.port} pid={self.pid}>"


def _decode(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return v


# ---------------------------------------------------------------------------
# redis-cli and whole-cluster helpers

def redis_cli(*args, timeout=30):
    """Run redis-cli with args; returns CompletedProcess (text). Bounded by timeout:
    `--cluster create` waits for the join with no limit of its own."""
    try:
        return subprocess.run([REDIS_CLI, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"")
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        raise AssertionError(f"redis-cli {' '.join(map(str, args))} did not finish in {timeout}s; "
                             f"output so far:\n{out[-3000:]}")


def cluster_create(nodes, timeout=40):
    """`redis-cli --cluster create` over nodes (masters only); asserts success; returns
    the output."""
    r = redis_cli("--cluster", "create", *[n.addr for n in nodes], "--cluster-replicas", "0",
                  "--cluster-yes", timeout=timeout)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"cluster create failed (rc {r.returncode}):\n{out}"
    assert "[OK] All 16384 slots covered" in out, out
    return out


def views(nodes):
    return {n.name: n.view() for n in nodes}


def describe_views(nodes):
    parts = []
    for n in nodes:
        try:
            parts.append(f"--- {n.name} ({n.kind}, port {n.port}) CLUSTER NODES:\n"
                         f"{n.ok('CLUSTER', 'NODES').rstrip()}\n"
                         f"cluster_state:{n.state()}")
        except Exception as e:  # noqa: BLE001
            parts.append(f"--- {n.name} ({n.kind}, port {n.port}): {e!r}")
    return "\n".join(parts)


def views_consistent(nodes, expect_ids=None):
    """All nodes report the same normalized CLUSTER NODES (and exactly expect_ids if
    given); each node's myself line is its own id. Returns the common view or None."""
    common = None
    for n in nodes:
        v = n.view()
        if myself_of(v).id != n.myid():
            return None
        nv = normalized_view(v)
        if expect_ids is not None and set(nv) != set(expect_ids):
            return None
        if common is None:
            common = nv
        elif nv != common:
            return None
    return common


def wait_consistent(nodes, timeout=15, expect_ids=None):
    return wait_for(lambda: views_consistent(nodes, expect_ids), timeout,
                    interval=0.1, what="CLUSTER NODES consistent on all nodes",
                    describe=lambda: describe_views(nodes))


def wait_state(nodes, state="ok", timeout=15):
    return wait_for(lambda: all(n.state() == state for n in nodes), timeout, interval=0.05,
                    what=f"cluster_state:{state} on all nodes",
                    describe=lambda: describe_views(nodes))


def wait_marked(survivors, target_id, flag="fail", timeout=12):
    """Every survivor lists target_id with `flag` in its flags ("fail" or "fail?")."""
    def ok():
        return all(flag in n.view()[target_id].flags for n in survivors)
    return wait_for(ok, timeout, interval=0.05,
                    what=f"node {target_id[:8]} flagged {flag} by every survivor",
                    describe=lambda: describe_views(survivors))


def meet(a, b):
    """a sends CLUSTER MEET to b's address."""
    r = a.call("CLUSTER", "MEET", HOST, b.port)
    assert r == "OK", f"CLUSTER MEET on {a.name}: {r!r}"


def keys_by_slot_owner(nodes, count_per_node=5):
    """{node: [keys whose slot that node serves]} using the cluster's own slot map."""
    from redis.crc import key_slot
    owner = {}
    for n in nodes:
        me = myself_of(n.view())
        for a, b in me.slots:
            for s in range(a, b + 1):
                owner[s] = n
    out = {n: [] for n in nodes}
    i = 0
    while any(len(v) < count_per_node for v in out.values()) and i < 100000:
        k = f"key:{i}"
        n = owner.get(key_slot(k.encode()))
        if n is not None and len(out[n]) < count_per_node:
            out[n].append(k)
        i += 1
    return out


# ---------------------------------------------------------------------------
# Fixture

def attach(request, nodes):
    """Attach nodes made by a wider-scoped factory to this test (logs on failure)."""
    for n in nodes:
        _register(request, n)


class ClusterFactory:
    def __init__(self, request):
        self.request = request
        self.made = []
        self.dirs = []

    def node(self, kind, node_timeout=NODE_TIMEOUT, args=(), cwd=None, data_dir=None,
             config_file="nodes.conf", start=True, name=None, port=None):
        n = ClusterNode(kind, node_timeout=node_timeout, args=args, cwd=cwd, data_dir=data_dir,
                        config_file=config_file, name=name or f"{kind}-{len(self.made) + 1}",
                        port=port)
        self.made.append(n)
        _register(self.request, n)
        if start:
            err = None
            try:
                n.start()
            except ServerStartError as e:
                err = str(e)
            if err is not None:
                pytest.fail(err, pytrace=False)
            r = n.call("CLUSTER", "INFO")
            if isinstance(r, RespError) or "cluster_state" not in str(r):
                pytest.fail(f"{n.name} ({n.binary}) started with --cluster-enabled yes but "
                            f"CLUSTER INFO replied {r!r}: no cluster mode", pytrace=False)
        return n

    def nodes(self, kinds, **kw):
        return [self.node(k, **kw) for k in kinds]

    def create(self, nodes, timeout=40):
        return cluster_create(nodes, timeout)

    def build(self, kinds, state_timeout=20, **kw):
        ns = self.nodes(kinds, **kw)
        self.create(ns)
        wait_state(ns, "ok", state_timeout)
        return ns

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="shoal-it-cluster-")
        self.dirs.append(d)
        return d

    def teardown(self):
        errors = []
        for n in self.made:
            if n.crashed():
                errors.append(_crash_message(n))
                n.stop()
            else:
                n.cleanup()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def cluster(request):
    f = ClusterFactory(request)
    yield f
    f.teardown()

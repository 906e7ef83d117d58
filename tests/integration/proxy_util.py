"""Helpers for the shoal-proxy integration tests (test_proxy_*.py).

Builds a cluster of N masters (+ one replica each where the node kind supports
replication) of either kind ("shoal" = bin/shoal-node, "redis" = Debian redis-server 7.0)
with `redis-cli --cluster create ... --cluster-replicas 1`, optionally with
--requirepass/--masterauth on every node; starts, stops and restarts bin/shoal-proxy in
front of it; offers slot/key helpers (a key for any slot, keys owned by a node), direct
reads on the owning master, a background load generator with per-request latency, and
bounded waits (cluster_util.wait_for).

Environment:
  SHOAL_PROXY_BIN       proxy binary (default <repo>/bin/shoal-proxy)
  SHOAL_PROXY_ARGS      extra args for every proxy (shell-quoted string)
  SHOAL_PROXY_CONFIG    config file passed as the first argument (default: none)
  SHOAL_PROXY_THREADS   --threads (default 2)
  SHOAL_PROXY_BACKENDS  which cluster kinds the tests run against (default "shoal,redis")

Objects:
  build_cluster(factory, kind, masters=3, replicas=1, node_timeout=2000, password=None,
                args=()) -> Cluster   (factory: cluster_util.ClusterFactory; replicas are
                dropped when the kind has no replication: cluster.replication says which)
  Cluster  .kind .nodes .masters .replicas .replication .password .seeds() .view()
           .owner(key_or_slot) .slot_map() .keys_on(node, n, prefix) .replica_of(master)
           .flushall() .total_keys() .get_direct(key) .wait_ok() .describe()
  ProxyFactory(request).start(cluster, *args, password=None, threads=None, routable=True)
           -> Proxy (logs attached to failing tests; .check_alive(); .teardown())
  Proxy    (a conftest.Server) .port .pid .stop() .kill(sig) .restart(args=None)
           .client(**kw) .raw() .authed_raw() .log() .cpu_seconds() .rss_bytes()
  Load(proxy, workers, timeout, keys=fn, incr_keys=[...], pair_slots=[...]).start()/.stop()
           background writers: .acked .incr_acked .errors .max_latency .summary()
  verify_keys(conn, {key: value}) / verify_keys_direct(cluster, {key: value}) -> mismatches
  key_in_slot(slot, name), spread_keys(n), slot_tag(slot)
  C/U/T + run_script/differential(proxy_conn, ref_conn, script): the same pipeline on the
           proxy and on a reference server, replies compared byte for byte (U: as sets,
           T: type only)
  resp(*items, kind="*"), bulk(x), Raw(bytes): expected RESP bytes
"""

import os
import shlex
import signal
import threading
import time
from pathlib import Path

import pytest
from redis.crc import key_slot

from conftest import (HOST, RawConn, RespError, Server, ServerStartError, _crash_message,
                      _register, fmt_raw)
from cluster_util import (ClusterFactory, ClusterNode, describe_views,  # noqa: F401
                          attach, myself_of, parse_cluster_nodes, redis_cli, wait_for, wait_state)

REPO = Path(__file__).resolve().parents[2]
PROXY_BIN = os.environ.get("SHOAL_PROXY_BIN", str(REPO / "bin" / "shoal-proxy"))
PROXY_THREADS = int(os.environ.get("SHOAL_PROXY_THREADS", "2"))
BACKENDS = [k.strip() for k in os.environ.get("SHOAL_PROXY_BACKENDS", "shoal,redis").split(",")
            if k.strip()]
SLOTS = 16384
CROSSSLOT = b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"


def backend_params():
    """pytest params for the backend kinds selected by SHOAL_PROXY_BACKENDS."""
    return [pytest.param(k, id=k) for k in BACKENDS]


# ---------------------------------------------------------------------------
# Keys and slots

_slot_tags = None


def slot_tag(slot):
    """A short string whose CRC16 slot is `slot` (table built once, ~0.2 s)."""
    global _slot_tags
    if _slot_tags is None:
        tags = [None] * SLOTS
        left, i = SLOTS, 0
        while left:
            t = f"t{i}"
            s = key_slot(t.encode())
            if tags[s] is None:
                tags[s] = t
                left -= 1
            i += 1
        _slot_tags = tags
    return _slot_tags[slot]


def key_in_slot(slot, name="k"):
    """A key in `slot` via a hash tag: '{tag}name'."""
    return f"{{{slot_tag(slot)}}}{name}"


def spread_keys(n, prefix="k"):
    """n keys with n distinct slots spread over the whole slot space."""
    return [key_in_slot((i * 7919 + 13) % SLOTS, f"{prefix}{i}") for i in range(n)]


# ---------------------------------------------------------------------------
# Cluster nodes with a password

def raw_auth(port, password, timeout=5.0, user=None):
    """A RawConn that has sent AUTH (if password) and checked +OK."""
    c = RawConn(port, timeout=timeout)
    if password:
        r = c.cmd(*(["AUTH", user, password] if user else ["AUTH", password]))
        if r.raw != b"+OK\r\n":
            c.close()
            raise AssertionError(f"AUTH on port {port}: {fmt_raw(r.raw)}")
    return c


class AuthClusterNode(ClusterNode):
    """A ClusterNode started with --requirepass (and --masterauth where the kind knows it);
    the harness's own commands authenticate first."""

    def __init__(self, kind, password, **kw):
        args = list(kw.pop("args", ()))
        args += ["--requirepass", password]
        if kind == "redis":
            args += ["--masterauth", password]
        super().__init__(kind, args=args, **kw)
        self.password = password

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"{self.name} exited with {self.proc.returncode} during "
                                       f"startup (port {self.port})\n{self._tail(60)}")
            try:
                with raw_auth(self.port, self.password, timeout=1.0) as c:
                    r = c.cmd("PING", timeout=1.0)
                    if r.raw == b"+PONG\r\n":
                        return
                    last = fmt_raw(r.raw)
            except (OSError, TimeoutError, AssertionError) as e:
                last = repr(e)
            time.sleep(0.05)
        raise ServerStartError(f"{self.name} not ready on port {self.port} after {timeout}s "
                               f"({last})\n{self._tail(60)}")

    def call(self, *args, timeout=5.0):
        from cluster_util import _decode
        with raw_auth(self.port, self.password, timeout=timeout) as c:
            return _decode(c.call(*args, timeout=timeout))

    def client(self, **kw):
        kw.setdefault("password", self.password)
        return super().client(**kw)

    def raw(self, timeout=5.0):
        c = raw_auth(self.port, self.password, timeout=timeout)
        self._clients.append(c)
        return c

    def flushall(self):
        with raw_auth(self.port, self.password, timeout=10) as c:
            r = c.cmd("FLUSHALL")
            assert r.raw == b"+OK\r\n", f"FLUSHALL on {self.name}: {fmt_raw(r.raw)}"


# ---------------------------------------------------------------------------
# A cluster

def supports_replication(node):
    r = node.call("CLUSTER", "REPLICATE", "0" * 40)
    return not (isinstance(r, RespError) and "unknown subcommand" in str(r).lower())


def supports_command(node, name):
    """The node knows the command (COMMAND INFO answers a non-nil entry)."""
    r = node.call("COMMAND", "INFO", name)
    return isinstance(r, list) and len(r) == 1 and r[0] is not None


class Cluster:
    def __init__(self, kind, nodes, password=None, node_timeout=2000):
        self.kind, self.nodes, self.password = kind, nodes, password
        self.node_timeout = node_timeout
        self.replication = False

    def alive(self):
        return [n for n in self.nodes if n.alive()]

    def any_node(self):
        for n in self.nodes:
            if n.alive() and n.proc.poll() is None:
                return n
        raise AssertionError("no live node")

    def view(self):
        """CLUSTER NODES of a live node that answers."""
        last = None
        for n in self.alive():
            try:
                return n.view()
            except Exception as e:  # noqa: BLE001 - SIGSTOPped or busy: ask another
                last = e
        raise AssertionError(f"no node answered CLUSTER NODES ({last!r})")

    def by_port(self):
        return {n.port: n for n in self.nodes}

    def node_by_id(self, nid):
        v = self.view()
        line = v.get(nid)
        return self.by_port().get(line.port) if line else None

    @property
    def masters(self):
        """Nodes serving slots now (by the cluster's view), in port order."""
        v = self.view()
        ports = {ln.port for ln in v.values() if "master" in ln.flags and ln.slots
                 and "fail" not in ln.flags}
        return [n for n in self.nodes if n.port in ports]

    @property
    def replicas(self):
        v = self.view()
        ports = {ln.port for ln in v.values() if "slave" in ln.flags}
        return [n for n in self.nodes if n.port in ports]

    def master_ids(self):
        return {n.port: n.myid() for n in self.masters}

    def replica_of(self, master):
        mid = master.myid()
        v = self.view()
        for ln in v.values():
            if "slave" in ln.flags and ln.master == mid:
                return self.by_port().get(ln.port)
        return None

    def seeds(self):
        return [n.addr for n in self.nodes if n.alive()]

    def slot_map(self):
        """{slot: ClusterNode} from a live node's CLUSTER NODES."""
        out = {}
        ports = self.by_port()
        for ln in self.view().values():
            if "master" in ln.flags and "fail" not in ln.flags:
                for a, b in ln.slots:
                    for s in range(a, b + 1):
                        out[s] = ports.get(ln.port)
        return out

    def owner(self, key_or_slot):
        s = key_or_slot if isinstance(key_or_slot, int) else key_slot(_b(key_or_slot))
        return self.slot_map().get(s)

    def keys_on(self, node, n, prefix="k"):
        """n keys in distinct slots that `node` serves."""
        ranges = [(ln.slots) for ln in self.view().values() if ln.port == node.port][0]
        slots = [s for a, b in ranges for s in range(a, b + 1)]
        assert slots, f"{node.name} serves no slots"
        step = max(1, len(slots) // n)
        return [key_in_slot(slots[(i * step) % len(slots)], f"{prefix}{i}") for i in range(n)]

    def get_direct(self, key):
        """GET on the master that serves the key's slot (bypassing the proxy)."""
        n = self.owner(key)
        return n.call("GET", key)

    def call_owner(self, key, *args):
        return self.owner(key).call(*args)

    def flushall(self):
        for n in self.masters:
            r = n.call("FLUSHALL")
            assert r == "OK", f"FLUSHALL on {n.name}: {r!r}"
        if self.replication:
            # Replicas apply FLUSHALL asynchronously; wait so a later test doesn't see keys.
            wait_for(lambda: all(r.call("DBSIZE") == 0 for r in self.replicas if r.alive()), 5,
                     what="replicas empty after FLUSHALL")

    def total_keys(self):
        return sum(n.call("DBSIZE") for n in self.masters)

    def wait_ok(self, timeout=20):
        wait_state(self.alive(), "ok", timeout)

    def describe(self):
        return describe_views(self.alive())


def _b(k):
    return k if isinstance(k, bytes) else str(k).encode()


def build_cluster(factory, kind, masters=3, replicas=1, node_timeout=2000, password=None,
                  args=(), settle_timeout=30):
    """Start masters*(1+replicas) nodes of `kind` and create a cluster with
    `redis-cli --cluster create --cluster-replicas`. Replicas are dropped (cluster.replication
    False) when the kind has no replication. Waits for cluster_state:ok on every node and,
    with replicas, for every replica to be listed and its link up."""
    if kind == "redis":
        # Replicas sync at once (the default waits 5 s for more replicas to join).
        args = ["--repl-diskless-sync-delay", "0", *args]

    def make():
        if password:
            n = AuthClusterNode(kind, password, node_timeout=node_timeout, args=args,
                                name=f"{kind}-{len(factory.made) + 1}")
            factory.made.append(n)
            _register(factory.request, n)
            try:
                n.start()
            except ServerStartError as e:
                pytest.fail(str(e), pytrace=False)
            return n
        return factory.node(kind, node_timeout=node_timeout, args=args)

    first = make()
    can_replicate = supports_replication(first)
    if not can_replicate:
        replicas = 0
    nodes = [first] + [make() for _ in range(masters * (1 + replicas) - 1)]
    auth = ["-a", password, "--no-auth-warning"] if password else []
    r = redis_cli(*auth, "--cluster", "create", *[n.addr for n in nodes], "--cluster-replicas",
                  str(replicas), "--cluster-yes", timeout=60)
    out = r.stdout + r.stderr
    if r.returncode != 0 or "[OK] All 16384 slots covered" not in out:
        pytest.fail(f"{kind} cluster create failed (rc {r.returncode}):\n{out[-3000:]}",
                    pytrace=False)
    c = Cluster(kind, nodes, password, node_timeout)
    c.replication = replicas > 0
    wait_state(nodes, "ok", settle_timeout)

    def settled():
        views = [n.view() for n in nodes]
        if any(len(v) != len(nodes) for v in views):
            return False
        v = views[0]
        n_masters = sum(1 for ln in v.values() if "master" in ln.flags and ln.slots)
        n_repl = sum(1 for ln in v.values() if "slave" in ln.flags)
        if n_masters != masters or n_repl != masters * replicas:
            return False
        for n in nodes:
            if "slave" in myself_of(n.view()).flags:
                info = n.call("INFO", "replication")
                if "master_link_status:up" not in info:
                    return False
        return True
    wait_for(settled, settle_timeout, interval=0.1, what=f"{kind} cluster settled (roles, links)",
             describe=lambda: describe_views(nodes))
    return c


# ---------------------------------------------------------------------------
# The proxy

class Proxy(Server):
    """bin/shoal-proxy on a free port in front of `seeds`, in its own temp dir (its cwd)."""

    def __init__(self, seeds, args=(), password=None, threads=None, name="shoal-proxy",
                 port=None, config=None):
        super().__init__("shoal", args=args, binary=PROXY_BIN, port=port, name=name,
                         config=config or os.environ.get("SHOAL_PROXY_CONFIG") or None)
        self.kind = "proxy"
        self.seeds = list(seeds)
        self.password = password
        self.threads = threads or PROXY_THREADS
        self.need_routable = True  # wait_ready also waits until every probe key routes
        self.routable_keys = [key_in_slot(s, "probe") for s in range(0, SLOTS, 1024)] + \
            [key_in_slot(SLOTS - 1, "probe")]

    def base_args(self):
        return shlex.split(os.environ.get("SHOAL_PROXY_ARGS", ""))

    def argv(self):
        a = [self.binary]
        if self.config:
            a.append(self.config)
        a += ["--port", str(self.port), "--bind", HOST, "--threads", str(self.threads),
              "--seeds", ",".join(self.seeds)]
        if self.password:
            a += ["--requirepass", self.password]
        return a + self.base_args() + self.extra_args

    def start(self, timeout=10.0):
        if not os.path.exists(self.binary):
            raise ServerStartError(f"shoal-proxy binary {self.binary} not found (build it with "
                                   f"`make bin/shoal-proxy`, or set SHOAL_PROXY_BIN)")
        return super().start(timeout)

    def authed_raw(self, timeout=5.0):
        c = raw_auth(self.port, self.password, timeout=timeout)
        self._clients.append(c)
        return c

    def client(self, **kw):
        if self.password:
            kw.setdefault("password", self.password)
        return super().client(**kw)

    def wait_ready(self, timeout=10.0):
        """PING answered (NOAUTH counts when a password is set), then every probe key
        (one per 1024 slots) routable: EXISTS answers an integer."""
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"{self.name} exited with {self.proc.returncode} during "
                                       f"startup (port {self.port})\n{self._tail(60)}")
            try:
                with raw_auth(self.port, self.password, timeout=1.0) as c:
                    r = c.cmd("PING", timeout=1.0)
                    if r.raw != b"+PONG\r\n":
                        last = f"PING replied {fmt_raw(r.raw)}"
                    elif not self.need_routable:
                        return
                    else:
                        bad = None
                        for k in self.routable_keys:
                            r = c.cmd("EXISTS", k, timeout=1.0)
                            if r.type != ":":
                                bad = f"EXISTS {k} -> {fmt_raw(r.raw)}"
                                break
                        if bad is None:
                            return
                        last = bad
            except (OSError, TimeoutError, AssertionError) as e:
                last = repr(e)
            time.sleep(0.05)
        raise ServerStartError(f"{self.name} not ready/routable on port {self.port} after "
                               f"{timeout}s ({last})\n{self._tail(60)}")

    def wait_routable(self, timeout=10.0):
        self.wait_ready(timeout)

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def __repr__(self):
        return f"<Proxy port={self.port} pid={self.pid}>"


class ProxyFactory:
    """Starts proxies for a test or module; stops them all at teardown. A proxy that
    exited without being asked fails the test (crash detection), with its log."""

    def __init__(self, request):
        self.request = request
        self.made = []

    def start(self, cluster, *args, password=None, threads=None, seeds=None, config=None,
              timeout=15.0, routable=True):
        p = Proxy(seeds or cluster.seeds(), args=args, password=password, threads=threads,
                  name=f"shoal-proxy-{len(self.made) + 1}", config=config)
        p.need_routable = routable
        self.made.append(p)
        _register(self.request, p)
        err = None
        try:
            p.start(timeout)
        except ServerStartError as e:
            err = str(e)
        if err is not None:
            pytest.fail(err, pytrace=False)
        return p

    def check_alive(self):
        """pytest.fail if a proxy died without being asked to."""
        dead = [p for p in self.made if p.crashed()]
        if dead:
            pytest.fail("\n\n".join(_crash_message(p) for p in dead), pytrace=False)

    def teardown(self):
        errors = []
        for p in self.made:
            if p.crashed():
                errors.append(_crash_message(p))
                p.stop()
            else:
                p.cleanup()
        if errors:
            pytest.fail("\n\n".join(errors), pytrace=False)


# ---------------------------------------------------------------------------
# Load through the proxy

class Load:
    """Background clients writing through the proxy, each on its own RawConn with a
    bounded socket timeout. Every request's latency is recorded; acknowledged SETs are
    remembered (key -> value) so the test can verify them afterwards; errors are kept
    with the time they happened. A connection that errors at socket level is replaced.

    keys: a callable (worker, i) -> key, default unique keys per worker."""

    def __init__(self, proxy, workers=4, timeout=10.0, keys=None, prefix="load", password=None,
                 pause=0.0, incr_keys=(), pair_slots=()):
        self.proxy, self.workers, self.timeout = proxy, workers, timeout
        self.prefix, self.password, self.pause = prefix, password, pause
        self.keys = keys or (lambda w, i: f"{prefix}:{w}:{i}")
        self.incr_keys = list(incr_keys)
        self.pair_slots = list(pair_slots)  # every 7th op: MSET of two keys in one such slot
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}            # key -> value acknowledged with +OK
        self.incr_acked = {}       # counter key -> number of acknowledged INCRs
        self.errors = []           # (monotonic time, key, error text)
        self.max_latency = 0.0
        self.latencies = []
        self.requests = 0
        self.threads = []

    def _conn(self):
        return raw_auth(self.proxy.port, self.password, timeout=self.timeout)

    def _run(self, w):
        conn, i = None, 0
        while not self.stop_flag.is_set():
            if conn is None:
                try:
                    conn = self._conn()
                except Exception as e:  # noqa: BLE001
                    with self.lock:
                        self.errors.append((time.monotonic(), None, f"connect: {e!r}"))
                    time.sleep(0.05)
                    continue
            do_incr = bool(self.incr_keys) and i % 5 == 4
            do_pair = not do_incr and bool(self.pair_slots) and i % 7 == 3
            val = f"v{w}:{i}"
            if do_incr:
                key = self.incr_keys[(i // 5) % len(self.incr_keys)]
                args = ("INCR", key)
            elif do_pair:
                slot = self.pair_slots[(i * 13 + w) % len(self.pair_slots)]
                key = (key_in_slot(slot, f"pa:{w}:{i}"), key_in_slot(slot, f"pb:{w}:{i}"))
                args = ("MSET", key[0], val, key[1], val)
            else:
                key = self.keys(w, i)
                args = ("SET", key, val)
            t0 = time.monotonic()
            try:
                r = conn.cmd(*args)
                err = None if (r.type == ":" if do_incr else r.raw == b"+OK\r\n") else \
                    fmt_raw(r.raw)
            except Exception as e:  # noqa: BLE001 - timeouts and resets are errors too
                err = f"{type(e).__name__}: {e}"
                conn.close()
                conn = None
            dt = time.monotonic() - t0
            with self.lock:
                self.requests += 1
                self.latencies.append(dt)
                self.max_latency = max(self.max_latency, dt)
                if err is None:
                    if do_incr:
                        self.incr_acked[key] = self.incr_acked.get(key, 0) + 1
                    elif do_pair:
                        self.acked[key[0]] = self.acked[key[1]] = val
                    else:
                        self.acked[key] = val
                else:
                    self.errors.append((t0, key, err))
            i += 1
            if self.pause:
                time.sleep(self.pause)
        if conn:
            conn.close()

    def start(self):
        for w in range(self.workers):
            t = threading.Thread(target=self._run, args=(w,), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(self.timeout + 5)
        stuck = [t for t in self.threads if t.is_alive()]
        assert not stuck, f"{len(stuck)} load threads still blocked after stop"

    def summary(self):
        lat = sorted(self.latencies)
        p99 = lat[int(len(lat) * 0.99)] if lat else 0
        return (f"{self.requests} requests, {len(self.acked)} keys acked, "
                f"{len(self.errors)} errors, max latency {self.max_latency * 1000:.1f} ms, "
                f"p99 {p99 * 1000:.1f} ms")


def verify_keys(conn, expected, chunk=500):
    """GET every key through `conn` (RawConn, pipelined in chunks; single-key commands so
    the check does not depend on multi-key splitting); returns [(key, want, got)]."""
    bad = []
    items = list(expected.items())
    for i in range(0, len(items), chunk):
        part = items[i:i + chunk]
        conn.send(b"".join(RawConn.encode("GET", k) for k, _ in part))
        for (k, want), r in zip(part, conn.read_replies(len(part), timeout=20)):
            g = r.value.decode() if r.value is not None else None
            if g != want or r.is_error:
                bad.append((k, want, fmt_raw(r.raw, 200)))
    return bad


def verify_keys_direct(cluster, expected):
    """Check every key on the master that owns its slot now (bypassing the proxy)."""
    by_node = {}
    smap = cluster.slot_map()
    for k, v in expected.items():
        by_node.setdefault(smap[key_slot(_b(k))], []).append((k, v))
    bad = []
    for node, items in by_node.items():
        with (node.raw() if not cluster.password else raw_auth(node.port, cluster.password)) as c:
            for i in range(0, len(items), 500):
                part = items[i:i + 500]
                c.send(b"".join(RawConn.encode("GET", k) for k, _ in part))
                for (k, want), r in zip(part, c.read_replies(len(part), timeout=20)):
                    g = r.value.decode() if r.value is not None else None
                    if g != want:
                        bad.append((k, want, g, fmt_raw(r.raw)))
    return bad


def bulk(s):
    """RESP bulk string bytes for s (None: the RESP2 null bulk)."""
    if s is None:
        return b"$-1\r\n"
    b = s if isinstance(s, bytes) else str(s).encode()
    return b"$%d\r\n%s\r\n" % (len(b), b)


def resp(*items, kind="*"):
    """RESP aggregate bytes: str/bytes -> bulk, int -> integer, None -> null bulk,
    bytes starting with a type byte and ending in CRLF can be passed pre-encoded via Raw."""
    out = [b"%s%d\r\n" % (kind.encode(), len(items))]
    for x in items:
        if isinstance(x, Raw):
            out.append(x.data)
        elif isinstance(x, bool):
            raise TypeError("use Raw for booleans")
        elif isinstance(x, int):
            out.append(b":%d\r\n" % x)
        else:
            out.append(bulk(x))
    return b"".join(out)


class Raw:
    """Pre-encoded RESP bytes for resp()."""

    def __init__(self, data):
        self.data = data


def deadline_after(seconds):
    return time.monotonic() + seconds


def sigstop(node):
    os.kill(node.pid, signal.SIGSTOP)


def sigcont(node):
    os.kill(node.pid, signal.SIGCONT)


__all__ = ["ClusterFactory", "Cluster", "Proxy", "ProxyFactory", "Load", "AuthClusterNode",
           "build_cluster", "backend_params", "key_in_slot", "slot_tag", "spread_keys",
           "raw_auth", "verify_keys", "verify_keys_direct", "bulk", "CROSSSLOT", "BACKENDS",
           "supports_command", "supports_replication", "sigstop", "sigcont", "wait_for",
           "key_slot", "redis_cli", "deadline_after", "parse_cluster_nodes"]


# ---------------------------------------------------------------------------
# Differential scripts: the same commands through the proxy and on a reference server

class C:
    """One command of a differential script. mode: "exact" (raw bytes equal), "unordered"
    (same type, same elements in any order: sets/hashes whose order depends on a hash
    seed), "type" (same reply type only: random or time-dependent replies)."""

    __slots__ = ("args", "mode")

    def __init__(self, *args, mode="exact"):
        self.args, self.mode = args, mode

    def __repr__(self):
        shown = " ".join(map(_show, self.args[:8]))
        return shown if len(self.args) <= 8 else f"{shown} ...({len(self.args)} args)"


def _show(a, limit=60):
    if isinstance(a, bytes):
        try:
            a = a.decode()
        except UnicodeDecodeError:
            a = repr(a)
    a = str(a)
    return a if len(a) <= limit else f"{a[:limit]}...({len(a)} chars)"


def U(*args):
    return C(*args, mode="unordered")


def T(*args):
    return C(*args, mode="type")


def as_cmds(script):
    return [c if isinstance(c, C) else C(*c) for c in script]


def run_script(conn, script, timeout=15):
    """Send the whole script as one pipeline; returns the replies (a short list, with an
    exception as its last element, if they stopped coming)."""
    from conftest import encode_command
    script = as_cmds(script)
    conn.send(b"".join(encode_command(*c.args) for c in script))
    out = []
    deadline = time.monotonic() + timeout
    for _ in script:
        try:
            out.append(conn.read_reply(max(0.01, deadline - time.monotonic())))
        except Exception as e:  # noqa: BLE001
            out.append(e)
            break
    return out


def _elements(r):
    if r.type in "*~>":
        return sorted(x.raw for x in (r.value or []))
    if r.type in "%|":
        return sorted(k.raw + v.raw for k, v in r.value)
    return [r.raw]


def same_reply(mode, got, want):
    if isinstance(got, Exception):
        return False
    if mode == "exact":
        return got.raw == want.raw
    if got.type != want.type:
        return False
    if mode == "unordered":
        return _elements(got) == _elements(want)
    return True


def diff_script(script, got, want):
    """Human-readable mismatches between proxy replies and reference replies."""
    script = as_cmds(script)
    bad = []
    for i, c in enumerate(script):
        w = want[i] if i < len(want) else None
        g = got[i] if i < len(got) else None
        if isinstance(w, Exception) or w is None:
            bad.append(f"#{i} {c!r}: reference gave no reply ({w!r})")
            break
        if g is None:
            bad.append(f"#{i} {c!r}: no reply from the proxy")
            break
        if not same_reply(c.mode, g, w):
            gs = repr(g) if isinstance(g, Exception) else fmt_raw(g.raw, 300)
            bad.append(f"#{i} {c!r} [{c.mode}]: proxy {gs}  reference {fmt_raw(w.raw, 300)}")
            if isinstance(g, Exception):
                break
    return bad


def differential(proxy_conn, ref_conn, script, timeout=15):
    """Run script on both; returns the mismatch list (empty = identical)."""
    want = run_script(ref_conn, script, timeout)
    got = run_script(proxy_conn, script, timeout)
    return diff_script(script, got, want)


# ---- the module-scoped cluster + proxy the proxy test files share ----------------------

class ProxyEnv:
    def __init__(self, kind, cluster, proxy, pf):
        self.kind, self.cluster, self.proxy, self.pf = kind, cluster, proxy, pf


def proxy_env(request, kind=None, proxy_args=(), **build):
    """Body of a cluster+proxy fixture: a cluster of `kind` (default request.param, for a
    module fixture with params=backend_params()) built by build_cluster (3 masters and 3
    replicas unless `build` says otherwise) plus one proxy started with proxy_args; yields a
    ProxyEnv, tears both down."""
    kind = kind or request.param
    build = {"masters": 3, "replicas": 1, **build}
    cf = ClusterFactory(request)
    pf = ProxyFactory(request)
    try:
        cluster = build_cluster(cf, kind, **build)
        proxy = pf.start(cluster, *proxy_args)
        yield ProxyEnv(kind, cluster, proxy, pf)
    finally:
        try:
            pf.teardown()
        finally:
            cf.teardown()


def proxy_px(request, env):
    """Body of the per-test fixture: the module's cluster+proxy, emptied (FLUSHALL straight on
    the masters); a proxy that crashed in an earlier test is restarted (that test already
    failed), and it must still be alive afterwards."""
    attach(request, env.cluster.nodes + env.pf.made)
    if not env.proxy.alive():
        env.proxy.restart()
    env.cluster.flushall()
    yield env
    env.pf.check_alive()


def reference_server(request, env):
    """A standalone server of the same kind as the cluster's nodes (emptied)."""
    return request.getfixturevalue("node" if env.kind == "shoal" else "oracle")

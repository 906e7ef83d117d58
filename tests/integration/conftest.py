"""Pytest harness for Shoal integration tests.

Starts shoal-node and a real redis-server (the "oracle") on free loopback ports, each in
its own temp dir, waits for readiness with PING (bounded), stops them by PID (SIGTERM,
then SIGKILL after a bound), attaches server logs to failing tests, guards every test
with a SIGALRM timeout, and provides raw-socket RESP helpers for protocol-level tests.

Environment knobs:
  SHOAL_NODE_BIN      shoal-node binary (default <repo>/bin/shoal-node); pointing it at
                      /usr/bin/redis-server self-checks the harness.
  SHOAL_NODE_ARGS     extra args for every shoal-node (shell-quoted string).
  REDIS_SERVER_BIN    oracle binary (default /usr/bin/redis-server).
  SHOAL_TEST_PORTS    port range "LO-HI" for P (default 12000-21999); P+10000 must also
                      be free (cluster bus port for later tests).
  SHOAL_TEST_TIMEOUT  per-test timeout in seconds (default 60).
  SHOAL_START_TIMEOUT readiness timeout in seconds (default 10).

Fixtures: node, fresh_node, node_factory, oracle, raw_conn, resp.  A server object has
.port .pid .dir .client(**kw) -> redis.Redis, .raw() -> RawConn, .log(), .stop(),
.restart(args=None), .kill(sig), .alive(), .expect_exit (set before making it exit).
Markers:
  @pytest.mark.node_args("--maxmemory", "1mb")  dedicated node (and oracle) with args
  @pytest.mark.oracle_args(...)                 dedicated oracle with other args
  @pytest.mark.fresh_node                       dedicated node with default args
  @pytest.mark.timeout_s(120)                   per-test timeout override
A server that exits during a test without the test asking for it fails the test.
"""

import ctypes
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOAL_BIN = os.environ.get("SHOAL_NODE_BIN", str(REPO / "bin" / "shoal-node"))
REDIS_BIN = os.environ.get("REDIS_SERVER_BIN", "/usr/bin/redis-server")
BUS_OFFSET = 10000
TEST_TIMEOUT = int(os.environ.get("SHOAL_TEST_TIMEOUT", "60"))
START_TIMEOUT = float(os.environ.get("SHOAL_START_TIMEOUT", "10"))
STOP_TIMEOUT = 5.0
HOST = "127.0.0.1"
# Settings every redis-server gets so both sides behave the same (no persistence).
REDIS_BASE_ARGS = ["--save", "", "--appendonly", "no"]
LOG_TAIL_LINES = 200


def _port_range():
    spec = os.environ.get("SHOAL_TEST_PORTS", "12000-21999")
    lo, hi = spec.split("-")
    return int(lo), int(hi)


# ---------------------------------------------------------------------------
# Ports

_ports_handed_out = set()


def _bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A port P in the configured range with P and P+10000 bindable on 127.0.0.1.

    Random probing keeps concurrent test runs on one machine from colliding often;
    a start that still loses the race is retried on a new port (see Server.start)."""
    lo, hi = _port_range()
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(2000):
        p = rng.randint(lo, hi)
        if p in _ports_handed_out:
            continue
        if _bindable(p) and _bindable(p + BUS_OFFSET):
            _ports_handed_out.add(p)
            return p
    raise RuntimeError(f"no free port pair in {lo}-{hi}")


# ---------------------------------------------------------------------------
# Raw RESP I/O

class RespIncomplete(Exception):
    pass


class RespProtocolError(Exception):
    pass


class Reply:
    """One RESP reply: .raw (exact bytes), .type (first byte as str), .value.

    value: simple/bulk/verbatim/big-number/double/error -> bytes (None for nulls),
    integer -> int, boolean -> bool, array/set/push -> list of Reply, map/attribute ->
    list of (Reply, Reply)."""

    __slots__ = ("raw", "type", "value")

    def __init__(self, raw, rtype, value):
        self.raw, self.type, self.value = raw, rtype, value

    @property
    def is_error(self):
        return self.type in "-!"

    @property
    def is_null(self):
        return self.type == "_" or (self.type in "$*" and self.value is None)

    def to_py(self):
        """Plain Python value: bytes/int/float-ish bytes/list/dict/None; errors -> RespError."""
        t, v = self.type, self.value
        if t in "-!":
            return RespError(v.decode("utf-8", "replace"))
        if t in "*~>":
            return None if v is None else [x.to_py() for x in v]
        if t in "%|":
            return {_hashable(k.to_py()): x.to_py() for k, x in v}
        return v

    def __eq__(self, other):
        return isinstance(other, Reply) and self.raw == other.raw

    def __hash__(self):
        return hash(self.raw)

    def __repr__(self):
        return f"Reply({fmt_raw(self.raw)})"


class RespError(Exception):
    def __eq__(self, other):
        return isinstance(other, RespError) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


def fmt_raw(raw, limit=600):
    """Readable, bounded rendering of raw protocol bytes."""
    s = repr(bytes(raw))[2:-1]
    return s if len(s) <= limit else s[:limit] + f"...(+{len(s) - limit} chars)"


def encode_command(*args):
    """RESP array of bulk strings; args may be str, bytes, int or float."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, str):
            b = a.encode()
        else:
            b = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def _line(buf, pos):
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise RespIncomplete()
    return buf[pos:end], end + 2


def parse_reply(buf, pos=0):
    """Parse one reply from buf[pos:]; returns (Reply, next_pos) or raises RespIncomplete."""
    if pos >= len(buf):
        raise RespIncomplete()
    t = chr(buf[pos])
    line, nxt = _line(buf, pos + 1)
    if t in "+-:(,_#":
        if t == ":":
            try:
                val = int(line)
            except ValueError:
                raise RespProtocolError(f"bad integer {line!r}")
        elif t == "#":
            val = line == b"t"
        elif t == "_":
            val = None
        else:
            val = bytes(line)
        return Reply(bytes(buf[pos:nxt]), t, val), nxt
    if t in "$=!":
        n = int(line)
        if n < 0:
            return Reply(bytes(buf[pos:nxt]), t, None), nxt
        if len(buf) < nxt + n + 2:
            raise RespIncomplete()
        if buf[nxt + n:nxt + n + 2] != b"\r\n":
            raise RespProtocolError("bulk not terminated by CRLF")
        return Reply(bytes(buf[pos:nxt + n + 2]), t, bytes(buf[nxt:nxt + n])), nxt + n + 2
    if t in "*~>%|":
        n = int(line)
        if n < 0:
            return Reply(bytes(buf[pos:nxt]), t, None), nxt
        items, p = [], nxt
        count = n * 2 if t in "%|" else n
        for _ in range(count):
            r, p = parse_reply(buf, p)
            items.append(r)
        if t in "%|":
            items = list(zip(items[0::2], items[1::2]))
        return Reply(bytes(buf[pos:p]), t, items), p
    raise RespProtocolError(f"unknown reply type byte {t!r} in {fmt_raw(buf[pos:pos + 40])}")


class RawConn:
    """A plain TCP connection speaking RESP by hand (no client library in the way)."""

    encode = staticmethod(encode_command)
    parse = staticmethod(parse_reply)
    fmt = staticmethod(fmt_raw)

    def __init__(self, port, host=HOST, timeout=5.0):
        self.port, self.timeout = port, timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def send_command(self, *args):
        self.sock.sendall(encode_command(*args))

    def _recv_some(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out waiting for reply")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("timed out waiting for reply")
        if not data:
            raise ConnectionError("connection closed by server")
        self.buf += data

    def read_reply(self, timeout=None):
        """Next complete reply as a Reply; TimeoutError / ConnectionError otherwise."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                r, p = parse_reply(self.buf, 0)
                del self.buf[:p]
                return r
            except RespIncomplete:
                self._recv_some(deadline)

    def read_replies(self, n, timeout=None):
        return [self.read_reply(timeout) for _ in range(n)]

    def cmd(self, *args, timeout=None):
        self.send_command(*args)
        return self.read_reply(timeout)

    def call(self, *args, timeout=None):
        """Like cmd() but returns the plain Python value (RespError for errors)."""
        return self.cmd(*args, timeout=timeout).to_py()

    def read_raw(self, timeout=0.5, until=None):
        """All bytes that arrive within timeout (stops early once `until` bytes are seen).
        Returns b"" plus whatever was buffered; does not raise on close."""
        deadline = time.monotonic() + timeout
        while until is None or until not in self.buf:
            try:
                self._recv_some(deadline)
            except (TimeoutError, ConnectionError):
                break
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def is_closed_by_peer(self, timeout=2.0):
        """True if the server closes the connection within timeout (data is discarded)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._recv_some(deadline)
                self.buf.clear()
            except ConnectionError:
                return True
            except TimeoutError:
                return False
            except OSError:  # reset counts as closed
                return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------
# Server processes

class ServerStartError(Exception):
    pass


def _die_with_parent():
    # PR_SET_PDEATHSIG=1: if pytest is killed hard, its servers go too.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def _resolve_bin(path):
    # Servers run with cwd = their temp dir: make relative paths and bare names absolute.
    if os.sep not in path:
        return shutil.which(path) or path
    return os.path.abspath(path)


class Server:
    """One shoal-node or redis-server process on 127.0.0.1 with its own temp dir."""

    def __init__(self, kind="shoal", args=(), config=None, binary=None, port=None, name=None):
        assert kind in ("shoal", "redis")
        self.kind = kind
        self.binary = _resolve_bin(binary or (SHOAL_BIN if kind == "shoal" else REDIS_BIN))
        self.config = str(config) if config else None
        self.extra_args = [str(a) for a in args]
        self.fixed_port = port
        self.port = port
        self.name = name or kind
        self.dir = tempfile.mkdtemp(prefix=f"shoal-it-{self.name}-")
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.starts = 0
        self.expect_exit = False  # set by tests that make the server exit on purpose
        self._clients = []

    # -- lifecycle ---------------------------------------------------------
    def base_args(self):
        args = []
        if self.kind == "shoal":
            args += shlex.split(os.environ.get("SHOAL_NODE_ARGS", ""))
        if os.path.basename(self.binary).startswith("redis-server"):
            args = REDIS_BASE_ARGS + args
        return args

    def argv(self):
        a = [self.binary]
        if self.config:
            a.append(self.config)
        a += ["--port", str(self.port), "--bind", HOST, "--dir", self.dir]
        return a + self.base_args() + self.extra_args

    def start(self, timeout=START_TIMEOUT):
        if not os.path.exists(self.binary):
            raise ServerStartError(
                f"{self.kind} binary {self.binary} not found (build it, or set "
                f"{'SHOAL_NODE_BIN' if self.kind == 'shoal' else 'REDIS_SERVER_BIN'})")
        attempts = 1 if self.fixed_port else 4
        for attempt in range(attempts):
            if not self.fixed_port and (self.port is None or attempt > 0):
                self.port = free_port()
            self._spawn()
            try:
                self.wait_ready(timeout)
                return self
            except ServerStartError:
                exited = self.proc.poll() is not None
                self._terminate()
                if exited and "in use" in self._tail(30).lower() and attempt + 1 < attempts:
                    continue  # lost a port race with another process: new port
                raise

    def _spawn(self):
        self.starts += 1
        self.expect_exit = False
        argv = self.argv()
        with open(self.log_path, "ab") as f:
            f.write(f"==== harness: start #{self.starts}: {shlex.join(argv)}\n".encode())
            f.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f,
                                         stderr=subprocess.STDOUT, cwd=self.dir,
                                         preexec_fn=_die_with_parent)

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with {self.proc.returncode} during startup "
                    f"(port {self.port})\n{self._tail(60)}")
            try:
                with RawConn(self.port, timeout=1.0) as c:
                    r = c.cmd("PING", timeout=1.0)
                    if r.raw == b"+PONG\r\n":
                        return
                    last = f"PING replied {fmt_raw(r.raw)}"
            except (OSError, TimeoutError, RespProtocolError) as e:
                last = repr(e)
            time.sleep(0.05)
        raise ServerStartError(f"{self.name} not ready on port {self.port} after {timeout}s "
                               f"({last})\n{self._tail(60)}")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def crashed(self):
        """Exited without the harness (or the test) asking for it."""
        return self.proc is not None and self.proc.poll() is not None and not self.expect_exit

    def _terminate(self, timeout=STOP_TIMEOUT):
        p = self.proc
        if p is None or p.poll() is not None:
            return p.returncode if p else None
        try:
            os.kill(p.pid, signal.SIGTERM)
            try:
                return p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                return p.wait(timeout)
        except ProcessLookupError:
            return p.wait(timeout)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, SIGKILL after timeout; returns the exit status."""
        self.close_clients()
        self.expect_exit = True
        return self._terminate(timeout)

    def kill(self, sig=signal.SIGKILL):
        self.expect_exit = True
        if self.alive():
            os.kill(self.proc.pid, sig)
            self.proc.wait(STOP_TIMEOUT)

    def restart(self, args=None, timeout=START_TIMEOUT):
        """Stop and start again on the same port and dir (new args if given)."""
        self.stop()
        if args is not None:
            self.extra_args = [str(a) for a in args]
        keep = self.fixed_port
        self.fixed_port = self.port  # same port so clients can reconnect
        try:
            return self.start(timeout)
        finally:
            self.fixed_port = keep

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- clients -----------------------------------------------------------
    def client(self, **kw):
        import redis
        kw.setdefault("socket_timeout", 10)
        c = redis.Redis(host=HOST, port=self.port, **kw)
        self._clients.append(c)
        return c

    def raw(self, timeout=5.0):
        c = RawConn(self.port, timeout=timeout)
        self._clients.append(c)
        return c

    def close_clients(self):
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        self._clients.clear()

    def flushall(self):
        with RawConn(self.port, timeout=10) as c:
            r = c.cmd("FLUSHALL")
            assert r.raw == b"+OK\r\n", f"FLUSHALL on {self.name}: {fmt_raw(r.raw)}"

    # -- logs ----------------------------------------------------------------
    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _tail(self, n=LOG_TAIL_LINES):
        return "\n".join(self.log().splitlines()[-n:])

    def __repr__(self):
        return f"<Server {self.name} port={self.port} pid={self.pid}>"


# ---------------------------------------------------------------------------
# Pytest plumbing

def pytest_configure(config):
    config.addinivalue_line("markers", "node_args(*args): dedicated node/oracle started with args")
    config.addinivalue_line("markers", "oracle_args(*args): dedicated oracle started with args")
    config.addinivalue_line("markers", "fresh_node: dedicated node instead of the shared one")
    config.addinivalue_line("markers", "timeout_s(n): per-test timeout override in seconds")


def _register(request, server):
    servers = getattr(request.node, "_shoal_servers", None)
    if servers is None:
        servers = request.node._shoal_servers = []
    if server not in servers:
        servers.append(server)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in getattr(item, "_shoal_servers", []):
            state = "running" if s.alive() else f"exited ({s.proc.returncode if s.proc else '-'})"
            rep.sections.append((f"{s.name} log (port {s.port}, pid {s.pid}, {state}, "
                                 f"{s.log_path})", s._tail()))


class TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _test_timeout(request):
    """Per-test watchdog: SIGALRM raises inside whatever the test is blocked on."""
    m = request.node.get_closest_marker("timeout_s")
    limit = int(m.args[0]) if m else TEST_TIMEOUT

    def on_alarm(signum, frame):
        raise TestTimeout(f"test exceeded {limit}s (SHOAL_TEST_TIMEOUT / timeout_s marker)")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _start_or_fail(fn):
    """Run a start/restart; a failure becomes a clean test error carrying the log."""
    err = None
    try:
        fn()
    except ServerStartError as e:
        err = str(e)
    if err is not None:
        pytest.fail(err, pytrace=False)


class _Shared:
    """A lazily started, session-wide server reused by tests that don't disturb it."""

    def __init__(self, kind, name):
        self.kind, self.name, self.server = kind, name, None

    def get(self):
        if self.server is None:
            self.server = Server(self.kind, name=self.name)
            _start_or_fail(self.server.start)
        elif not self.server.alive():
            _start_or_fail(self.server.restart)  # a previous test stopped or crashed it
        return self.server

    def close(self):
        if self.server:
            self.server.cleanup()


@pytest.fixture(scope="session")
def _shared_node():
    s = _Shared("shoal", "shoal-node")
    yield s
    s.close()


@pytest.fixture(scope="session")
def _shared_oracle():
    s = _Shared("redis", "oracle")
    yield s
    s.close()


def _dedicated(request, kind, args, name):
    srv = Server(kind, args=args, name=name)
    _register(request, srv)
    _start_or_fail(srv.start)
    return srv


def _finish(srv, dedicated):
    """Teardown: a server that died under the test is a test error (crash detection)."""
    crashed = srv.crashed()
    srv.close_clients()
    if crashed:
        msg = _crash_message(srv)
        if dedicated:
            srv.stop()  # dir kept for post-mortem
        pytest.fail(msg, pytrace=False)
    if dedicated:
        srv.cleanup()


def _crash_message(srv):
    rc = srv.proc.returncode if srv.proc else None
    return (f"{srv.name} (pid {srv.pid}, port {srv.port}) exited unexpectedly with status "
            f"{rc}; dir kept: {srv.dir}\n--- log tail ---\n{srv._tail(80)}")


def _use(request, shared, kind, name, marker_args):
    """Shared server (FLUSHALL first) unless the test asked for a dedicated one."""
    if marker_args is not None:
        srv = _dedicated(request, kind, marker_args, name)
        yield srv
        _finish(srv, True)
        return
    srv = shared.get()
    _register(request, srv)
    try:
        srv.flushall()
    except (OSError, TimeoutError, AssertionError, RespProtocolError):
        # Wedged by an earlier test: replace it rather than failing every later test.
        srv.kill()
        _start_or_fail(srv.restart)
        srv.flushall()
    yield srv
    _finish(srv, False)


def _marker_args(request, names):
    for n in names:
        m = request.node.get_closest_marker(n)
        if m is not None:
            return list(m.args)
    return None


@pytest.fixture
def node(request, _shared_node):
    """shoal-node: shared across tests (FLUSHALL before each) or dedicated with markers
    node_args(...)/fresh_node.  Object: .port .pid .client(**kw) .raw() .log()
    .restart(args=None) .stop() .kill() .dir"""
    args = _marker_args(request, ["node_args"])
    if args is None and request.node.get_closest_marker("fresh_node"):
        args = []
    yield from _use(request, _shared_node, "shoal", "shoal-node", args)


@pytest.fixture
def fresh_node(request):
    """A dedicated shoal-node for destructive tests (node_args marker applies)."""
    args = _marker_args(request, ["node_args"]) or []
    srv = _dedicated(request, "shoal", args, "shoal-node")
    yield srv
    _finish(srv, True)


@pytest.fixture
def oracle(request, _shared_oracle):
    """Real redis-server with the same settings (--save '' --appendonly no, plus the
    test's node_args / oracle_args markers)."""
    args = _marker_args(request, ["oracle_args", "node_args"])
    yield from _use(request, _shared_oracle, "redis", "oracle", args)


@pytest.fixture
def node_factory(request):
    """make(*args, kind="shoal", config=None, port=None, start=True, name=None) -> Server.
    Every server made here is stopped and its dir removed at teardown."""
    made = []

    def make(*args, kind="shoal", config=None, port=None, start=True, name=None, binary=None):
        srv = Server(kind, args=args, config=config, port=port, binary=binary,
                     name=name or f"{kind}-{len(made) + 1}")
        made.append(srv)
        _register(request, srv)
        if start:
            _start_or_fail(srv.start)
        return srv

    yield make
    errors = []
    for srv in made:
        if srv.crashed():
            errors.append(_crash_message(srv))
            srv.stop()  # dir kept for post-mortem
        else:
            srv.cleanup()
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def raw_conn():
    """conn(server_or_port, timeout=5.0) -> RawConn; all closed at teardown."""
    conns = []

    def make(target, timeout=5.0):
        port = target.port if isinstance(target, Server) else int(target)
        c = RawConn(port, timeout=timeout)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()


@pytest.fixture
def resp():
    """The RESP helpers as a namespace, for tests that want them without importing
    conftest: resp.RawConn, resp.Reply, resp.RespError, resp.encode, resp.parse,
    resp.fmt, resp.RespIncomplete."""
    import types
    return types.SimpleNamespace(RawConn=RawConn, Reply=Reply, RespError=RespError,
                                 encode=encode_command, parse=parse_reply, fmt=fmt_raw,
                                 RespIncomplete=RespIncomplete, Server=Server,
                                 free_port=free_port)

"""Real Redis client tools against shoal-node: interactive redis-cli under a pty,
redis-cli one-shot commands (--no-raw formatting), and a short redis-benchmark run."""

import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import termios
import time

import pytest

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
REDIS_BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def _cli_env():
    # No history/rc files from the user's home; a real terminal type for linenoise.
    return dict(os.environ, TERM="xterm", REDISCLI_HISTFILE="/dev/null",
                REDISCLI_RCFILE="/dev/null")


class PtyProc:
    """A child on a pseudo-terminal with bounded reads."""

    def __init__(self, argv):
        self.master, slave = os.openpty()
        # A window size keeps linenoise from querying the cursor position.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     env=_cli_env(), start_new_session=True)
        os.close(slave)
        self.out = b""

    def read_until(self, pattern, timeout=5.0):
        """Read until `pattern` (bytes regex) matches the escape-stripped output."""
        deadline = time.monotonic() + timeout
        while True:
            text = ANSI.sub(b"", self.out)
            if re.search(pattern, text):
                return text
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timeout waiting for {pattern!r}; output so far:\n"
                                     f"{text.decode('utf-8', 'replace')}")
            r, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if r:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO once the child has exited
                    data = b""
                if not data:
                    if self.proc.poll() is not None:
                        raise AssertionError(f"redis-cli exited ({self.proc.returncode}) "
                                             f"before {pattern!r}:\n"
                                             f"{text.decode('utf-8', 'replace')}")
                    time.sleep(0.05)
                self.out += data

    def write(self, data):
        os.write(self.master, data)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self.master)


def test_redis_cli_interactive(node):
    p = PtyProc([REDIS_CLI, "-p", str(node.port)])
    try:
        prompt = rb"127\.0\.0\.1:%d> " % node.port
        p.read_until(prompt)
        p.write(b"SET a 1\r")
        p.read_until(rb"\r\nOK\r\n" + prompt)
        p.write(b"GET a\r")
        text = p.read_until(rb'\r\n"1"\r\n' + prompt)
        p.write(b"quit\r")
        rc = p.proc.wait(5)
        assert rc == 0
        assert b"Could not connect" not in text and b"(error)" not in text, text
    finally:
        p.close()
    assert node.client().get("a") == b"1"


def _cli(node, *args, stdin=None):
    r = subprocess.run([REDIS_CLI, "-p", str(node.port), "--no-raw", *args],
                       input=stdin, capture_output=True, timeout=10, env=_cli_env())
    return r.stdout.decode(), r.returncode


SET_K = [("SET", "k", "v")]


@pytest.mark.parametrize("setup,args,expect", [
    ([], ["SET", "k", "v"], "OK\n"),
    (SET_K, ["GET", "k"], '"v"\n'),
    ([], ["GET", "missing"], "(nil)\n"),
    ([], ["INCR", "n"], "(integer) 1\n"),
    ([], ["RPUSH", "l", "a", "b c"], "(integer) 2\n"),
    ([("RPUSH", "l", "a", "b c")], ["LRANGE", "l", "0", "-1"], '1) "a"\n2) "b c"\n'),
    ([], ["LRANGE", "missing", "0", "-1"], "(empty array)\n"),
    ([], ["HSET", "h", "f", "1"], "(integer) 1\n"),
    ([("HSET", "h", "f", "1")], ["HGET", "h", "f"], '"1"\n'),
    (SET_K, ["LPUSH", "k", "x"],
     "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n"),
    ([], ["GET"], "(error) ERR wrong number of arguments for 'get' command\n"),
    ([], ["NOSUCHCOMMAND", "x"],
     "(error) ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \n"),
    ([], ["PING"], "PONG\n"),
    ([], ["ECHO", "hi\nthere"], '"hi\\nthere"\n'),
])
def test_redis_cli_one_shot(node, setup, args, expect):
    c = node.client()
    for cmd in setup:
        c.execute_command(*cmd)
    out, rc = _cli(node, *args)
    assert rc == 0
    assert out == expect


def test_redis_cli_one_shot_resp3_and_stdin(node):
    node.client().hset("h", mapping={"a": "1"})
    out, rc = _cli(node, "-3", "HGETALL", "h")
    assert rc == 0 and out == '1# "a" => "1"\n'
    # Commands piped on stdin: one reply per line.
    out, rc = _cli(node, stdin=b"SET x 5\nINCRBY x 10\nGET x\n")
    assert rc == 0 and out == 'OK\n(integer) 15\n"15"\n'


BENCH_TESTS = {  # redis-benchmark -t name -> label it prints
    "set": "SET", "get": "GET", "incr": "INCR", "lpush": "LPUSH", "lpop": "LPOP",
    "sadd": "SADD", "hset": "HSET", "zadd": "ZADD", "mset": "MSET (10 keys)",
}


@pytest.mark.parametrize("pipeline", [1, 16])
def test_redis_benchmark(node, pipeline):
    # 20000 requests: with -P 16 a tiny run can finish within the clock's
    # resolution and redis-benchmark then prints "inf" as the rate.
    argv = [REDIS_BENCHMARK, "-p", str(node.port), "-q", "-n", "20000",
            "-P", str(pipeline), "-t", ",".join(BENCH_TESTS)]
    r = subprocess.run(argv, capture_output=True, timeout=50)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, f"{argv} -> {r.returncode}\n{out}\n{r.stderr.decode()}"
    rates = {}
    for line in re.split(r"[\r\n]+", out):
        m = re.match(r"\s*(.+?): ([0-9.]+|inf) requests per second", line)
        if m:
            rates[m.group(1)] = float(m.group(2))
    for label in BENCH_TESTS.values():
        assert rates.get(label, 0) > 0, f"no rate for {label}:\n{out}"

"""MULTI/EXEC/DISCARD/WATCH/UNWATCH in shoal-node, compared with the oracle redis-server 7.0:
queued replies, EXECABORT after queueing errors, runtime errors inside EXEC, and WATCH
invalidation by other clients' writes, expiry, FLUSHALL, SWAPDB."""

import time

import pytest


def run_both(node, oracle, script, proto=None):
    """script items: a command tuple, or ("@other", cmd...) to run on a second connection."""
    conns = []
    for srv in (node, oracle):
        main, other = srv.raw(), srv.raw()
        if proto:
            main.cmd("HELLO", proto)
        conns.append((main, other))
    for i, item in enumerate(script):
        if item and item[0] == "@sleep":
            time.sleep(item[1])
            continue
        replies = []
        for main, other in conns:
            c, cmd = (other, item[1:]) if item[0] == "@other" else (main, item)
            replies.append(c.cmd(*cmd).raw)
        assert replies[0] == replies[1], f"#{i} {item}: node {replies[0]!r} != oracle {replies[1]!r}"
    return conns


def test_basic_transaction(node, oracle):
    run_both(node, oracle, [
        ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("GET", "a"), ("PING",), ("ECHO", "e"),
        ("EXEC",), ("GET", "a"),
        ("MULTI",), ("EXEC",),                       # empty transaction
        ("MULTI",), ("SET", "a", "x"), ("DISCARD",), ("GET", "a"),
    ])


def test_resp3_exec(node, oracle):
    run_both(node, oracle, [
        ("MULTI",), ("SET", "a", "1"), ("GET", "nokey"), ("CONFIG", "GET", "hz"), ("EXEC",),
    ], proto=3)


def test_errors_outside_and_nested(node, oracle):
    run_both(node, oracle, [
        ("EXEC",), ("DISCARD",), ("MULTI", "x"),
        ("MULTI",), ("MULTI",), ("WATCH", "k"), ("PING",), ("EXEC",),   # nested MULTI / WATCH don't abort
        ("MULTI",), ("DISCARD", "x"), ("EXEC",),
    ])


def test_rejected_exec_aborts(node, oracle):
    run_both(node, oracle, [
        ("EXEC", "x"),
        ("SET", "k", "1"), ("MULTI",), ("SET", "k", "2"), ("EXEC", "x"), ("GET", "k"), ("EXEC",),
        ("WATCH", "k"), ("EXEC", "x"), ("@other", "SET", "k", "3"), ("MULTI",), ("PING",), ("EXEC",),
    ])


def test_execabort_after_queueing_errors(node, oracle):
    run_both(node, oracle, [
        ("SET", "a", "0"),
        ("MULTI",), ("INCR", "a"), ("NOSUCHCOMMAND", "x"), ("INCR", "a"), ("EXEC",), ("GET", "a"),
        ("MULTI",), ("INCR", "a"), ("GET",), ("EXEC",), ("GET", "a"),            # wrong arity
        ("MULTI",), ("CONFIG", "NOSUCH"), ("EXEC",),                            # unknown subcommand
        ("MULTI",), ("GET", "a", "b"), ("DISCARD",), ("GET", "a"),             # DISCARD clears the flag
        ("MULTI",), ("INCR", "a"), ("EXEC",),
    ])


def test_runtime_errors_do_not_abort(node, oracle):
    run_both(node, oracle, [
        ("SET", "s", "notanumber"),
        ("MULTI",), ("INCR", "s"), ("SET", "b", "2"), ("EXPIRE", "b", "abc"), ("LPUSH", "s", "x"),
        ("SELECT", "99"), ("GET", "b"), ("EXEC",),
        ("GET", "b"),
    ])


def test_forbidden_inside_multi(node, oracle):
    run_both(node, oracle, [
        ("MULTI",), ("WATCH", "x"), ("SET", "a", "1"), ("EXEC",),
        ("GET", "a"),
    ])


def test_watch_other_client_write(node, oracle):
    run_both(node, oracle, [
        ("SET", "k", "1"),
        ("WATCH", "k"), ("@other", "SET", "k", "2"), ("MULTI",), ("SET", "k", "3"), ("EXEC",), ("GET", "k"),
        # Unrelated writes don't matter.
        ("WATCH", "k"), ("@other", "SET", "unrelated", "1"), ("MULTI",), ("SET", "k", "3"), ("EXEC",),
        # A watched missing key being created counts.
        ("WATCH", "new"), ("@other", "SET", "new", "1"), ("MULTI",), ("PING",), ("EXEC",),
        # Deletion counts.
        ("WATCH", "new"), ("@other", "DEL", "new"), ("MULTI",), ("PING",), ("EXEC",),
        # A delete of a missing key changes nothing.
        ("WATCH", "gone"), ("@other", "DEL", "gone"), ("MULTI",), ("PING",), ("EXEC",),
        # Own writes between WATCH and MULTI count too.
        ("WATCH", "k"), ("SET", "k", "mine"), ("MULTI",), ("PING",), ("EXEC",),
        # UNWATCH forgets.
        ("WATCH", "k"), ("UNWATCH",), ("@other", "SET", "k", "9"), ("MULTI",), ("PING",), ("EXEC",),
        # EXEC (even failed) unwatches.
        ("WATCH", "k"), ("@other", "SET", "k", "10"), ("MULTI",), ("EXEC",),
        ("@other", "SET", "k", "11"), ("MULTI",), ("PING",), ("EXEC",),
        # DISCARD unwatches too.
        ("WATCH", "k"), ("MULTI",), ("DISCARD",), ("@other", "SET", "k", "12"), ("MULTI",), ("PING",),
        ("EXEC",),
        # Several keys, only one touched.
        ("WATCH", "a", "b", "k"), ("@other", "EXPIRE", "k", "100"), ("MULTI",), ("PING",), ("EXEC",),
        # Keys are per database.
        ("SELECT", "1"), ("WATCH", "k"), ("@other", "SET", "k", "db0"), ("MULTI",), ("PING",), ("EXEC",),
        ("SELECT", "0"),
    ])


def test_watch_expiry(node, oracle):
    run_both(node, oracle, [
        ("SET", "k", "v"), ("PEXPIRE", "k", "50"),
        ("WATCH", "k"), ("@sleep", 0.12), ("MULTI",), ("PING",), ("EXEC",),
        # A key already expired when WATCHed is just missing: no abort.
        ("SET", "e", "v"), ("PEXPIRE", "e", "10"), ("@sleep", 0.05),
        ("WATCH", "e"), ("MULTI",), ("PING",), ("EXEC",),
    ])


@pytest.mark.fresh_node
def test_watch_already_expired_key_deleted_later(node, node_factory):
    """A key already expired (but not yet deleted) when WATCHed counts as missing: its
    deletion by expiry afterwards is no change, a new value is. With active expiry off on
    both servers, the deletion happens exactly where the script puts it (a lazy GET)."""
    ora = node_factory("--enable-debug-command", "yes", kind="redis")
    run_both(node, ora, [
        ("DEBUG", "SET-ACTIVE-EXPIRE", "0"),
        ("SET", "e", "v", "PX", "1"), ("@sleep", 0.02),
        ("WATCH", "e"), ("@other", "GET", "e"), ("MULTI",), ("PING",), ("EXEC",),
        # Deleted by expiry, then written again: that is a change.
        ("SET", "f", "v", "PX", "1"), ("@sleep", 0.02),
        ("WATCH", "f"), ("@other", "GET", "f"), ("@other", "SET", "f", "new"), ("MULTI",), ("PING",),
        ("EXEC",),
        # Overwritten while still present (SET deletes the expired value first).
        ("SET", "g", "v", "PX", "1"), ("@sleep", 0.02),
        ("WATCH", "g"), ("@other", "SET", "g", "new"), ("MULTI",), ("PING",), ("EXEC",),
        ("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
    ])


def test_watch_flush_and_swap(node, oracle):
    run_both(node, oracle, [
        ("SET", "k", "v"),
        ("WATCH", "k"), ("@other", "FLUSHALL",), ("MULTI",), ("PING",), ("EXEC",),
        ("SET", "k", "v"),
        ("WATCH", "k"), ("@other", "FLUSHDB",), ("MULTI",), ("PING",), ("EXEC",),
        ("SET", "k", "v"),
        ("WATCH", "k"), ("@other", "SWAPDB", "0", "1"), ("MULTI",), ("PING",), ("EXEC",),
        ("SWAPDB", "0", "1"),
    ])


def test_watch_invalidated_by_rename_move_and_expire_cmds(node, oracle):
    run_both(node, oracle, [
        ("SET", "k", "v"), ("SET", "src", "s"),
        ("WATCH", "k"), ("@other", "RENAME", "src", "k"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "k"), ("@other", "PERSIST", "k"), ("MULTI",), ("PING",), ("EXEC",),   # nothing changed
        ("WATCH", "k"), ("@other", "MOVE", "k", "1"), ("MULTI",), ("PING",), ("EXEC",),
        ("WATCH", "k"), ("@other", "EXPIRE", "k", "-1"), ("MULTI",), ("PING",), ("EXEC",),
    ])


def test_exec_queue_memory(node):
    """A long queue is fine and is freed by EXEC."""
    c = node.raw()
    c.call("MULTI")
    payload = b"v" * 1000
    c.send(b"".join(c.encode("SET", f"k{i}", payload) for i in range(2000)))
    assert [r.raw for r in c.read_replies(2000)] == [b"+QUEUED\r\n"] * 2000
    r = c.cmd("EXEC")
    assert len(r.value) == 2000 and all(x.raw == b"+OK\r\n" for x in r.value)
    assert c.call("DBSIZE") == 2000


def test_blocking_command_inside_multi(node, oracle):
    if node.raw().call("COMMAND", "INFO", "blpop") == [None]:
        pytest.skip("BLPOP not implemented yet")
    run_both(node, oracle, [
        ("MULTI",), ("BLPOP", "nolist", "0"), ("EXEC",),
    ])


def test_client_killed_during_multi(node):
    a = node.raw()
    a.call("MULTI")
    a.call("SET", "k", "v")
    a.close()
    time.sleep(0.1)
    r = node.client()
    assert r.get("k") is None
    assert r.ping()


def test_del_signals_only_deleted_keys(node, oracle):
    run_both(node, oracle, [
        ("SET", "a", "1"),
        ("WATCH", "missing"), ("@other", "DEL", "a", "missing"), ("MULTI",), ("PING",), ("EXEC",),
    ])

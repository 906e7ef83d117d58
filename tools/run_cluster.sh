#!/usr/bin/env bash
# Starts a local 3-master Shoal cluster for `make run` and keeps it in the foreground.
#
# Nodes: configs/cluster/node-7000.yaml .. node-7002.yaml (ports 7000-7002, bus ports
# 17000-17002, 127.0.0.1 only; the node's dir is set with --dir to $RUN_DIR/<port>). Each runs in the background with its dir, log
# (node.log) and PID file (node.pid) under $RUN_DIR/<port>. The first time, the nodes are
# joined with `redis-cli --cluster create` (masters only); later runs find the layout in
# each node's nodes.conf and skip that step. Waits (bounded) for cluster_state:ok on all
# three, prints how to connect, and stops the nodes it started (SIGTERM, then SIGKILL)
# on Ctrl-C, on SIGTERM, or when any node exits.
#
# Environment: SHOAL_NODE_BIN (default bin/shoal-node), RUN_DIR (default
# build/run/cluster), REDIS_CLI (default redis-cli), CLUSTER_PORTS (default
# "7000 7001 7002": three client ports given to the three configs with --port, e.g. to
# try it beside another cluster). Start over: rm -rf build/run/cluster
set -u
cd "$(dirname "$0")/.." || exit 1

BIN=${SHOAL_NODE_BIN:-bin/shoal-node}
RUN_DIR=${RUN_DIR:-build/run/cluster}
CLI=${REDIS_CLI:-redis-cli}
CONFIGS=(configs/cluster/node-7000.yaml configs/cluster/node-7001.yaml configs/cluster/node-7002.yaml)
read -r -a PORT_LIST <<<"${CLUSTER_PORTS:-7000 7001 7002}"
[ "${#PORT_LIST[@]}" = 3 ] || { echo "run_cluster: CLUSTER_PORTS needs three ports" >&2; exit 1; }
PORTS="${PORT_LIST[*]}"
FIRST=${PORT_LIST[0]}
START_WAIT=10      # seconds for each node to answer PING
CREATE_WAIT=60     # seconds for redis-cli --cluster create (it has no limit of its own)
OK_WAIT=30         # seconds for cluster_state:ok on all nodes
STOP_WAIT=5        # seconds after SIGTERM before SIGKILL

PIDS=""

say() { printf '%s\n' "run_cluster: $*"; }

stop_nodes() {
    trap - INT TERM EXIT
    [ -n "$PIDS" ] || exit "${1:-0}"
    say "stopping nodes (pids$PIDS)"
    for pid in $PIDS; do kill -TERM "$pid" 2>/dev/null; done
    for _ in $(seq $((STOP_WAIT * 10))); do
        alive=""
        for pid in $PIDS; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    for pid in $PIDS; do
        if kill -0 "$pid" 2>/dev/null; then
            say "pid $pid still running after ${STOP_WAIT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    for port in $PORTS; do rm -f "$RUN_DIR/$port/node.pid"; done
    exit "${1:-0}"
}
trap 'stop_nodes 130' INT
trap 'stop_nodes 143' TERM
trap 'stop_nodes $?' EXIT

fail() { say "error: $*"; stop_nodes 1; }

cli() { "$CLI" -h 127.0.0.1 -p "$@"; }

info_field() {  # info_field PORT FIELD -> value from CLUSTER INFO (empty on error)
    cli "$1" CLUSTER INFO 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

[ -x "$BIN" ] || fail "$BIN not found or not executable (run make first)"
command -v "$CLI" >/dev/null 2>&1 || fail "$CLI not found (apt-get install redis-tools)"

for port in $PORTS; do
    for p in "$port" $((port + 10000)); do
        if [ -n "$(ss -ltnH "sport = :$p" 2>/dev/null)" ]; then
            fail "port $p is already in use (another cluster running?)"
        fi
    done
done

for i in 0 1 2; do
    port=${PORT_LIST[$i]}
    dir="$RUN_DIR/$port"
    mkdir -p "$dir" || fail "cannot create $dir"
    "$BIN" "${CONFIGS[$i]}" --port "$port" --dir "$(cd "$dir" && pwd)" >>"$dir/node.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/node.pid"
    PIDS="$PIDS $pid"
    say "node $port started, pid $pid, log $dir/node.log"
done

for port in $PORTS; do
    ok=""
    for _ in $(seq $((START_WAIT * 10))); do
        if [ "$(cli "$port" PING 2>/dev/null)" = "PONG" ]; then ok=1; break; fi
        sleep 0.1
    done
    [ -n "$ok" ] || { tail -n 20 "$RUN_DIR/$port/node.log"; fail "node $port did not answer PING in ${START_WAIT}s"; }
done

# Already created? Every node knows all three and all slots are assigned.
created=0 fresh=0
for port in $PORTS; do
    known=$(info_field "$port" cluster_known_nodes)
    assigned=$(info_field "$port" cluster_slots_assigned)
    [ "$known" = 3 ] && [ "$assigned" = 16384 ] && created=$((created + 1))
    [ "$known" = 1 ] && [ "$assigned" = 0 ] && fresh=$((fresh + 1))
done
if [ "$created" = 3 ]; then
    say "cluster already created (nodes.conf in $RUN_DIR/<port>), skipping create"
elif [ "$fresh" = 3 ]; then
    say "creating the cluster: 3 masters, no replicas"
    timeout "$CREATE_WAIT" "$CLI" --cluster create "${PORT_LIST[@]/#/127.0.0.1:}" \
        --cluster-replicas 0 --cluster-yes </dev/null ||
        fail "redis-cli --cluster create failed or took over ${CREATE_WAIT}s"
else
    fail "the nodes are half set up (some know other nodes or own slots); to start over: rm -rf $RUN_DIR"
fi

say "waiting for cluster_state:ok on all nodes (up to ${OK_WAIT}s)"
ok=""
for _ in $(seq $((OK_WAIT * 5))); do
    n=0
    for port in $PORTS; do
        [ "$(info_field "$port" cluster_state)" = ok ] && n=$((n + 1))
    done
    if [ "$n" = 3 ]; then ok=1; break; fi
    sleep 0.2
done
[ -n "$ok" ] || { cli "$FIRST" CLUSTER NODES; fail "cluster_state did not become ok in ${OK_WAIT}s"; }

cli "$FIRST" CLUSTER NODES

# The proxy: cluster-unaware clients connect to it as to one Redis.
PROXY_PORT=${PROXY_PORT:-7777}
SEEDS=$(for port in $PORTS; do printf '127.0.0.1:%s,' "$port"; done | sed 's/,$//')
bin/shoal-proxy configs/proxy.yaml --port "$PROXY_PORT" --seeds "$SEEDS" \
    >"$RUN_DIR/proxy.log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do
    [ "$(redis-cli -p "$PROXY_PORT" PING 2>/dev/null)" = PONG ] && break
    sleep 0.1
done

cat <<EOF

Shoal cluster is up: 3 masters on 127.0.0.1 ports $PORTS (bus ports = port + 10000),
and shoal-proxy on 127.0.0.1:$PROXY_PORT.
  Connect:  redis-cli -p $PROXY_PORT          (through the proxy: any client, no cluster support needed)
            redis-cli -c -p $FIRST        (straight to a node; -c follows MOVED redirections)
  Check:    redis-cli --cluster check 127.0.0.1:$FIRST
  Logs:     $RUN_DIR/<port>/node.log, $RUN_DIR/proxy.log    Start over: rm -rf $RUN_DIR
Press Ctrl-C to stop all nodes.
EOF

# Stay in the foreground until Ctrl-C or until a node exits on its own.
while :; do
    for port in $PORTS; do
        pid=$(cat "$RUN_DIR/$port/node.pid" 2>/dev/null)
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$RUN_DIR/$port/node.log"
            fail "node $port (pid $pid) exited"
        fi
    done
    sleep 1 &
    wait $! 2>/dev/null
done

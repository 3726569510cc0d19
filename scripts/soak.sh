#!/usr/bin/env bash
# The soak of issue 14 (figures in BENCHMARKS.md): starts a release server on a free port with
# a temporary data directory, runs examples/soak.rs against it for SECONDS (default 600) at
# RATE events/s (default 400000: 80 % of the 500k events/s ingest target) with queries, the
# stream, /healthz checks and a cardinality flood, then stops the server with SIGTERM,
# restarts it on the same directory and checks that every acknowledged event is counted.
#   scripts/soak.sh [SECONDS] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
rate=${2:-400000}
cargo build --release --bin ecosystem-perf --example soak >/dev/null
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
start_server() {
  RUST_LOG=warn ./target/release/ecosystem-perf serve --listen "127.0.0.1:$port" --data-dir "$data" &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}
start_server
out=$(./target/release/examples/soak --url "$url" --pid "$server_pid" --seconds "$seconds" --rate "$rate")
echo "$out"
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
start_server
acked=$(echo "$out" | awk '/^acknowledged total:/ {print $3}')
counted=$(curl -s "$url/v1/overview?window=35d" | python3 -c 'import json,sys; print(sum(s["requests"] for s in json.load(sys.stdin)["services"]))')
overflow=$(curl -s "$url/v1/query?view=service_operation&window=35d&service=__overflow__" | python3 -c 'import json,sys; print(sum(g["count"] for g in json.load(sys.stdin)["groups"]))')
echo "after restart: $counted counted (services shown) + $overflow in __overflow__, $acked acknowledged"
[ $((counted + overflow)) -ge "$acked" ] && echo "nothing lost" || { echo "LOST EVENTS"; exit 1; }

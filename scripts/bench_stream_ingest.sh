#!/usr/bin/env bash
# HTTP ingest, the embedded server (local log, fsync group commit) beside a replica on the
# NATS JetStream stream (one nats-server with JetStream on this machine, file storage, one
# copy), same load generator, same run. For BENCHMARKS.md ("Ingest on the stream").
# Usage: scripts/bench_stream_ingest.sh [BIN_DIR] [SECONDS]   (BIN_DIR: target/release)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release}
seconds=${2:-10}
[ -x "$bin/ecosystem-perf" ] && [ -x "$bin/examples/loadgen" ] || {
  echo "build first: cargo build --release --bin ecosystem-perf --example loadgen" >&2; exit 2; }
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ready() { for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.1; done; echo "no server on $1" >&2; exit 1; }

np=$(port); "$nats" -js -a 127.0.0.1 -p "$np" -sd "$work/nats" >/dev/null 2>&1 & pids+=($!)
printf 'version: 1\ncluster:\n  nats:\n    url: nats://127.0.0.1:%s\n' "$np" > "$work/stream.yaml"

for batch in 1000 5000; do
  for mode in embedded stream; do
    p=$(port)
    extra=()
    [ "$mode" = stream ] && extra=(--config "$work/stream.yaml")
    "$bin/ecosystem-perf" serve --listen "127.0.0.1:$p" --data-dir "$work/$mode-$batch" "${extra[@]}" >/dev/null 2>&1 &
    sp=$!; pids+=($sp)
    ready "$p"
    echo "== $mode, batch $batch"
    "$bin/examples/loadgen" --url "http://127.0.0.1:$p" --threads 4 --batch "$batch" --seconds "$seconds"
    kill "$sp"; wait "$sp" 2>/dev/null || true
  done
done

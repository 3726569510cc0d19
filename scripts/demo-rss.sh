#!/usr/bin/env bash
# RSS of the demo after one simulated hour (speed 60: one real minute), for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./target/release/ecosystem-perf demo --speed 60 --listen "127.0.0.1:$port" --duration 70 >/dev/null &
pid=$!
sleep 61
grep VmRSS /proc/$pid/status
curl -s "http://127.0.0.1:$port/v1/overview?window=1h" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("events in the last simulated hour:", sum(s["requests"] for s in d["services"]))'
wait $pid

#!/usr/bin/env bash
# Counts the demo's degradation alerts and ladder changes (issue 21): plays the demo at
# --speed 60 for SECONDS real seconds (default 120: two simulated hours), then lists the
# degradation alert history per service and ecosystem_perf_degradation_transitions_total
# (when the binary has it).
# Usage: scripts/demo-ladder.sh [BINARY] [SECONDS]
set -euo pipefail
bin=${1:-./target/release/ecosystem-perf}
secs=${2:-120}
port=$((20000 + RANDOM % 20000))
dir=$(mktemp -d)
"$bin" demo --speed 60 --listen 127.0.0.1:$port --data-dir "$dir/data" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
sleep "$secs"
curl -s "http://127.0.0.1:$port/v1/alerts?kind=degradation&limit=1000" | python3 -c '
import json, sys, collections
v = json.load(sys.stdin)
rows = v.get("history", [])
per = collections.Counter(r.get("subject") for r in rows)
print("degradation alert notifications:", len(rows), dict(per))
'
curl -s "http://127.0.0.1:$port/metrics" | grep '^ecosystem_perf_degradation_transitions_total' || true

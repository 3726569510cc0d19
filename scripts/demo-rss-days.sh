#!/usr/bin/env bash
# The demo's memory over simulated days (issue 19; BENCHMARKS.md, "Memory accounted, and over
# days"): plays DAYS of history unpaced at the default rate (one line per simulated day from
# the demo: events, RSS, accounted heap, what the allocator holds), then samples the resident
# set SAMPLES times (default 20), INTERVAL seconds apart (default 1), while it runs live, and
# prints them with their median and highest (a snapshot every 30 s shows as the highest).
#   [SAMPLES=140 INTERVAL=0.25] scripts/demo-rss-days.sh [BIN=target/release/ecosystem-perf] [DAYS=7]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/ecosystem-perf}
days=${2:-7}
samples_wanted=${SAMPLES:-20}
interval=${INTERVAL:-1}
live=$(python3 -c "print(int($samples_wanted * $interval) + 5)")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$bin" demo --fast-forward "${days}d" --duration "$live" --listen "127.0.0.1:$port" >/dev/null 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
until grep -q "largest components" "$log"; do
    kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 1
done
grep "fast-forward" "$log"
samples=()
for _ in $(seq 1 "$samples_wanted"); do
    sleep "$interval"
    rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status" 2>/dev/null) || break
    samples+=("$rss")
done
echo "live RSS (MiB, every ${interval} s): ${samples[*]}"
printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {print "median", a[int((NR+1)/2)], "MiB, highest", a[NR], "MiB"}'
wait "$pid" || true

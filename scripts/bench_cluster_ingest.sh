#!/usr/bin/env bash
# HTTP ingest into the cluster with partitions owned by leases, 1, 2 and 3 replicas, beside
# the embedded server, same machine, same load generator, same run (BENCHMARKS.md, "A
# cluster of replicas"). One nats-server with JetStream (file storage, one copy) and one
# PostgreSQL, both on this machine. Each replica gets its own load generator (2 threads);
# the events are spread over 64 services, so every replica owns some of the load.
#
# Besides events/s it reports the CPU seconds each kind of process used per million
# events (from /proc/PID/stat, utime + stime), the per-event costs of the capacity model:
# the replicas (decode, validate, publish, follow, apply), nats-server (store, deliver),
# PostgreSQL (leases, snapshots), and how long the owners took after the load stopped to
# apply what was acknowledged (drain).
#
# Usage: scripts/bench_cluster_ingest.sh [BIN_DIR] [SECONDS]   (BIN_DIR: target/release)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release}
seconds=${2:-10}
[ -x "$bin/ecosystem-perf" ] && [ -x "$bin/examples/loadgen" ] || {
  echo "build first: cargo build --release --bin ecosystem-perf --example loadgen" >&2; exit 2; }
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] || { echo "PostgreSQL is missing: apt-get install postgresql-15" >&2; exit 2; }
work=$(mktemp -d /tmp/ecosystem-perf-bench.XXXXXX)
chmod 755 "$work"
pids=()
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" stop -m fast >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ready() {
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.1; done
  echo "no server on $1" >&2; tail -n 20 "$work"/*.log >&2 || true; exit 1
}
# CPU seconds (user + system) of the given processes and their threads.
cpu() { local t=0; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$(awk -v t="$t" '{print t + ($14 + $15) / 100}' "/proc/$p/stat"); done; echo "$t"; }

pgport=$(port)
mkdir "$work/pg"
[ ${#as_pg[@]} -gt 0 ] && chown postgres:postgres "$work/pg"
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg" -U perf --auth=trust -E UTF8 >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
  -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
pg_pids() { local main; main=$(head -1 "$work/pg/postmaster.pid"); echo "$main"; pgrep -P "$main" || true; }

run_loadgens() { # URL... -> total events/s
  local outs=() i=0
  for u in "$@"; do
    "$bin/examples/loadgen" --url "$u" --threads 2 --batch 5000 --services 64 --seconds "$seconds" >"$work/load.$i" &
    outs+=($!); i=$((i + 1))
  done
  wait "${outs[@]}"
  cat "$work"/load.* | tee /dev/stderr | awk '{for (k = 1; k <= NF; k++) if ($k == "events/s;") s += $(k - 1)} END {printf "%.0f\n", s}'
  rm -f "$work"/load.*
}

echo "== embedded (local log, fsync group commit)"
p=$(port)
"$bin/ecosystem-perf" serve --listen "127.0.0.1:$p" --data-dir "$work/embedded" >/dev/null 2>&1 & sp=$!; pids+=($sp)
ready "$p"
c0=$(cpu "$sp")
rate=$(run_loadgens "http://127.0.0.1:$p")
c1=$(cpu "$sp")
echo "embedded: $rate events/s, server $(awk -v a="$c0" -v b="$c1" -v r="$rate" -v s="$seconds" 'BEGIN {printf "%.2f", (b - a) / (r * s) * 1e6}') CPU s per million events"
kill "$sp"; wait "$sp" 2>/dev/null || true

for n in 1 2 3; do
  # A fresh NATS per run: the stream's subjects (perf.events.*) are taken by one stream.
  [ -n "${nats_pid:-}" ] && { kill "$nats_pid"; wait "$nats_pid" 2>/dev/null || true; }
  np=$(port); "$nats" -js -a 127.0.0.1 -p "$np" -sd "$work/nats$n" >/dev/null 2>&1 & nats_pid=$!; pids+=($nats_pid)
  db="perf$n"
  "${as_pg[@]}" "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U perf -d postgres -qc "CREATE DATABASE $db" >/dev/null
  printf 'version: 1\nstore:\n  url: postgres://perf@127.0.0.1:%s/%s\ncluster:\n  leaseTtl: 3s\n  ownership: leases\n  nats:\n    url: nats://127.0.0.1:%s\n    stream: BENCH_%s\n' \
    "$pgport" "$db" "$np" "$n" > "$work/cluster$n.yaml"
  sleep 0.5
  urls=(); rp=()
  for i in $(seq "$n"); do
    p=$(port)
    "$bin/ecosystem-perf" serve --listen "127.0.0.1:$p" --data-dir "$work/c$n-$i" --config "$work/cluster$n.yaml" >"$work/c$n-$i.log" 2>&1 &
    rp+=($!); pids+=($!)
    ready "$p"
    urls+=("http://127.0.0.1:$p")
  done
  # Until every partition has an owner and every replica owns some.
  for _ in $(seq 100); do
    counts=$(for u in "${urls[@]}"; do curl -sf "$u/v1/cluster" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["stream"]["ownedPartitions"]))'; done)
    total=$(echo "$counts" | awk '{s += $1} END {print s}')
    [ "$total" = 32 ] && ! echo "$counts" | grep -qx 0 && break
    sleep 0.3
  done
  echo "== $n replica(s), partitions owned: $(echo "$counts" | paste -sd' ')"
  pg=($(pg_pids | sort -u))
  r0=$(cpu "${rp[@]}"); n0=$(cpu "$nats_pid"); g0=$(cpu "${pg[@]}")
  rate=$(run_loadgens "${urls[@]}")
  stopped=$(date +%s.%N)
  for u in "${urls[@]}"; do
    for _ in $(seq 600); do
      [ "$(curl -sf "$u/v1/cluster" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stream"]["lagRecords"])')" = 0 ] && break
      sleep 0.1
    done
  done
  drained=$(date +%s.%N)
  r1=$(cpu "${rp[@]}"); n1=$(cpu "$nats_pid"); g1=$(cpu "${pg[@]}")
  events=$(awk -v r="$rate" -v s="$seconds" 'BEGIN {print r * s}')
  per() { awk -v a="$1" -v b="$2" -v e="$events" 'BEGIN {printf "%.2f", (b - a) / e * 1e6}'; }
  echo "$n replica(s): $rate events/s; drain after the load $(awk -v a="$stopped" -v b="$drained" 'BEGIN {printf "%.1f", b - a}') s; CPU s per million events: replicas $(per "$r0" "$r1"), nats-server $(per "$n0" "$n1"), PostgreSQL $(per "$g0" "$g1")"
  for p in "${rp[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
done

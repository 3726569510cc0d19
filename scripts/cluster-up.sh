#!/usr/bin/env bash
# A local cluster to try the replicated mode on one machine: three nats-server nodes with
# JetStream (one NATS cluster, records kept on all three), one PostgreSQL (run as the
# postgres user when started as root: initdb refuses root), and three ecosystem-perf
# replicas on free ports sharing both, the stream's partitions owned by leases (any replica
# answers; `ecosystem-perf cluster status` shows who owns what). Everything lives in a temporary directory and is
# stopped and removed on Ctrl-C (only the processes this script started).
#
# Usage: scripts/cluster-up.sh [BINARY]        (default: target/release/ecosystem-perf)
# Needs: nats-server (Debian: nats-server), PostgreSQL 15 (Debian: postgresql-15).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/ecosystem-perf}
[ -x "$bin" ] || { echo "build first: cargo build --release (or pass the binary)" >&2; exit 2; }
nats=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$nats" ] || { echo "nats-server is missing: apt-get install nats-server" >&2; exit 2; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$pgbin" ] || { echo "PostgreSQL is missing: apt-get install postgresql-15" >&2; exit 2; }

work=$(mktemp -d /tmp/ecosystem-perf-cluster.XXXXXX)
chmod 755 "$work"
pids=()        # NATS nodes
replicas=()
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
cleanup() {
  # The replicas first, while NATS and PostgreSQL still answer: a replica hands its
  # partitions over (final snapshots) as it stops. Then NATS and PostgreSQL.
  for p in "${replicas[@]}"; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 150); do
    alive=0; for p in "${replicas[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.2
  done
  for p in "${replicas[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" stop -m fast >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# NATS: three nodes, one cluster.
declare -a cp np
for i in 0 1 2; do np[$i]=$(port); cp[$i]=$(port); done
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do [ "$j" != "$i" ] && routes="${routes:+$routes,}nats://127.0.0.1:${cp[$j]}"; done
  "$nats" -js -n "n$i" -a 127.0.0.1 -p "${np[$i]}" -sd "$work/nats$i" \
    --cluster_name perf --cluster "nats://127.0.0.1:${cp[$i]}" --routes "$routes" \
    >"$work/nats$i.log" 2>&1 &
  pids+=($!)
done
nats_urls="nats://127.0.0.1:${np[0]},nats://127.0.0.1:${np[1]},nats://127.0.0.1:${np[2]}"

# PostgreSQL: its own data directory and socket in the temporary directory.
pgport=$(port)
mkdir "$work/pg"
[ ${#as_pg[@]} -gt 0 ] && chown postgres:postgres "$work/pg"
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg" -U perf --auth=trust -E UTF8 >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
  -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
"${as_pg[@]}" "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U perf -d postgres -qc "CREATE DATABASE perf" >/dev/null

# Wait until JetStream has a leader (the first replica creates the stream with 3 copies).
for _ in $(seq 100); do
  grep -q "JetStream cluster new metadata leader" "$work"/nats*.log 2>/dev/null && break
  sleep 0.2
done

cat >"$work/cluster.yaml" <<YAML
version: 1
store:
  url: postgres://perf@127.0.0.1:$pgport/perf
cluster:
  ownership: leases
  nats:
    url: $nats_urls
    replicas: 3
YAML

echo "ecosystem-perf cluster in $work"
for i in 0 1 2; do
  p=$(port)
  "$bin" serve --listen "127.0.0.1:$p" --data-dir "$work/replica$i" --config "$work/cluster.yaml" \
    >"$work/replica$i.log" 2>&1 &
  replicas+=($!)
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$p/readyz" >/dev/null || { echo "replica $i did not start:" >&2; cat "$work/replica$i.log" >&2; exit 1; }
  echo "  replica $i: http://127.0.0.1:$p   (ecosystem-perf cluster status --server http://127.0.0.1:$p)"
done
echo "  NATS: $nats_urls"
echo "  PostgreSQL: postgres://perf@127.0.0.1:$pgport/perf"
echo "Send events to any replica (ecosystem-perf ingest FILE --server URL); Ctrl-C stops everything."
wait "${replicas[@]}" "${pids[@]}"

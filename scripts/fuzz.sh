#!/usr/bin/env bash
# Runs every fuzz target of crates/perf-fuzz under libFuzzer on the stable toolchain, one
# after the other, SECONDS_PER_TARGET each (default 400: the nine targets take an hour), and
# prints one line per target: runs, new coverage, crashes. New interesting inputs go to
# fuzz/work/TARGET (not committed); crashes to fuzz/artifacts/TARGET. While the file
# fuzz/work/PAUSE exists the script waits between targets (to free the cores for a soak).
#   cargo install cargo-fuzz     # once
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
per_target=${1:-400}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(events_json events_ndjson events_gzip resources csv_series config_yaml slo_documents baseline_json log_segment)
fi
cargo fuzz build --sanitizer none -O >/dev/null
mkdir -p work
for t in "${targets[@]}"; do
  while [ -e work/PAUSE ]; do sleep 5; done
  mkdir -p "work/$t"
  log="work/$t.log"
  status=0
  cargo fuzz run --sanitizer none -O "$t" "work/$t" "corpus/$t" -- \
    -max_total_time="$per_target" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || echo "cov: ?")
  echo "$t: ${per_target}s, $runs runs, $cov, exit $status, new inputs $(ls "work/$t" | wc -l)"
done

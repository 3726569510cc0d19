#!/usr/bin/env bash
# Runs `ecosystem-perf anomaly detect` over every series of the NAB subset in ../shared/data/nab
# and scores the output with ../shared/tools/nab/nab_eval.py (standard, low-FP and low-FN
# profiles). One configuration for every file. Usage: scripts/nab_eval.sh [DATA_DIR] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data/nab}"
shift || true
cargo build --release -q -p ecosystem-perf
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
while IFS= read -r -d '' f; do
  rel="${f#"$data"/}"
  mkdir -p "$results/$(dirname "$rel")"
  ./target/release/ecosystem-perf anomaly detect --input "$f" --output "$results/$rel" 2>/dev/null \
    || { echo "anomaly detect failed on $f" >&2; ./target/release/ecosystem-perf anomaly detect --input "$f" --output /dev/null; exit 1; }
done < <(find "$data" -name '*.csv' -print0)
python3 ../shared/tools/nab/nab_eval.py --data "$data" --results "$results" "$@"

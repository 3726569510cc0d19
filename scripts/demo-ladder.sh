#!/usr/bin/env bash
# Counts the demo's ladder changes per scripted incident (issue 21): plays HOURS (default 6) of
# the demo's history unpaced with an evaluation cycle every simulated 10 s (as a server at the
# default evaluationInterval runs them), then reads every service's recent changes from
# GET /v1/degradation and puts each in the scripted incident it falls in (the minutes of
# crates/perf-sim/src/demo_script.rs, plus 15 minutes after each for the way down) or outside
# them. The growing qindex (from minute 10, up to 3.5x its load) counts apart: it is no
# hourly incident. Also prints the degradation alert notifications.
# Usage: [SEED=42] scripts/demo-ladder.sh [BINARY] [HOURS]   (SEED: the demo's random seed)
set -euo pipefail
bin=${1:-./target/release/ecosystem-perf}
hours=${2:-6}
port=$((20000 + RANDOM % 20000))
dir=$(mktemp -d)
"$bin" demo --fast-forward "${hours}h" --fast-forward-cycle 10s --duration 600 --seed "${SEED:-42}" \
    --listen 127.0.0.1:$port --data-dir "$dir/data" >/dev/null 2>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
until grep -q "caught up" "$dir/err"; do
    kill -0 $pid 2>/dev/null || { cat "$dir/err"; exit 1; }
    sleep 1
done
curl -sf "http://127.0.0.1:$port/v1/degradation" >"$dir/degradation.json"
curl -sf "http://127.0.0.1:$port/v1/alerts?kind=degradation&limit=1000" >"$dir/alerts.json"
python3 - "$dir/err" "$dir/degradation.json" "$dir/alerts.json" <<'PY'
import collections, datetime, json, re, sys
err, deg, alerts = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
start = datetime.datetime.fromisoformat(re.search(r"playing from (\S+)", err).group(1).replace("Z", "+00:00"))
incidents = {"qnet": (2, 5), "qflow": (12, 18), "qwallet": (33, 39), "qindex": (44, 52)}
worst, outside_all, over = 0, 0, 0
for s in deg["services"]:
    per, outside, rows = collections.Counter(), 0, []
    for t in s.get("history", []):
        at = datetime.datetime.fromisoformat(t["at"].replace("Z", "+00:00"))
        minutes = (at - start).total_seconds() / 60
        hour, minute = int(minutes // 60), minutes % 60
        w = incidents.get(s["service"])
        if w and w[0] <= minute < w[1] + 15:
            per[hour] += 1
        else:
            outside += 1
        rows.append(f"    h{hour} m{minute:4.1f} L{t['from']}->L{t['to']}  {t['reason']}")
    counts = [per[h] for h in sorted(per)]
    worst = max([worst] + counts)
    over += sum(c > 2 for c in counts)
    if s["service"] != "qindex":
        outside_all += outside
    label = " (growth)" if s["service"] == "qindex" else ""
    print(f"{s['service']}: changes per incident {counts}, outside incidents{label} {outside}")
    print("\n".join(rows))
rows = alerts.get("history", [])
print("degradation alert notifications:", len(rows), dict(collections.Counter(r.get("subject") for r in rows)))
print(f"summary: incidents with more than 2 changes {over}, most changes in one incident {worst}, changes outside incidents (qindex growth apart) {outside_all}")
PY

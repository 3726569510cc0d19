#!/usr/bin/env python3
"""Writes an NDJSON event file for the offline gate's cost benchmark (BENCHMARKS.md,
"Deployment gate / Cost"): N events of one service over 10 operations, lognormal latencies,
0.5 % errors, one event per 10 ms from a fixed start. `--slower F` multiplies every latency
(a candidate that regressed). Deterministic for a given --seed.

    scripts/gen_gate_events.py --events 1000000 --seed 1 > /tmp/b.ndjson
    scripts/gen_gate_events.py --events 1000000 --seed 2 --slower 1.05 > /tmp/c.ndjson
"""
import argparse
import random
import sys

p = argparse.ArgumentParser()
p.add_argument("--events", type=int, default=1_000_000)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--slower", type=float, default=1.0)
a = p.parse_args()
rng = random.Random(a.seed)
ops = [f"GET /api/v1/op{i}" for i in range(10)]
out = sys.stdout
start = 1_764_450_000_000
buf = []
for i in range(a.events):
    op = rng.randrange(10)
    lat = rng.lognormvariate(3.0 + op * 0.1, 0.6) * a.slower
    ok = "false" if rng.random() < 0.005 else "true"
    buf.append(
        f'{{"ts":{start + i * 10},"service":"qnet","operation":"{ops[op]}",'
        f'"node":"qnet-{i % 8}","tenant":"dao-{i % 4}","entity":"caller-{rng.randrange(5000)}",'
        f'"version":"v1","latencyMs":{lat:.3f},"ok":{ok}}}\n'
    )
    if len(buf) >= 10_000:
        out.write("".join(buf))
        buf.clear()
out.write("".join(buf))

#!/usr/bin/env python3
"""A recorded day of a five-service ecosystem as NDJSON, for the go-live, backup and restore
figures in BENCHMARKS.md: `gen_day.py EVENTS_PER_MINUTE MINUTES OUT [DAY]` (DAY shifts the
start by whole days after 2026-01-01). Seeded: the same arguments give the same file.
Lognormal latencies (median ~27 ms), 0.2 % errors, 90 % cache hits per service cache space,
four request operations over three classes, three nodes, four tenants, fifty callers."""
import random
import sys

random.seed(7)
per_minute, minutes, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
day = int(sys.argv[4]) if len(sys.argv) > 4 else 0
t0 = 1767225600000 + day * 86400000
services = ["qnet", "qwallet", "qflow", "qindex", "qfeed"]
operations = {"GET /a": "read", "GET /b": "read", "POST /c": "write", "POST /d": "complex_write"}
ops = list(operations)
with open(out, "w") as f:
    for m in range(minutes):
        t = t0 + m * 60000
        lines = []
        for k in range(per_minute):
            s, o = services[k % 5], ops[(k // 5) % 4]
            lines.append(
                '{"ts":%d,"service":"%s","operation":"%s","class":"%s","latencyMs":%.2f,'
                '"node":"%s-%d","ok":%s,"cost":0.0001,"cache":"%s","cacheSpace":"%s-kv",'
                '"tenant":"dao-%d","entity":"c-%d"}'
                % (
                    t + k * 60000 // per_minute, s, o, operations[o],
                    random.lognormvariate(3.3, 0.5), s, k % 3,
                    "false" if random.random() < 0.002 else "true",
                    "hit" if random.random() < 0.9 else "miss", s, k % 4, k % 50,
                )
            )
        f.write("\n".join(lines) + "\n")

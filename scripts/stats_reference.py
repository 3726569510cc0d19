#!/usr/bin/env python3
"""Generates crates/perf-core/tests/fixtures/stats_reference.json: reference values from
scipy and statsmodels for the comparison engine's statistics (Mann-Whitney U, Wilson and
Newcombe intervals, the pooled two-proportion z test, Holm and Benjamini-Hochberg, the
Theil-Sen slope). The Rust test `tests/stats_reference.rs` checks them to 1e-6.

    pip install scipy statsmodels numpy && python3 scripts/stats_reference.py
"""
import json
import pathlib

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (confint_proportions_2indep,
                                          proportion_confint, proportions_ztest)

rng = np.random.default_rng(20261129)
out = {"mann_whitney": [], "wilson": [], "newcombe": [], "z_test": [], "adjust": [], "theil_sen": []}


def mwu_case(name, x, y, method):
    case = {"name": name, "candidate": [float(v) for v in x], "baseline": [float(v) for v in y]}
    for alt in ["greater", "less", "two-sided"]:
        r = stats.mannwhitneyu(x, y, alternative=alt, method=method, use_continuity=True)
        case["p_" + alt.replace("-", "_")] = float(r.pvalue)
        if alt == "greater":
            case["u"] = float(r.statistic)
    case["exact"] = method == "exact"
    out["mann_whitney"].append(case)


# Small, no ties: exact distribution.
for k, (m, n) in enumerate([(5, 7), (12, 9), (20, 20), (40, 50), (3, 30)]):
    x = rng.lognormal(3.0, 0.6, m) * (1.1 if k % 2 else 1.0)
    y = rng.lognormal(3.0, 0.6, n)
    mwu_case(f"exact_{m}x{n}", x, y, "exact")
# Ties (rounded values): normal approximation with tie correction.
for k, (m, n) in enumerate([(30, 40), (200, 150), (60, 61)]):
    x = np.round(rng.lognormal(2.0, 0.5, m) * (1.0 + 0.1 * k))
    y = np.round(rng.lognormal(2.0, 0.5, n))
    mwu_case(f"ties_{m}x{n}", x, y, "asymptotic")
# Larger, no ties, asymptotic.
for m, n in [(400, 500), (1000, 700)]:
    x = rng.lognormal(3.0, 0.8, m) * 1.03
    y = rng.lognormal(3.0, 0.8, n)
    mwu_case(f"large_{m}x{n}", x, y, "asymptotic")

for count, nobs, alpha in [(0, 50, 0.01), (3, 1000, 0.01), (50, 100, 0.05), (997, 1000, 0.01), (12, 40, 0.10)]:
    lo, hi = proportion_confint(count, nobs, alpha=alpha, method="wilson")
    out["wilson"].append({"count": count, "nobs": nobs, "alpha": alpha, "low": lo, "high": hi})

for c1, n1, c2, n2, alpha in [(30, 1000, 10, 1000, 0.01), (0, 500, 4, 800, 0.05), (45, 50, 40, 50, 0.01), (120, 20000, 90, 21000, 0.01)]:
    lo, hi = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", compare="diff", alpha=alpha)
    out["newcombe"].append({"c1": c1, "n1": n1, "c2": c2, "n2": n2, "alpha": alpha, "low": float(lo), "high": float(hi)})

for c1, n1, c2, n2 in [(30, 1000, 10, 1000), (10, 1000, 30, 1000), (120, 20000, 90, 21000), (5, 40, 2, 35)]:
    _, p = proportions_ztest([c1, c2], [n1, n2], alternative="larger")
    out["z_test"].append({"c1": c1, "n1": n1, "c2": c2, "n2": n2, "p": float(p)})

for k in range(3):
    p = rng.uniform(0, 0.1, 12).tolist()
    out["adjust"].append({
        "p": p,
        "holm": multipletests(p, method="holm")[1].tolist(),
        "bh": multipletests(p, method="fdr_bh")[1].tolist(),
    })

for k in range(3):
    t = np.arange(15, dtype=float)
    y = 100 + 2.5 * t + rng.normal(0, 5, 15)
    out["theil_sen"].append({"t": t.tolist(), "y": y.tolist(), "slope": float(stats.theilslopes(y, t)[0])})

path = pathlib.Path(__file__).resolve().parent.parent / "crates/perf-core/tests/fixtures/stats_reference.json"
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}")

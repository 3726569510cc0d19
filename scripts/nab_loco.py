#!/usr/bin/env python3
"""Leave-one-category-out tuning of the anomaly detector on the NAB subset in ../shared.

For each category of the subset: choose every parameter of `perf_core::anomaly::Tuning` on
the other categories (one pass of coordinate ascent over the grid below, starting from the
shipped defaults, by the NAB standard score with one threshold over the training files),
then score the chosen parameters on the held-out category alone. The held-out outputs of the
folds together make the LOCO corpus, scored once with one threshold: the figure an operator
can expect on series nobody tuned on. The same ascent on every category gives the in-sample
figure beside it.

Usage: scripts/nab_loco.py [--data ../shared/data/nab] [--extra DIR ...] [--json]
`--extra` adds the categories of another NAB-format corpus, e.g. the synthetic shapes the
subset lacks (`cargo run --release -p perf-core --example anomaly_synthetic -- --nab DIR`).
(Build `cargo build --release -p perf-core --example anomaly_tune` first; about 5 minutes.)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCORER = os.path.join(ROOT, "..", "shared", "tools", "nab", "nab_eval.py")
RUNNER = os.path.join(ROOT, "target", "release", "examples", "anomaly_tune")

# Candidate values per parameter; the shipped default is among them.
GRID = {
    "shortAlpha": [0.2, 0.3, 0.4, 0.5, 0.6],
    "mediumAlpha": [0.02, 0.05, 0.1],
    "minSpread": [0.15, 0.25, 0.4],
    "minAlertSurprise": [4.0, 5.0, 6.0, 8.0],
    "learnLevel": [0.2, 0.3, 0.4],
    "refractoryPoints": [20, 45, 90],
    "recordTail": [1e-4, 1e-6, 1e-8],
    "peakDecay": [0.8, 0.9, 0.95],
    "surpriseWindow": [0.0, 2000.0, 5000.0],
    "exceedancePrior": [0.0, 10000.0, 50000.0, 200000.0],
    "exceedanceTail": [1e-3, 1e-4, 1e-5],
}
DEFAULTS = {
    "shortAlpha": 0.4,
    "mediumAlpha": 0.05,
    "minSpread": 0.25,
    "minAlertSurprise": 6.0,
    "learnLevel": 0.3,
    "refractoryPoints": 45,
    "recordTail": 1e-6,
    "peakDecay": 0.9,
    "surpriseWindow": 0.0,
    "exceedancePrior": 0.0,
    "exceedanceTail": 1e-4,
}


class Bench:
    def __init__(self, roots, work):
        self.roots = roots
        self.work = work
        self.root_of = {}
        self.windows = {}
        for root in roots:
            for d in os.listdir(root):
                if os.path.isdir(os.path.join(root, d)) and any(
                        f.endswith(".csv") for f in os.listdir(os.path.join(root, d))):
                    self.root_of[d] = root
            with open(os.path.join(root, "combined_windows.json")) as f:
                self.windows.update(json.load(f))
        self.categories = sorted(self.root_of)
        self.runs = {}
        self.subsets = {}

    def results(self, tuning):
        """The results folder of one tuning over every series (cached)."""
        key = json.dumps(tuning, sort_keys=True)
        if key not in self.runs:
            out = os.path.join(self.work, "run%d" % len(self.runs))
            for root in self.roots:
                subprocess.run([RUNNER, root, out, key], check=True)
            self.runs[key] = out
        return self.runs[key]

    def subset(self, categories):
        """A data folder holding only `categories` (links) and their labels."""
        key = tuple(sorted(categories))
        if key not in self.subsets:
            d = os.path.join(self.work, "data-" + "-".join(key))
            os.makedirs(d)
            for c in key:
                os.symlink(os.path.join(self.root_of[c], c), os.path.join(d, c))
            labels = {k: v for k, v in self.windows.items() if k.split("/")[0] in key}
            with open(os.path.join(d, "combined_windows.json"), "w") as f:
                json.dump(labels, f)
            shutil.copy(os.path.join(self.roots[0], "profiles.json"), d)
            self.subsets[key] = d
        return self.subsets[key]

    def scored(self, categories, results):
        """The scorer's standard profile (score, threshold) over `categories`."""
        out = subprocess.run(
            [sys.executable, SCORER, "--data", self.subset(categories), "--results", results, "--json"],
            check=True, capture_output=True, text=True,
        ).stdout
        return json.loads(out)["standard"]

    def score(self, categories, results):
        return self.scored(categories, results)["score"]

    def has_windows(self, category):
        return any(v for k, v in self.windows.items() if k.split("/")[0] == category)

    def false_alarms(self, category, results, threshold):
        """Rows after NAB's probation scoring at or above `threshold` (a category without
        anomaly windows has no NAB score of its own)."""
        alarms = rows = 0
        for name in sorted(os.listdir(os.path.join(results, category))):
            with open(os.path.join(results, category, name)) as f:
                scores = [float(line.split(",")[1]) for line in list(f)[1:]]
            probation = min(int(0.15 * len(scores)), 750)
            rows += len(scores) - probation
            alarms += sum(1 for x in scores[probation:] if x >= threshold)
        return {"falseAlarms": alarms, "rows": rows}

    def ascend(self, categories):
        """One pass of coordinate ascent from the defaults; the chosen tuning and its score."""
        current = dict(DEFAULTS)
        best = self.score(categories, self.results(current))
        for name, values in GRID.items():
            for v in values:
                if v == current[name]:
                    continue
                trial = dict(current, **{name: v})
                s = self.score(categories, self.results(trial))
                if s > best + 1e-9:
                    best, current = s, trial
        return current, best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "nab"))
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="nab-loco-")
    try:
        b = Bench([os.path.abspath(p) for p in [args.data] + args.extra], work)
        folds = []
        loco = os.path.join(work, "loco")
        for held in b.categories:
            train = [c for c in b.categories if c != held]
            tuning, train_score = b.ascend(train)
            res = b.results(tuning)
            shutil.copytree(os.path.join(res, held), os.path.join(loco, held))
            fold = {
                "heldOut": held,
                "chosen": {k: v for k, v in tuning.items() if v != DEFAULTS[k]},
                "trainScore": round(train_score, 2),
            }
            if b.has_windows(held):
                fold["heldOutScore"] = round(b.score([held], res), 2)
                fold["heldOutScoreWithDefaults"] = round(b.score([held], b.results(DEFAULTS)), 2)
            else:
                threshold = b.scored(train, res)["threshold"]
                fold["heldOutFalseAlarms"] = b.false_alarms(held, res, threshold)
                default_threshold = b.scored(train, b.results(DEFAULTS))["threshold"]
                fold["heldOutFalseAlarmsWithDefaults"] = b.false_alarms(
                    held, b.results(DEFAULTS), default_threshold)
            folds.append(fold)
        tuning, in_sample = b.ascend(b.categories)
        report = {
            "categories": b.categories,
            "defaults": round(b.score(b.categories, b.results(DEFAULTS)), 2),
            "inSample": {"chosen": {k: v for k, v in tuning.items() if v != DEFAULTS[k]},
                         "score": round(in_sample, 2)},
            "loco": round(b.score(b.categories, loco), 2),
            "folds": folds,
        }
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print("shipped defaults, whole subset:   %.2f" % report["defaults"])
            print("in-sample (tuned on all):         %.2f  %s" % (in_sample, report["inSample"]["chosen"]))
            print("leave-one-category-out, combined: %.2f" % report["loco"])
            for f in folds:
                if "heldOutScore" in f:
                    held = "held-out %.2f (defaults %.2f)" % (f["heldOutScore"], f["heldOutScoreWithDefaults"])
                else:
                    held = "held-out false alarms %d of %d rows (defaults %d)" % (
                        f["heldOutFalseAlarms"]["falseAlarms"], f["heldOutFalseAlarms"]["rows"],
                        f["heldOutFalseAlarmsWithDefaults"]["falseAlarms"])
                print("  held out %-22s train %.2f  %s  chosen %s" % (
                    f["heldOut"], f["trainScore"], held, f["chosen"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

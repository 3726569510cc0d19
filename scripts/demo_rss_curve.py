#!/usr/bin/env python3
"""The demo's resident set against simulated time (issue 19: "the curve of RSS against
simulated time flat after the longest retention fills").

Plays DAYS of history unpaced (`demo --fast-forward`), reads the process's VmRSS every
EVERY seconds of wall time, and places each reading on simulated time between the demo's
own per-day lines (wall time is spread linearly within a simulated day: the demo plays
the same traffic every day). Then it keeps sampling 20 s of live running. Writes a CSV
(simulated days, RSS MiB) and, with --svg, a plot of one or more such CSVs.

    scripts/demo_rss_curve.py run --bin target/release/ecosystem-perf --days 7 --csv a.csv
        [--config short-retention.yaml]
    scripts/demo_rss_curve.py plot a.csv:"default retention" b.csv:"short" --svg out.svg
"""

import argparse
import csv
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

DAY_LINE = re.compile(r"fast-forward: day (\d+) ")
CAUGHT_UP = re.compile(r"caught up after ([0-9.]+) simulated hours")


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(args):
    live_seconds = 20
    data_dir = tempfile.mkdtemp(prefix="demo-rss-curve-")
    cmd = [
        args.bin, "demo", "--fast-forward", f"{args.days}d",
        "--duration", str(live_seconds + 10),
        "--listen", f"127.0.0.1:{free_port()}", "--data-dir", data_dir,
    ]
    if args.config:
        cmd += ["--config", args.config]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    anchors = [(0.0, 0.0)]  # (wall seconds, simulated days)
    caught_up = threading.Event()

    def read_stderr():
        for line in proc.stderr:
            now = time.monotonic() - start
            sys.stderr.write(line)
            m = DAY_LINE.search(line)
            if m:
                anchors.append((now, float(m.group(1))))
            m = CAUGHT_UP.search(line)
            if m:
                anchors.append((now, float(m.group(1)) / 24))
                caught_up.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    samples = []  # (wall seconds, RSS MiB, live seconds or None)
    live_start = None
    try:
        while proc.poll() is None:
            now = time.monotonic() - start
            rss = rss_mib(proc.pid)
            if rss is not None:
                if caught_up.is_set() and live_start is None:
                    live_start = now
                live = None if live_start is None else now - live_start
                samples.append((now, rss, live))
                if live is not None and live >= live_seconds:
                    break
            time.sleep(args.every)
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait()
        subprocess.run(["rm", "-rf", data_dir], check=False)
    reader.join(timeout=5)
    if len(anchors) < 2:
        sys.exit("the demo never reported a simulated day")
    end_wall, end_day = anchors[-1]

    def simulated(wall, live):
        if live is not None:
            # Live: paced at one simulated second per second.
            return end_day + live / 86_400
        for (w0, d0), (w1, d1) in zip(anchors, anchors[1:]):
            if wall <= w1:
                return d0 + (d1 - d0) * (wall - w0) / max(w1 - w0, 1e-9)
        return end_day

    with open(args.csv, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["simulated_days", "rss_mib", "live_seconds"])
        for wall, rss, live in samples:
            out.writerow([f"{simulated(wall, live):.4f}", f"{rss:.1f}",
                          "" if live is None else f"{live:.0f}"])
    live = sorted(r for _, r, l in samples if l is not None and l >= 1)
    if live:
        print(f"live RSS median {live[len(live) // 2]:.1f} MiB, highest {live[-1]:.1f} MiB")


def plot(args):
    series = []
    for spec in args.inputs:
        path, _, label = spec.partition(":")
        with open(path) as f:
            rows = [(float(r["simulated_days"]), float(r["rss_mib"])) for r in csv.DictReader(f)]
        series.append((label or os.path.basename(path), rows))
    max_day = max(d for _, rows in series for d, _ in rows)
    max_rss = max(r for _, rows in series for _, r in rows)
    y_top = (int(max_rss / 20) + 1) * 20
    width, height, left, top, right, bottom = 760, 360, 50, 30, 20, 50
    pw, ph = width - left - right, height - top - bottom
    x = lambda d: left + pw * d / max_day  # noqa: E731
    y = lambda r: top + ph * (1 - r / y_top)  # noqa: E731
    colours = ["black", "#c0392b", "#2471a3", "#27ae60"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#ccc"/>']
    for mib in range(0, y_top + 1, 20):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(mib):.1f}" y2="{y(mib):.1f}" '
                   'stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{y(mib) + 4:.1f}" text-anchor="end">{mib}</text>')
    for day in range(0, int(max_day) + 1):
        out.append(f'<text x="{x(day):.1f}" y="{top + ph + 15}" text-anchor="middle">{day}</text>')
    if args.target:
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(args.target):.1f}" '
                   f'y2="{y(args.target):.1f}" stroke="#888" stroke-dasharray="5 4"/>')
        out.append(f'<text x="{left + pw - 4}" y="{y(args.target) - 4:.1f}" text-anchor="end" '
                   f'fill="#888">{args.target_label or f"target {args.target:g} MiB"}</text>')
    for i, (label, rows) in enumerate(series):
        colour = colours[i % len(colours)]
        points = " ".join(f"{x(d):.1f},{y(r):.1f}" for d, r in rows)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                   f'points="{points}"/>')
        out.append(f'<text x="{left + 8}" y="{top + 16 + 14 * i}" fill="{colour}">{label}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">'
               f'{args.title}</text>')
    out.append("</svg>")
    with open(args.svg, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", default="target/release/ecosystem-perf")
    r.add_argument("--days", type=int, default=7)
    r.add_argument("--config")
    r.add_argument("--every", type=float, default=2.0)
    r.add_argument("--csv", required=True)
    p = sub.add_parser("plot")
    p.add_argument("inputs", nargs="+", help="CSV[:label]")
    p.add_argument("--svg", required=True)
    p.add_argument("--target", type=float, help="a horizontal line at this many MiB")
    p.add_argument("--target-label", help="its label (default: target N MiB)")
    p.add_argument("--title", default="RSS (MiB, y) against simulated days (x)")
    args = parser.parse_args()
    run(args) if args.command == "run" else plot(args)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""User-space instructions per request of apex-worker, counted by callgrind.

Instructions, unlike seconds, do not change with the machine's load, so
this is the figure to compare before and after a change of the worker's
hot path. nginx (bench.py's config) serves one small response; a headless
apex-master runs --users users with zero wait against it for two run
times, each with one apex-worker under `valgrind --tool=callgrind`. The
difference of the two runs' totals divided by the difference of their
request counts cancels start-up and shut-down:

    per request = (Ir(long) - Ir(short)) / (requests(long) - requests(short))

Usage: bench/callgrind.py [--build build] [--worker PATH] [--users 50]
                          [--short 8] [--long 16] [--engine http1|curl]
                          [--keep DIR]
--keep copies the two callgrind output files into DIR, for
callgrind_annotate (which functions the instructions went to).
Prints one line per run and the result; asserts nothing.
"""
import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (nginx config, scenario writer, free_port)


def total_ir(path):
    """The summary line of a callgrind output file: every event count."""
    with open(path) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise SystemExit("callgrind: no totals in " + path)


def run(args, tmp, url, seconds, name):
    scenario = bench.write_scenario(
        tmp, url, {"name": "callgrind", "wait": {"constant": 0}})
    port = bench.free_port()
    prefix = os.path.join(tmp, name)
    master = subprocess.Popen(
        [os.path.join(args.build, "apex-master"), "-f", scenario,
         "--headless", "-u", str(args.users), "-r", str(args.users),
         "-t", "%ds" % seconds, "--expect-workers", "1",
         "--master-bind-port", str(port), "--only-summary", "--csv", prefix,
         "--loglevel", "WARNING", "--engine", args.engine],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = os.path.join(tmp, name + ".callgrind")
    worker = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
         args.worker or os.path.join(args.build, "apex-worker"),
         "--master-port", str(port), "--loglevel", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    master.wait(timeout=seconds + 120)
    worker.wait(timeout=120)
    with open(prefix + "_stats.csv", newline="") as f:
        total = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    requests = int(total[0]["Request Count"])
    ir = total_ir(out)
    print("%-6s %3d s: %8d requests, %14d instructions" %
          (name, seconds, requests, ir))
    return requests, ir


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--worker", help="apex-worker binary to measure")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--short", type=int, default=8)
    parser.add_argument("--long", type=int, default=16)
    parser.add_argument("--engine", default="http1",
                        help="HTTP engine: http1 or curl")
    parser.add_argument("--keep", help="folder for the callgrind files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="apex-callgrind-") as tmp:
        nginx, url = bench.start_nginx(tmp)
        try:
            r1, i1 = run(args, tmp, url, args.short, "short")
            r2, i2 = run(args, tmp, url, args.long, "long")
            if args.keep:
                os.makedirs(args.keep, exist_ok=True)
                for name in ("short", "long"):
                    shutil.copy(os.path.join(tmp, name + ".callgrind"),
                                args.keep)
        finally:
            nginx.terminate()
            nginx.wait()
    if r2 <= r1:
        raise SystemExit("callgrind: the long run made no more requests")
    print("apex-worker (%s): %.0f user-space instructions per request "
          "(callgrind, %d users, runs of %d and %d s)" %
          (args.engine, (i2 - i1) / (r2 - r1), args.users, args.short,
           args.long))


if __name__ == "__main__":
    main()

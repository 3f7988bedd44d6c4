#!/usr/bin/python3
"""SQL steps next to pgbench (make bench). Prints figures, asserts nothing.

A throwaway PostgreSQL cluster (scripts/pg.sh) with the Project Apex schema
(db/, at --scale, 0.1 by default: 40,000 tasks) serves the primary-key
SELECT of scenarios/database.json ("simple select"). Interleaved over
--rounds rounds (5; each tool goes first in every other round), on the same cluster with the same number of connections
(--connections, 50), each for --seconds:

  pgbench -n -M prepared -c 50 -j 1 with a custom script of that SELECT
  (a random id bound as a parameter of a statement prepared once per
  connection), one client thread;
  apex-master --processes 1 with 50 users and zero wait running the same
  SELECT as an SQL step (a random id as a bound parameter, prepared once
  per connection), one worker process.

For each: transactions, transactions per second, client CPU seconds
(user+sys of the whole process tree, from getrusage of reaped children:
pgbench; apex-master and its worker), transactions per client
CPU-second, and latency percentiles (apex: its exact histogram, from the
JSON report; pgbench: its per-transaction log, --sampling-rate of them),
then the median over rounds of apex/pgbench in transactions per client
CPU-second. A 2 s pgbench run warms the server's caches first. The
server shares the machine's cores with both clients.
"""
import argparse
import glob
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_SH = os.path.join(ROOT, "scripts", "pg.sh")
QUERY = ("SELECT id, dag_id, agent_id, title, status, priority, created_at "
         "FROM tasks WHERE id = $1")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (same folder: the shared run helpers)

free_port = bench.free_port
run_measured = bench.run_measured


def pg(*args):
    p = subprocess.run(["sh", PG_SH, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("pg_bench: pg.sh %s: %s"
                         % (args[0], p.stdout + p.stderr))
    return p.stdout.strip()


def pgbench_path():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    if not found:
        raise SystemExit("pg_bench: no pgbench (install postgresql-client-15)")
    return found[-1]


def percentile(sorted_values, p):
    """The nearest-rank percentile p (0 < p <= 100) of sorted values."""
    if not sorted_values:
        return 0.0
    k = math.ceil(p / 100 * len(sorted_values)) - 1
    return sorted_values[min(max(k, 0), len(sorted_values) - 1)]


def pgbench_round(tmp, port, tasks, seconds, conns, sampling, r):
    script = os.path.join(tmp, "select.sql")
    with open(script, "w") as f:
        f.write("\\set id random(1, %d)\n%s;\n"
                % (tasks, QUERY.replace("$1", ":id")))
    prefix = os.path.join(tmp, "pgbench-%d" % r)
    out, _, cpu = run_measured(
        [pgbench_path(), "-n", "-M", "prepared", "-c", str(conns), "-j", "1",
         "-T", str(seconds), "-f", script, "-h", "127.0.0.1", "-p",
         str(port), "-U", "apex", "-l", "--log-prefix", prefix,
         "--sampling-rate", str(sampling), "apex"])
    n = int(re.search(r"number of transactions actually processed: (\d+)",
                      out).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", out)
    lat = []
    for path in glob.glob(prefix + ".*"):
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    lat.append(int(fields[2]) / 1000.0)  # us -> ms
        os.unlink(path)
    lat.sort()
    pct = {p: percentile(lat, p) for p in (50, 95, 99)}
    return {"n": n, "cpu": cpu, "tps": n / seconds, "pct": pct,
            "failed": int(failed.group(1)) if failed else 0}


def apex_round(build, tmp, url, tasks, seconds, conns):
    doc = {"database": url, "users": [{
        "name": "PgBenchUser", "wait": {"constant": 0},
        "tasks": [{"sql": QUERY, "name": "simple select",
                   "params": ["${random_int(1,%d)}" % tasks],
                   "expect_rows": 1}]}]}
    scenario = os.path.join(tmp, "pg-bench.json")
    with open(scenario, "w") as f:
        json.dump(doc, f)
    prefix = os.path.join(tmp, "apex")
    _, _, cpu = run_measured(
        [os.path.join(build, "apex-master"), "-f", scenario, "--headless",
         "-u", str(conns), "-r", str(conns), "-t", "%ds" % seconds,
         "--processes", "1", "--master-bind-port", str(free_port()),
         "--only-summary", "--json-file", prefix + ".json", "--loglevel",
         "WARNING"])
    with open(prefix + ".json") as f:
        entry = [e for e in json.load(f)["entries"]
                 if e["name"] == "simple select"][0]
    pct = {p: entry["percentiles_ms"][str(p)] for p in (50, 95, 99)}
    return {"n": entry["requests"], "cpu": cpu, "tps": entry["rps"],
            "pct": pct, "failed": entry["failures"]}


def line(r, name, res):
    return ("round %d: %-7s %8d tx  %7.0f tx/s  %5.2f CPU s  %8.0f tx/CPU-s"
            "  p50 %.3f  p95 %.3f  p99 %.3f ms  (%d failed)"
            % (r, name, res["n"], res["tps"], res["cpu"],
               res["n"] / res["cpu"], res["pct"][50], res["pct"][95],
               res["pct"][99], res["failed"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--sampling-rate", type=float, default=0.1)
    args = ap.parse_args()
    build = os.path.join(ROOT, args.build)
    tmp = tempfile.mkdtemp(prefix="apex-pg-bench-")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cluster = pg("start")
    try:
        url = pg("url", cluster)
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        pg("load", cluster, str(args.scale))
        tasks = int(pg("psql", cluster, "-At", "-c",
                       "SELECT count(*) FROM tasks"))
        print("apex pg bench: PostgreSQL 15 on %s, %d tasks, %d rounds of %d "
              "s, %d connections, 1 client thread/process; the query: %s"
              % (url, tasks, args.rounds, args.seconds, args.connections,
                 QUERY))
        # Warm the server's caches (not measured).
        pgbench_round(tmp, port, tasks, 2, args.connections,
                      args.sampling_rate, 0)
        ratios = []
        for r in range(1, args.rounds + 1):
            # Each goes first in every other round, so a drift in the
            # machine's load does not favour one of them.
            if r % 2 == 0:
                apex = apex_round(build, tmp, url, tasks, args.seconds,
                                  args.connections)
            pgb = pgbench_round(tmp, port, tasks, args.seconds,
                                args.connections, args.sampling_rate, r)
            if r % 2 == 1:
                apex = apex_round(build, tmp, url, tasks, args.seconds,
                                  args.connections)
            ratio = (apex["n"] / apex["cpu"]) / (pgb["n"] / pgb["cpu"])
            ratios.append(ratio)
            print(line(r, "pgbench", pgb))
            print(line(r, "apex", apex) + "  ratio %.3f" % ratio)
        print("median apex/pgbench transactions per client CPU-second: %.3f"
              " (rounds %s)" % (statistics.median(ratios),
                               ", ".join("%.3f" % x for x in ratios)))
    finally:
        pg("stop", cluster)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

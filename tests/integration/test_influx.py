"""--out influxdb=URL against a real InfluxDB (Debian's influxdb, 1.x),
started by each test as a child process with its own configuration on
127.0.0.1 (free ports, its own data, meta and WAL folders, reporting
off): what InfluxDB stores must agree with the CSV and the JSON report,
and InfluxDB going away must cost points (counted and logged), never
the run. Also InfluxDB 2's API against a small fake server that checks
what it receives, and an InfluxDB that accepts connections and never
answers.
"""
import json
import os
import re
import shutil
import signal
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import apexlib
from apexlib import (SIMPLE, binary, free_port, http, http_json, read_csv,
                     wait_for, write_scenario)
from test_run import RunCase

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"
CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{dir}/meta"
[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
[continuous_queries]
  enabled = false
"""


class InfluxD:
    """influxd as a child of the test, on free loopback ports."""

    def __init__(self, case, db="apex"):
        if not os.access(INFLUXD, os.X_OK):
            case.skipTest("influxd is not installed (make deps: Debian's "
                          "influxdb)")
        self.case = case
        self.db = db
        self.dir = os.path.join(case.dir, "influxdb")
        self.port = free_port()
        self.rpc = free_port()
        self.conf = os.path.join(self.dir, "influxdb.conf")
        os.makedirs(self.dir, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(dir=self.dir, port=self.port, rpc=self.rpc))
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.proc = self.case.start([INFLUXD, "-config", self.conf],
                                    "influxd%d" % self.starts)

        def up():
            if not self.proc.running():
                raise AssertionError("influxd exited: " + self.proc.stderr())
            try:
                return http("GET", self.url + "/ping", timeout=1)[0] == 204
            except OSError:
                return False
        wait_for(up, 30, what="influxd to answer /ping")

    def kill(self):
        self.proc.signal(signal.SIGKILL)
        self.proc.wait(10)

    def query(self, q):
        """The series of an InfluxQL query (times in ms)."""
        url = "%s/query?%s" % (self.url, urllib.parse.urlencode(
            {"db": self.db, "q": q, "epoch": "ms"}))
        status, body = http_json("GET", url)
        self.case.assertEqual(status, 200, body)
        result = body["results"][0]
        self.case.assertNotIn("error", result, q)
        return result.get("series", [])

    def by_tags(self, q, *keys):
        """{tag values: {column: value}} of a query's one-row series."""
        out = {}
        for s in self.query(q):
            row = dict(zip(s["columns"], s["values"][0]))
            out[tuple(s["tags"][k] for k in keys)] = row
        return out


class InfluxCase(RunCase):
    def run_master(self, scn, base, out, *extra, env=None, name="master"):
        self.prefix = os.path.join(self.dir, "out", "run")
        self.json_path = os.path.join(self.dir, "run.json")
        args = [binary("apex-master"), "-f", scn, "--headless",
                "--master-bind-port", free_port(), "--host", base,
                "--processes", 2, "--only-summary", "--csv", self.prefix,
                "--json-file", self.json_path, "--out", out, *extra]
        return self.start(args, name, env=env)


class InfluxTest(InfluxCase):
    def test_points_agree_with_the_csv_and_the_json_report(self):
        influx = InfluxD(self)
        influx.start()
        base = self.target("--error-rate", "0.2")
        scn = write_scenario(self.dir, SIMPLE)
        m = self.run_master(scn, base, "influxdb=%s/apex" % influx.url,
                            "-u", 6, "-r", 6, "-t", "4s", "--run-id", "run-1",
                            "--threshold", "http_req_failed: rate<0.9",
                            env={"APEX_INFLUXDB_TAGS": "env=ci,suite=apex"})
        self.assertEqual(m.wait(40), 0, m.stderr())  # the threshold holds
        self.assertIn("InfluxDB %s/apex: writing points every 1s (run_id "
                      "run-1)" % influx.url, m.stderr())
        self.assertRegex(m.stderr(), r"points written, 0 dropped")
        rows = {r["Name"]: r for r in read_csv(self.prefix + "_stats.csv")}
        report = json.load(open(self.json_path))
        self.assertEqual(report["run"]["run_id"], "run-1")
        where = "WHERE run_id = 'run-1' AND env = 'ci' AND suite = 'apex'"

        # Per second, rewritten as late reports come in: the sums are the
        # CSV's counts.
        sums = influx.by_tags('SELECT sum("value") FROM "http_reqs" %s '
                              'GROUP BY "name", "method"' % where, "name")
        fails = influx.by_tags('SELECT sum("value") FROM "http_req_failed" '
                               '%s GROUP BY "name"' % where, "name")
        entries = [n for n in rows if n != "Aggregated"]
        self.assertEqual(sorted(k[0] for k in sums), sorted(entries))
        total_failures = 0
        for name in entries:
            self.assertEqual(sums[(name,)]["sum"],
                             int(rows[name]["Request Count"]), name)
            self.assertEqual(fails[(name,)]["sum"],
                             int(rows[name]["Failure Count"]), name)
            total_failures += int(rows[name]["Failure Count"])
        self.assertGreater(total_failures, 0)
        errors = influx.query('SELECT sum("value") FROM "apex_errors" %s '
                              'GROUP BY "status"' % where)
        self.assertEqual({s["tags"]["status"]: s["values"][0][1]
                          for s in errors}, {"5xx": total_failures})

        # The last cumulative point of each entry is the JSON report's.
        last = influx.by_tags(
            'SELECT last("requests") AS requests, last("failures") AS '
            'failures, last("p50") AS p50, last("p95") AS p95, last("p99") '
            'AS p99, last("p100") AS p100, last("avg") AS avg, last("min") '
            'AS min FROM "apex_stats" %s GROUP BY "name"' % where, "name")
        for e in report["entries"] + [report["total"]]:
            got = last[(e["name"],)]
            self.assertEqual(got["requests"], e["requests"], e["name"])
            self.assertEqual(got["failures"], e["failures"], e["name"])
            for p in ("50", "95", "99", "100"):
                self.assertEqual(got["p" + p], e["percentiles_ms"][p],
                                 (e["name"], p))
            # The report prints averages with 12 digits.
            self.assertAlmostEqual(got["avg"], e["avg_ms"], places=9)
            self.assertEqual(got["min"], e["min_ms"], e["name"])

        # Interval durations: every timed request once; the largest is
        # the run's.
        dur = influx.by_tags('SELECT sum("count"), max("max") FROM '
                             '"http_req_duration" %s GROUP BY "name"' % where,
                             "name")
        for e in report["entries"]:
            self.assertEqual(dur[(e["name"],)]["sum"], e["requests"])
            self.assertEqual(dur[(e["name"],)]["max"], e["max_ms"])
        run = influx.query('SELECT max("value") FROM "vus" %s' % where)
        self.assertEqual(run[0]["values"][0][1], 6)
        its = influx.query('SELECT sum("value") FROM "iterations" %s' % where)
        self.assertEqual(its[0]["values"][0][1], report["iterations"])
        workers = influx.query('SELECT max("requests") FROM "apex_worker" '
                               '%s GROUP BY "worker"' % where)
        self.assertEqual(len(workers), 2)
        self.assertTrue(all(s["values"][0][1] > 0 for s in workers))
        self.assertTrue(influx.query('SELECT last("value") FROM '
                                     '"ws_connections" %s' % where))
        ok = influx.by_tags('SELECT last("ok") FROM "apex_thresholds" %s '
                            'GROUP BY "threshold"' % where, "threshold")
        self.assertEqual(ok, {("http_req_failed: rate<0.9",): {
            "time": ok[("http_req_failed: rate<0.9",)]["time"], "last": 1}})
        self.check_dashboards(influx, "run-1")

    def check_dashboards(self, influx, run_id):
        """Every query of deploy/grafana's dashboards, with Grafana's
        variables filled in as Grafana would, runs and finds data."""
        folder = os.path.join(apexlib.ROOT, "deploy", "grafana", "dashboards")
        values = {"$timeFilter": "time > now() - 1h", "$__interval_ms": "1000",
                  "$__interval": "1s", "$run_id": re.escape(run_id),
                  "$name": ".*"}
        for file in sorted(os.listdir(folder)):
            doc = json.load(open(os.path.join(folder, file)))
            queries = [(p["title"], t["query"]) for p in doc["panels"]
                       for t in p["targets"]]
            queries += [("variable " + v["name"], v["query"])
                        for v in doc["templating"]["list"]]
            for title, q in queries:
                for name, value in values.items():
                    q = q.replace(name, value)
                self.assertNotIn("$", q.replace("$/", "/"), title)
                self.assertTrue(influx.query(q), "%s: %s: no data for %s"
                                % (file, title, q))

    def test_influxdb_killed_mid_run_costs_points_not_the_run(self):
        influx = InfluxD(self)
        influx.start()
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        run_time = 14
        started = time.monotonic()
        m = self.run_master(scn, base, "influxdb=%s/apex" % influx.url,
                            "-u", 4, "-r", 4, "-t", "%ds" % run_time,
                            env={"APEX_INFLUXDB_QUEUE_POINTS": "60"})

        def vus_points(since_ms=0):
            try:
                s = influx.query('SELECT count("value") FROM "vus" WHERE '
                                 'time > %dms' % since_ms)
            except (OSError, AssertionError):
                return 0
            return s[0]["values"][0][1] if s else 0
        wait_for(vus_points, 20, what="points in InfluxDB")
        influx.kill()
        wait_for(lambda: "points dropped" in m.stderr(), 20,
                 what="the master to log dropped points")
        self.assertRegex(m.stderr(), r"InfluxDB \S+: writes fail \(")
        self.assertTrue(m.running(), "the run ended with InfluxDB")
        restarted_ms = int(time.time() * 1000)
        influx.start()
        wait_for(lambda: vus_points(restarted_ms), 20,
                 what="points to flow again after the restart")
        self.assertEqual(m.wait(run_time + 20), 0, m.stderr())
        # On time: the run's length plus the ramp, the workers' last
        # words and the writers' bounded flush, far from a stall.
        self.assertLess(time.monotonic() - started, run_time + 12)
        self.assertIn("writes succeed again", m.stderr())
        self.assertRegex(m.stderr(), r"points written, [1-9]\d* dropped")
        # The CSV does not care: its counts are what the target served.
        self.assert_counts_match(base, self.prefix)

    def test_an_influxdb_that_never_answers_cannot_hold_the_run(self):
        # Accepts connections (the kernel's backlog) and never reads.
        sink = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(sink.close)
        sink.bind(("127.0.0.1", 0))
        sink.listen(64)
        url = "http://127.0.0.1:%d/apex" % sink.getsockname()[1]
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        started = time.monotonic()
        m = self.run_master(scn, base, "influxdb=" + url, "-u", 3, "-r", 3,
                            "-t", "3s")
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assertLess(time.monotonic() - started, 3 + 12)
        self.assertRegex(m.stderr(), r"InfluxDB %s: 0 points written, "
                         r"[1-9]\d* dropped" % url)
        self.assert_counts_match(base, self.prefix)
        history = read_csv(self.prefix + "_stats_history.csv")
        self.assertGreaterEqual(len(history), 3)  # the loop ran on


class _V2Handler(BaseHTTPRequestHandler):
    """Answers InfluxDB 2's /api/v2/write with 204 and keeps requests."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.path, dict(self.headers),
                                     body.decode()))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class InfluxV2Test(InfluxCase):
    def test_influxdb2_api_with_organization_bucket_and_token(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _V2Handler)
        server.requests = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        url = "http://127.0.0.1:%d/ignored" % server.server_address[1]
        m = self.run_master(scn, base, "influxdb=" + url, "-u", 2, "-r", 2,
                            "-t", "2s", "--run-id", "v2run",
                            env={"APEX_INFLUXDB_ORGANIZATION": "my org",
                                 "APEX_INFLUXDB_BUCKET": "load",
                                 "APEX_INFLUXDB_TOKEN": "s3cret"})
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assertTrue(server.requests)
        points = 0
        for path, headers, body in server.requests:
            u = urllib.parse.urlsplit(path)
            self.assertEqual(u.path, "/api/v2/write")
            self.assertEqual(urllib.parse.parse_qs(u.query),
                             {"org": ["my org"], "bucket": ["load"],
                              "precision": ["ms"]})
            self.assertEqual(headers["Authorization"], "Token s3cret")
            self.assertTrue(headers["Content-Type"].startswith("text/plain"))
            for line in body.splitlines():
                self.assertRegex(line, r"^[a-z_]+(,[^ ]+)? [^ ]+ \d{13}$")
                self.assertIn("run_id=v2run", line)
                points += 1
        self.assertRegex(m.stderr(), r"InfluxDB %s: %d points written, "
                         r"0 dropped" % (url, points))
        reqs = [line for _, _, body in server.requests
                for line in body.splitlines() if line.startswith("http_reqs,")]
        self.assertTrue(reqs)

"""apex-master's /metrics scraped by a real Prometheus (Debian's
prometheus), started by the test as a child process with its own
configuration: it scrapes the master on 127.0.0.1 every second and
evaluates deploy/prometheus/apex-rules.yml. PromQL through Prometheus'
HTTP API must agree with the CSV (requests and failures per entry, users),
the recording rules must give values and the threshold alert must be
pending; promtool, Prometheus' own linter, must accept the text.
"""
import os
import shutil
import subprocess
import time
import urllib.parse

import apexlib
from apexlib import (SIMPLE, binary, free_port, http, http_json, read_csv,
                     wait_for, write_scenario)
from test_run import RunCase

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
RULES = os.path.join(apexlib.ROOT, "deploy", "prometheus", "apex-rules.yml")
CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: apex-master
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


class Prometheus:
    """prometheus as a child of the test, on a free loopback port."""

    def __init__(self, case, scrape_port):
        if not os.access(PROMETHEUS, os.X_OK):
            case.skipTest("prometheus is not installed (make deps)")
        self.case = case
        folder = os.path.join(case.dir, "prometheus")
        os.makedirs(folder, exist_ok=True)
        conf = os.path.join(folder, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(CONFIG.format(rules=RULES, port=scrape_port))
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = case.start([
            PROMETHEUS, "--config.file=" + conf,
            "--storage.tsdb.path=" + os.path.join(folder, "data"),
            "--web.listen-address=127.0.0.1:%d" % self.port,
            "--log.level=warn"], "prometheus")

        def ready():
            if not self.proc.running():
                raise AssertionError("prometheus exited: "
                                     + self.proc.stderr())
            try:
                return http("GET", self.url + "/-/ready", timeout=1)[0] == 200
            except OSError:
                return False
        wait_for(ready, 30, what="prometheus to be ready")

    def query(self, promql):
        """An instant query: {labels tuple: value} of its vector."""
        url = "%s/api/v1/query?%s" % (
            self.url, urllib.parse.urlencode({"query": promql}))
        status, body = http_json("GET", url)
        self.case.assertEqual(status, 200, body)
        self.case.assertEqual(body["status"], "success", body)
        return {tuple(sorted(r["metric"].items())): float(r["value"][1])
                for r in body["data"]["result"]}


class PrometheusTest(RunCase):
    def test_promql_agrees_with_the_csv(self):
        base = self.target("--error-rate", "0.2")
        scn = write_scenario(self.dir, SIMPLE)
        web = free_port()
        prefix = os.path.join(self.dir, "out", "run")
        prom = Prometheus(self, web)
        # With the web UI and --autostart, the master stops at the end of
        # the run and keeps serving the final figures.
        m = self.start([binary("apex-master"), "-f", scn, "--autostart",
                        "--web-host", "127.0.0.1", "--web-port", web,
                        "--master-bind-port", free_port(), "--host", base,
                        "--processes", 2, "-u", 5, "-r", 5, "-t", "5s",
                        "--csv", prefix, "--run-id", "prom-1",
                        "--threshold", "http_req_failed: rate<0.01"],
                       "master")
        run = '{run_id="prom-1"}'

        def users():
            return prom.query("apex_users" + run)
        wait_for(lambda: users() and list(users().values())[0] == 5, 30,
                 what="Prometheus to see 5 users")
        # Recording rules and the threshold's alert, while it runs.
        wait_for(lambda: prom.query("apex:requests:rate1m" + run), 20,
                 what="the recording rule apex:requests:rate1m")
        wait_for(lambda: prom.query(
            'ALERTS{alertname="ApexThresholdFailing",run_id="prom-1"}'), 20,
            what="the ApexThresholdFailing alert")
        wait_for(lambda: http_json("GET", "http://127.0.0.1:%d/stats/"
                                   "requests" % web)[1]["state"] == "stopped",
                 30, what="the end of the run")

        def api_counts():
            stats = http_json("GET", "http://127.0.0.1:%d/stats/requests"
                              % web)[1]["stats"]
            return {e["name"]: (e["num_requests"], e["num_failures"])
                    for e in stats if e["name"] != "Aggregated"}

        def settled():
            # The workers' last reports arrive with their stop.
            before = api_counts()
            time.sleep(0.5)
            return before == api_counts() and before
        final = wait_for(settled, 15, what="the final statistics")

        def csv_counts():
            rows = read_csv(prefix + "_stats.csv")
            return {r["Name"]: (int(r["Request Count"]),
                                int(r["Failure Count"])) for r in rows
                    if r["Name"] != "Aggregated"}

        def promql_counts():
            reqs = prom.query("sum by (name) (apex_requests_total%s)" % run)
            fails = prom.query("sum by (name) (apex_request_failures_total%s)"
                               % run)
            return {dict(k)["name"]: (int(v), int(fails[k]))
                    for k, v in reqs.items()}
        # The CSV is rewritten every second and Prometheus scrapes every
        # second: both come to the final figures.
        wait_for(lambda: csv_counts() == final, 10, what="the final CSV")
        wait_for(lambda: promql_counts() == final, 10,
                 what="PromQL totals equal to the CSV's")
        counts = csv_counts()
        self.assertEqual(set(counts), {"/health", "/api/v1/tasks"})
        self.assertGreater(sum(f for _, f in counts.values()), 0)
        total = prom.query('sum(apex_requests_total%s)' % run)
        self.assertEqual(int(list(total.values())[0]),
                         sum(r for r, _ in counts.values()))
        created = prom.query("apex_requests_created" + run)
        self.assertEqual(len(created), 2)
        self.assertTrue(all(v > 1e9 for v in created.values()))
        self.assertEqual(prom.query('up{job="apex-master"}'),
                         {(("__name__", "up"),
                           ("instance", "127.0.0.1:%d" % web),
                           ("job", "apex-master")): 1.0})

        # Prometheus' own linter on the text it scraped.
        if os.access(PROMTOOL, os.X_OK):
            _, _, body = http("GET", "http://127.0.0.1:%d/metrics" % web)
            res = subprocess.run([PROMTOOL, "check", "metrics"], input=body,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=30)
            self.assertEqual(res.returncode, 0, res.stdout.decode())
            self.assertEqual(res.stdout.decode().strip(), "")

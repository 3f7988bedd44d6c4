"""The master's web API, against a running apex-master in UI mode with
two apex-workers and apex-target: every endpoint, Locust's JSON shapes
(keys compared with the captured Locust responses), bad input and basic
auth."""
import base64
import json
import os
import time
import unittest
import urllib.request

import apexlib
from apexlib import binary, free_port, http, http_json, wait_for
from test_run import RunCase

# Responses captured from real Locust 2.12.1 and 2.46.3 masters (see
# docs/protocol.md, "Captures and fixtures").
CAPTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                        "locust-web")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def tasks_shape(doc):
    """The shape of a /tasks answer as text: its keys at every level and
    the types of the ratios, class and task names left out."""
    def node(n):
        inner = sorted({node(t) for t in n.get("tasks", {}).values()})
        return "{%s%s}" % (",".join(
            k + ("=" + type(v).__name__ if k == "ratio" else "")
            for k, v in sorted(n.items())), ":" + "|".join(inner)
            if inner else "")
    return {view: sorted({node(c) for c in classes.values()})
            for view, classes in doc.items()}


def captured(version, name):
    with open(os.path.join(CAPTURES, version, name)) as f:
        return json.load(f)


def captured_keys(name):
    """Keys of a captured Locust JSON response, from both versions."""
    keys = set()
    for version in ("web-2.12.1", "web-2.46.3"):
        path = os.path.join(CAPTURES, version, name)
        if os.path.exists(path):
            keys |= set(json.load(open(path)))
    return keys


class WebCase(RunCase):
    def start_ui(self, *extra, workers=2, auth=None):
        self.base = self.target()
        self.web = free_port()
        self.url = "http://127.0.0.1:%d" % self.web
        args = [binary("apex-master"), "-f",
                os.path.join(apexlib.ROOT, "scenarios/apex.json"),
                "--web-host", "127.0.0.1", "--web-port", self.web,
                "--master-bind-port", free_port(), "--host", self.base]
        if auth:
            args += ["--web-auth", auth]
        self.master_proc = self.start(args + list(extra), "master")
        port = int(args[args.index("--master-bind-port") + 1])
        for i in range(workers):
            self.worker(port, "worker%d" % (i + 1))
        self.headers = {}
        if auth:
            token = base64.b64encode(auth.encode()).decode()
            self.headers = {"Authorization": "Basic " + token}

        def ready():
            try:
                status, body = http_json("GET", self.url + "/worker-count",
                                         headers=self.headers, timeout=2)
            except OSError:
                return False
            return status == 200 and body["worker_count"] == workers
        wait_for(ready, 20, what="the UI and %d workers" % workers)

    def get(self, path):
        return http_json("GET", self.url + path, headers=self.headers)

    def swarm(self, body):
        return http_json("POST", self.url + "/swarm", body,
                         dict(FORM, **self.headers))


class WebApiTest(WebCase):
    def test_every_endpoint_through_a_run(self):
        self.start_ui("--csv", os.path.join(self.dir, "run"),
                      "--csv-full-history")
        status, cfg = self.get("/config")
        self.assertEqual(status, 200)
        self.assertEqual(cfg["user_classes"], ["ApexUser"])
        self.assertEqual(cfg["host"], self.base)
        self.assertTrue(cfg["full_history_csv"])

        status, ready = self.get("/stats/requests")
        self.assertEqual(ready["state"], "ready")
        self.assertEqual(ready["stats"][-1]["name"], "Aggregated")

        # /tasks before a test: Locust's shape, and no class running yet
        # (0, as Locust 2.12.1 answers before its first test).
        status, tasks = self.get("/tasks")
        self.assertEqual(status, 200)
        locust_ready = captured("web-2.12.1", "web_tasks_ready.json")
        self.assertEqual(tasks_shape(tasks), tasks_shape(locust_ready))
        self.assertEqual(tasks["per_class"]["ApexUser"]["ratio"], 0)
        self.assertEqual({c["ratio"] for c in
                          locust_ready["per_class"].values()}, {0})
        self.assertEqual(set(tasks["per_class"]["ApexUser"]["tasks"]),
                         {"health", "list_tasks", "create_and_get_task",
                          "list_agents", "list_dags", "execute_dag"})

        status, body = self.swarm("user_count=10&spawn_rate=10")
        self.assertEqual(status, 200, body)
        self.assertTrue(set(captured_keys("web_swarm.json")) <= set(body))
        self.assertEqual(body["message"], "Swarming started")

        def running():
            stats = self.get("/stats/requests")[1]
            entries = [s for s in stats["stats"] if s["name"] !=
                       "Aggregated" and s["num_requests"] > 0]
            return (stats["state"] == "running" and
                    stats["user_count"] == 10 and len(entries) >= 3 and
                    stats)
        stats = wait_for(running, 20, what="10 users and requests")
        # Locust's keys (2.12.1 and newest) are all there.
        self.assertTrue(captured_keys("web_stats_running.json") <= set(stats),
                        captured_keys("web_stats_running.json") - set(stats))
        entry_keys = set()
        workers_keys = set()
        for version in ("web-2.12.1", "web-2.46.3"):
            doc = json.load(open(os.path.join(CAPTURES, version,
                                              "web_stats_running.json")))
            entry_keys |= set(doc["stats"][0])
            workers_keys |= set(doc["workers"][0])
        for e in stats["stats"]:
            self.assertTrue(entry_keys <= set(e), entry_keys - set(e))
        self.assertEqual(len(stats["workers"]), 2)
        for w in stats["workers"]:
            self.assertTrue(workers_keys <= set(w))
            self.assertEqual(w["kind"], "apex 0.1.0")
            self.assertEqual(w["user_count"], 5)
        self.assertIn("apex", stats)
        self.assertEqual(stats["worker_count"], 2)

        # Edit while running: a new target.
        status, body = self.swarm("user_count=4&spawn_rate=10")
        self.assertEqual(status, 200)
        wait_for(lambda: self.get("/stats/requests")[1]["user_count"] == 4,
                 15, what="4 users after the edit")

        status, tasks = self.get("/tasks")
        for version in ("web-2.12.1", "web-2.46.3"):
            self.assertEqual(tasks_shape(tasks), tasks_shape(captured(
                version, "web_tasks_running.json")), version)
        ratios = tasks["per_class"]["ApexUser"]["tasks"]
        self.assertAlmostEqual(sum(t["ratio"] for t in ratios.values()), 1)
        self.assertAlmostEqual(ratios["list_tasks"]["ratio"], 10 / 35)
        self.assertAlmostEqual(tasks["per_class"]["ApexUser"]["ratio"], 1)
        self.assertAlmostEqual(tasks["total"]["ApexUser"]["ratio"], 1)

        status, history = self.get("/history")
        self.assertEqual(status, 200)
        self.assertTrue(history and "rps" in history[-1])

        for path, header in (("/stats/requests/csv", "Type,Name,Request "
                                                     "Count"),
                             ("/stats/failures/csv", "Method,Name,Error"),
                             ("/exceptions/csv", "Count,Message"),
                             ("/stats/requests_full_history/csv",
                              "Timestamp,User Count")):
            status, headers, data = http("GET", self.url + path)
            self.assertEqual(status, 200, path)
            self.assertTrue(data.decode().startswith(header), path)
            self.assertIn("text/csv", headers["Content-Type"])
            self.assertIn("attachment;filename=",
                          headers["Content-Disposition"])
        status, exc = self.get("/exceptions")
        self.assertEqual(set(exc), captured_keys("web_exceptions.json"))

        status, headers, page = http("GET", self.url + "/report")
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["Content-Type"])
        self.assertIn(b"apex-report-data", page)
        status, headers, _ = http("GET", self.url + "/report?download=1")
        self.assertIn("attachment", headers["Content-Disposition"])
        status, doc = self.get("/stats/report.json")
        self.assertGreater(doc["total"]["requests"], 0)

        status, body = self.get("/stop")
        self.assertEqual(body, {"success": True, "message": "Test stopped"})
        wait_for(lambda: self.get("/stats/requests")[1]["state"] ==
                 "stopped", 15, what="the stopped state")
        stats = self.get("/stats/requests")[1]
        self.assertEqual(stats["user_count"], 0)
        self.assertTrue(all(w["state"] == "ready" for w in stats["workers"]))

        # Reset keeps the entries, zeroes the counts.
        status, _, data = http("GET", self.url + "/stats/reset")
        self.assertEqual((status, data), (200, b"ok"))
        total = self.get("/stats/requests")[1]["stats"][-1]
        self.assertEqual(total["num_requests"], 0)

        # A second test after the stop.
        status, body = self.swarm("user_count=2&spawn_rate=2&run_time=3s")
        self.assertEqual(status, 200)
        self.assertEqual(body["run_time"], 3)
        wait_for(lambda: self.get("/stats/requests")[1]["state"] ==
                 "stopped", 20, what="the run time to stop the test")
        # SIGTERM: the master quits its workers and exits.
        self.master_proc.signal(15)
        self.assertIn(self.master_proc.wait(20), (0, 1))
        for p in self.procs:
            if p.name.startswith("worker"):
                self.assertEqual(p.wait(10), 0)

    def test_bad_input_gets_4xx_json(self):
        self.start_ui(workers=1)
        cases = [
            ("user_count=x&spawn_rate=1", "user_count: expected an integer"),
            ("user_count=-5&spawn_rate=1", "user_count: expected an integer"),
            ("user_count=5&spawn_rate=-1", "spawn_rate: expected a number"),
            ("user_count=5&spawn_rate=nan", "spawn_rate: expected a number"),
            ("user_count=5", "Missing user_count or spawn_rate"),
            ("user_count=5&spawn_rate=1&host=ftp://x", "host: expected a URL"),
            ("user_count=5&spawn_rate=1&run_time=soon",
             "Valid run_time formats"),
        ]
        for body, message in cases:
            status, answer = self.swarm(body)
            self.assertEqual(status, 400, body)
            self.assertFalse(answer["success"])
            self.assertIn(message, answer["message"])
        status, answer = http_json("POST", self.url + "/swarm",
                                   {"user_count": 1}, self.headers)
        self.assertEqual(status, 400)
        self.assertIn("expected a form", answer["message"])
        status, answer = http_json("POST", self.url + "/swarm",
                                   "user_count=1&spawn_rate=1&x=" +
                                   "a" * (70 * 1024), FORM)
        self.assertEqual(status, 413)
        for path in ("/nope", "/stats/nope", "/../etc/passwd"):
            status, answer = self.get(path)
            self.assertEqual(status, 404, path)
            self.assertEqual(answer, {"error": "not found"})
        status, _, _ = http("DELETE", self.url + "/stop")
        self.assertEqual(status, 405)
        status, _, _ = http("GET", self.url + "/swarm")
        self.assertEqual(status, 405)
        status, _, data = http("GET",
                               self.url + "/stats/requests_full_history/csv")
        self.assertEqual(status, 404)
        self.assertIn(b"full history", data)
        # After all that the master still answers and can run a test.
        status, body = self.swarm("user_count=1&spawn_rate=1")
        self.assertEqual(status, 200, body)
        wait_for(lambda: self.get("/stats/requests")[1]["user_count"] == 1,
                 15, what="1 user")

    def many_fields(self, auth):
        # The hostile review's first finding: 64 query fields plus a form
        # body overflowed the job's copies and killed the master (SIGSEGV).
        self.start_ui(workers=1, auth=auth)
        query = "&".join("k%d=v" % i for i in range(64))
        # 64 query fields plus one in the form is one too many.
        for path, body in (
                ("/swarm?" + query, "user_count=1"),
                ("/swarm?" + query + "&k64=v", "user_count=1"),
                ("/swarm", "&".join("f%d=v" % i for i in range(200))),
                ("/stats/reset?" + query, "a=b")):
            status, answer = http_json("POST", self.url + path, body,
                                       dict(FORM, **self.headers))
            self.assertEqual(status, 400, (path[:20], answer))
            self.assertIn("too many query and form fields (at most 64)",
                          answer["message"])
            if auth:
                status, _, _ = http("POST", self.url + path, body, FORM)
                self.assertEqual(status, 401)
        self.assertTrue(self.master_proc.running())
        status, body = self.swarm("user_count=1&spawn_rate=1")
        self.assertEqual(status, 200, body)
        wait_for(lambda: self.get("/stats/requests")[1]["user_count"] == 1,
                 15, what="1 user")

    def test_many_fields_never_crash_the_master(self):
        self.many_fields(None)

    def test_many_fields_never_crash_the_master_with_auth(self):
        self.many_fields("admin:s3cret")

    def test_basic_auth_on_every_route(self):
        self.start_ui(workers=1, auth="admin:s3cret")
        for path in ("/", "/stats/requests", "/report", "/stop",
                     "/stats/requests/csv", "/metrics"):
            status, headers, _ = http("GET", self.url + path)
            self.assertEqual(status, 401, path)
            self.assertIn("Basic", headers.get("WWW-Authenticate", ""))
            status, _, _ = http("GET", self.url + path, headers={
                "Authorization": "Basic " + base64.b64encode(
                    b"admin:wrong").decode()})
            self.assertEqual(status, 401, path)
            status, _, _ = http("GET", self.url + path, headers=self.headers)
            self.assertEqual(status, 200, path)
        status, _, _ = http("POST", self.url + "/swarm",
                            "user_count=1&spawn_rate=1", FORM)
        self.assertEqual(status, 401)

    def test_metrics_in_prometheus_text_format(self):
        # Parsed with Debian's prometheus_client (the real parser), and
        # every number checked against /stats/requests and the target.
        from prometheus_client.parser import text_string_to_metric_families
        base = self.target("--error-rate", "0.2")
        odd = 'say "hi" \\ back\nslash'
        scn = os.path.join(self.dir, "metrics.json")
        with open(scn, "w") as f:
            json.dump({"users": [{
                "name": "MetricsUser", "wait": {"constant": 0.05},
                "tasks": [{"request": {"path": "/health", "name": odd}},
                          {"request": {"path": "/api/v1/tasks"}}]}],
                "thresholds": {"http_req_duration": ["p(95)<100000"],
                               "http_req_failed": ["rate<0.0001"]}}, f)
        self.url = "http://127.0.0.1:%d" % free_port()
        self.headers = {}
        port = free_port()
        self.start([binary("apex-master"), "-f", scn, "--web-host",
                    "127.0.0.1", "--web-port", self.url.rsplit(":", 1)[1],
                    "--master-bind-port", port, "--host", base,
                    "--autostart", "-u", 4, "-r", 4], "master")
        self.worker(port, "worker1")
        def requests():
            try:
                return self.get("/stats/requests")[1]["stats"][-1][
                    "num_requests"]
            except OSError:  # not listening yet
                return 0
        wait_for(lambda: requests() >= 60, 30, what="60 requests")
        self.assertEqual(self.get("/stop")[0], 200)
        wait_for(lambda: self.get("/stats/requests")[1]["state"] ==
                 "stopped", 15, what="the stop")

        def settled():
            # The workers' last reports arrive with their stop.
            before = self.get("/stats/requests")[1]
            time.sleep(0.5)
            after = self.get("/stats/requests")[1]
            return before["stats"] == after["stats"] and after
        stats = wait_for(settled, 15, what="the final statistics")
        status, headers, body = http("GET", self.url + "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith(
            "text/plain; version=0.0.4"), headers["Content-Type"])
        families = {f.name: f for f in
                    text_string_to_metric_families(body.decode())}

        def samples(family, suffix=""):
            return [s for s in families[family].samples
                    if s.name == family + suffix]

        def by_entry(family, suffix=""):
            return {(s.labels["method"], s.labels["name"]): s.value
                    for s in samples(family, suffix)}

        entries = {(e["method"], e["name"]): e for e in stats["stats"]
                   if e["name"] != "Aggregated"}
        self.assertIn(("GET", odd), entries)  # escaping round-trips
        self.assertEqual(by_entry("apex_requests", "_total"),
                         {k: e["num_requests"] for k, e in entries.items()})
        self.assertEqual(by_entry("apex_request_failures", "_total"),
                         {k: e["num_failures"] for k, e in entries.items()})
        # The target may have served a request per user that the stop
        # cut off before its response was counted.
        served = apexlib.target_stats(base)
        ours = sum(by_entry("apex_requests", "_total").values())
        self.assertTrue(0 <= served["total"] - ours <= 4, (ours, served))
        errors = samples("apex_errors", "_total")
        self.assertEqual(sum(s.value for s in errors),
                         stats["stats"][-1]["num_failures"])
        self.assertTrue(0 <= served["errors_injected"] -
                        sum(s.value for s in errors) <= 4, served)
        self.assertGreater(served["errors_injected"], 0)
        self.assertTrue(all("500 Server Error" in s.labels["error"]
                            for s in errors), errors)
        self.assertEqual(families["apex_response_time_seconds"].type,
                         "summary")
        counts = by_entry("apex_response_time_seconds", "_count")
        sums = by_entry("apex_response_time_seconds", "_sum")
        for key, e in entries.items():
            self.assertEqual(counts[key], e["num_requests"])
            self.assertAlmostEqual(sums[key] / counts[key] * 1000,
                                   e["avg_response_time"], places=3)
        for s in samples("apex_response_time_seconds"):
            key = (s.labels["method"], s.labels["name"])
            q = {"0.5": "50", "0.9": "90", "0.95": "95", "0.99": "99",
                 "0.999": "99.9"}.get(s.labels["quantile"])
            if q:
                self.assertAlmostEqual(
                    s.value * 1000, entries[key]["apex_percentiles_ms"][q],
                    places=6)
        state = {s.labels["state"]: s.value
                 for s in samples("apex_runner_state")}
        self.assertEqual(state.pop("stopped"), 1)
        self.assertEqual(set(state.values()), {0})
        self.assertEqual(sum(s.value for s in samples("apex_workers")), 1)
        self.assertGreater(samples("apex_worker_memory_bytes")[0].value, 0)
        self.assertGreater(samples("apex_iterations", "_total")[0].value, 0)
        ok = {s.labels["threshold"]: s.value
              for s in samples("apex_threshold_ok")}
        self.assertEqual(ok, {"http_req_duration: p(95)<100000": 1,
                              "http_req_failed: rate<0.0001": 0})
        observed = {s.labels["threshold"]: s.value
                    for s in samples("apex_threshold_observed")}
        total = stats["stats"][-1]
        self.assertAlmostEqual(observed["http_req_failed: rate<0.0001"],
                               total["num_failures"] / total["num_requests"])
        version = samples("apex_info")[0].labels["version"]
        self.assertRegex(version, r"^\d+\.\d+\.\d+")

    def test_headless_metrics_only_with_the_option(self):
        from prometheus_client.parser import text_string_to_metric_families
        base = self.target()
        scn = os.path.join(apexlib.ROOT, "scenarios/apex.json")
        web = free_port()
        url = "http://127.0.0.1:%d" % web
        m = self.start([binary("apex-master"), "-f", scn, "--headless",
                        "--metrics", "--web-host", "127.0.0.1", "--web-port",
                        web, "--master-bind-port", free_port(), "--host",
                        base, "-u", 3, "-r", 3, "-t", "4s", "--processes", 1,
                        "--only-summary"], "master")

        def requests():
            try:
                status, _, body = http("GET", url + "/metrics", timeout=2)
            except OSError:  # not listening yet
                return 0
            self.assertEqual(status, 200)
            return sum(s.value for f in
                       text_string_to_metric_families(body.decode())
                       if f.name == "apex_requests" for s in f.samples)
        wait_for(lambda: requests() > 0, 20, what="requests in /metrics")
        for method, path in (("GET", "/"), ("GET", "/stats/requests"),
                             ("GET", "/stop"), ("POST", "/swarm"),
                             ("POST", "/metrics")):
            status, _, body = http(method, url + path, "user_count=1"
                                   if method == "POST" else None, FORM)
            self.assertEqual(status, 404, path)
            self.assertIn("only GET /metrics", json.loads(body)["error"])
        self.assertIn(m.wait(30), (0, 1), m.stderr())
        self.assertIn("Starting Prometheus metrics at", m.stderr())
        # Without --metrics a headless master opens no web port.
        web2 = free_port()
        m2 = self.start([binary("apex-master"), "-f", scn, "--headless",
                         "--web-port", web2, "--master-bind-port",
                         free_port(), "--host", base, "-u", 1, "-r", 1, "-t",
                         "2s", "--processes", 1, "--only-summary"], "master2")
        wait_for(lambda: "All users spawned" in m2.stderr(), 20,
                 what="the second run")
        with self.assertRaises(OSError):
            http("GET", "http://127.0.0.1:%d/metrics" % web2, timeout=2)
        self.assertIn(m2.wait(30), (0, 1), m2.stderr())

    def test_autostart_and_autoquit(self):
        base = self.target()
        web = free_port()
        port = free_port()
        m = self.start([binary("apex-master"), "-f",
                        os.path.join(apexlib.ROOT, "scenarios/apex.json"),
                        "--web-host", "127.0.0.1", "--web-port", web,
                        "--master-bind-port", port, "--host", base,
                        "--autostart", "--autoquit", "1", "-u", 3, "-r", 3,
                        "-t", "3s"], "master")
        self.worker(port, "worker1")
        self.assertIn(m.wait(30), (0, 1), m.stderr())
        self.assertIn("--autoquit time reached", m.stderr())
        self.assertGreater(apexlib.target_stats(base)["total"], 0)


class BrowserUiTest(WebCase):
    def test_ui_in_headless_chromium(self):
        ui_test = os.path.join(apexlib.ROOT, "tests/browser/ui.test.mjs")
        if not os.path.exists(ui_test):
            self.skipTest("tests/browser/ui.test.mjs is not there yet")
        import subprocess
        self.start_ui()
        env = dict(os.environ, APEX_UI_URL=self.url,
                   APEX_BROWSER_OUT=self.dir)
        p = subprocess.run(["node", "--test", "--test-reporter=tap",
                            ui_test], capture_output=True, text=True,
                           env=env, cwd=apexlib.ROOT, timeout=180)
        print(p.stdout[-1500:])
        self.assertEqual(p.returncode, 0, p.stdout[-4000:] + p.stderr)
        self.assertRegex(p.stdout, r"# fail 0")
        self.assertTrue([f for f in os.listdir(self.dir)
                         if f.endswith(".png")])


# A stats name that must wrap in the Statistics table: URL-like words, then
# a token wider than the Name column.
LONG_NAME = ("/api/v1/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/"
             "{task_id}/logs/{try_number}?full_content=true&map_index=-1"
             "&token=eyJhbGciOiJIUzI1NiJ9" + "AbCdEfGhIjKlMnOpQrStUvWxYz" * 3)


class BrowserViewsTest(WebCase):
    def test_first_run_views_in_headless_chromium(self):
        """tests/browser/ui_views.test.mjs against a master with no worker
        at first: the worker starts once the page has said how."""
        import subprocess
        base = self.target()
        scn = apexlib.write_scenario(self.dir, {"users": [
            {"name": "LongNamesUser", "weight": 2,
             "wait": {"constant": 0.1},
             "tasks": [
                 {"name": "listing", "weight": 3,
                  "request": {"path": "/health", "name": LONG_NAME}},
                 {"name": "health_check", "weight": 1,
                  "request": {"path": "/health",
                              "check": {"healthy": "$.status == 'ok'"}}}]},
            {"name": "SocketUser", "weight": 1, "wait": {"constant": 0.2},
             "on_start": [{"ws": "connect", "url": base.replace(
                 "http://", "ws://") + "/ws/echo"}],
             "tasks": [{"name": "echo", "request": {
                 "ws": "request", "name": "echo",
                 "json": {"id": "${uuid()}"}, "correlate": "$.id"}}]}]})
        web, port = free_port(), free_port()
        self.url = "http://127.0.0.1:%d" % web
        self.headers = {}
        self.start([binary("apex-master"), "-f", scn, "--web-host",
                    "127.0.0.1", "--web-port", web, "--master-bind-port",
                    port, "--host", base, "--processes", 0], "master")

        def up():
            try:
                return self.get("/config")[0] == 200
            except OSError:
                return False
        wait_for(up, 20, what="the UI")
        marker = os.path.join(self.dir, "needs-worker")
        out = open(os.path.join(self.dir, "ui_views.tap"), "w+")
        env = dict(os.environ, APEX_UI_URL=self.url,
                   APEX_UI_MASTER_PORT=str(port),
                   APEX_UI_NEEDS_WORKER=marker, APEX_BROWSER_OUT=self.dir)
        node = subprocess.Popen(
            ["node", "--test", "--test-reporter=tap",
             os.path.join(apexlib.ROOT, "tests/browser/ui_views.test.mjs")],
            stdout=out, stderr=subprocess.STDOUT, env=env,
            cwd=apexlib.ROOT)
        try:
            wait_for(lambda: os.path.exists(marker) or
                     node.poll() is not None, 90,
                     what="the page's word on a missing worker")
            if os.path.exists(marker):
                self.worker(port, "worker1")
            node.wait(180)
        finally:
            if node.poll() is None:
                node.kill()
                node.wait()
        out.seek(0)
        tap = out.read()
        out.close()
        print(tap[-1500:])
        self.assertEqual(node.returncode, 0, tap[-4000:])
        self.assertRegex(tap, r"# fail 0")
        self.assertRegex(tap, r"# pass 8")


if __name__ == "__main__":
    unittest.main()

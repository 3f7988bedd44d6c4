"""The scenario's environment values (here AUTH_TOKEN) never leave a
process in clear: not in the logs, the failure texts, the CSV files, the
JSON and HTML reports, the web API or /metrics; they show as ***. One run
with apex-workers (which mask their failure texts before sending them)
and one with a raw worker that does not mask (as a Locust worker would
not), whose report the master masks as it arrives."""
import glob
import json
import os
import signal
import time

import msgpack
import zmq

from apexlib import binary, free_port, http, http_json, read_csv, wait_for
from test_run import RunCase, write_scenario

TOKEN = "s3cr3t-t0ken-7f2c"
ENV = {"AUTH_TOKEN": TOKEN}

SCENARIO = {
    "headers": {"Authorization": "Bearer ${AUTH_TOKEN}"},
    "users": [{
        "name": "SecretUser",
        "wait": {"constant": 0.05},
        "tasks": [
            {"request": {"path": "/health"}},
            # 404: the failure text names the full URL, token included.
            {"request": {"path": "/nope", "query": {"t": "${AUTH_TOKEN}"}}},
        ],
    }],
}


class SecretsCase(RunCase):
    def outputs(self):
        """Every file the test's processes wrote but apex-target's (the
        target is the system under test: it gets the token, by design)."""
        files = [p for p in glob.glob(os.path.join(self.dir, "*"))
                 if os.path.isfile(p) and not os.path.basename(p)
                 .startswith(("target.", "scenario"))]
        self.assertTrue(files)
        return files

    def assert_nowhere(self, files, extra_texts=()):
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            self.assertNotIn(TOKEN.encode(), data, path)
        for name, text in extra_texts:
            self.assertNotIn(TOKEN, text, name)


class MaskedTest(SecretsCase):
    def test_apex_workers_every_output_masked(self):
        base = self.target()
        prefix = os.path.join(self.dir, "run")
        web = free_port()
        url = "http://127.0.0.1:%d" % web
        scn = write_scenario(self.dir, SCENARIO)
        port = free_port()
        m = self.start([
            binary("apex-master"), "-f", scn, "--master-bind-port", port,
            "--web-host", "127.0.0.1", "--web-port", web, "--autostart",
            "-u", 3, "-r", 3, "-t", "3s", "--host", base,
            "--csv", prefix, "--json-file", prefix + ".json", "--html",
            prefix + ".html", "--expect-workers", 2, "--loglevel", "DEBUG"],
            "master", env=ENV)
        for i in (1, 2):
            self.worker(port, "worker%d" % i, "--loglevel", "DEBUG")

        def stopped():
            try:
                status, body = http_json("GET", url + "/stats/requests",
                                         timeout=2)
            except OSError:
                return False
            return status == 200 and body["state"] == "stopped" and body
        stats = wait_for(stopped, 30, what="the run to stop")
        # The failure reached the master, masked.
        errors = [e["error"] for e in stats["errors"]]
        self.assertTrue(any("t=***" in e for e in errors), errors)
        texts = [("/stats/requests", json.dumps(stats))]
        for path in ("/config", "/exceptions", "/metrics", "/stats/report",
                     "/stats/report.json", "/stats/requests/csv",
                     "/stats/failures/csv", "/exceptions/csv", "/tasks",
                     "/history"):
            status, _, data = http("GET", url + path)
            self.assertEqual(status, 200, path)
            texts.append((path, data.decode()))
        config = json.loads(dict(texts)["/config"])
        self.assertEqual(config["scenario_document"]["env"],
                         {"AUTH_TOKEN": "***"})
        self.assertEqual(config["scenario_document"]["headers"],
                         {"Authorization": "Bearer ${AUTH_TOKEN}"})
        m.signal(signal.SIGTERM)
        self.assertEqual(m.wait(40), 1, m.stderr())  # requests failed
        failures = read_csv(prefix + "_failures.csv")
        self.assertTrue(any("t=***" in r["Error"] for r in failures),
                        failures)
        self.assertTrue(os.path.getsize(prefix + ".html") > 0)
        # Finding 2: bound to every interface without CURVE, it warns.
        self.assertIn("the scenario's environment values (AUTH_TOKEN) are "
                      "sent in clear to every worker that connects to port "
                      "%d on all interfaces" % port, m.stderr())
        self.assertIn("Turn CURVE on: apex-master --gen-keys DIR",
                      m.stderr())
        self.assertIn("***", open(prefix + ".json").read())
        self.assert_nowhere(self.outputs(), texts)


class UnmaskedWorkerTest(SecretsCase):
    def send_report(self, sock, node):
        """A stats report and an exception with the token in clear."""
        now = time.time()
        entry = {"name": "/item/" + TOKEN, "method": "GET",
                 "last_request_timestamp": now, "start_time": now,
                 "num_requests": 2, "num_none_requests": 0,
                 "num_failures": 1, "total_response_time": 20,
                 "max_response_time": 15, "min_response_time": 5,
                 "total_content_length": 0,
                 "response_times": {5: 1, 15: 1},
                 "num_reqs_per_sec": {int(now): 2},
                 "num_fail_per_sec": {int(now): 1}}
        error = {"name": "/item/" + TOKEN, "method": "GET",
                 "error": "HTTPError('401 for url: /item/%s')" % TOKEN,
                 "occurrences": 1}
        stats = {"stats": [entry], "errors": {"k" * 64: error},
                 "user_classes_count": {"SecretUser": 1}, "user_count": 1,
                 "stats_total": dict(entry, name="Aggregated", method="")}
        sock.send(msgpack.packb(["stats", stats, node]))
        sock.send(msgpack.packb(["exception", {
            "msg": "token %s refused" % TOKEN,
            "traceback": "  File x.py\n    use(%s)\n" % TOKEN}, node]))

    def test_master_masks_what_a_worker_sends(self):
        prefix = os.path.join(self.dir, "run")
        scn = write_scenario(self.dir, SCENARIO)
        port = free_port()
        m = self.start([
            binary("apex-master"), "-f", scn, "--headless",
            "--master-bind-port", port, "--master-bind-host", "127.0.0.1",
            "--expect-workers", 1, "-u", 1,
            "-r", 1, "-t", "2s", "--host", "http://127.0.0.1:9", "--csv",
            prefix, "--json-file", prefix + ".json", "--html",
            prefix + ".html"], "master", env=ENV)
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        node = "plain_" + "0" * 32
        sock.setsockopt(zmq.IDENTITY, node.encode())
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect("tcp://127.0.0.1:%d" % port)
        self.addCleanup(ctx.term)
        self.addCleanup(sock.close)
        sock.send(msgpack.packb(["client_ready", -1, node]))
        state = {"spawned": False}

        def heartbeat():
            sock.send(msgpack.packb(["heartbeat", {
                "state": "running" if state["spawned"] else "ready",
                "current_cpu_usage": 1.0, "current_memory_usage": 1}, node]))
            while sock.poll(0):
                msg = msgpack.unpackb(sock.recv(), raw=False,
                                      strict_map_key=False)
                if msg[0] == "spawn" and not state["spawned"]:
                    state["spawned"] = True
                    self.send_report(sock, node)
            return not m.running()
        # Heartbeats until the run ends; the report once the run began.
        wait_for(heartbeat, 30, interval=0.2, what="the run to end")
        self.assertTrue(state["spawned"])
        rows = read_csv(prefix + "_stats.csv")
        self.assertIn("/item/***", [r["Name"] for r in rows])
        self.assertIn("401 for url: /item/***",
                      open(prefix + "_failures.csv").read())
        self.assertIn("token *** refused",
                      open(prefix + "_exceptions.csv").read())
        self.assertIn("token *** refused", m.stderr())
        self.assertNotIn("sent in clear", m.stderr())  # loopback only
        self.assert_nowhere(self.outputs())

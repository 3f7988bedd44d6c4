"""Wire compatibility with real Locust, both ways, against Debian's
python3-locust: a Locust master with apex-workers, an apex-master with
Locust workers, and a mixed fleet. Everything runs on 127.0.0.1 and is
bounded in time; every test checks that no process is left running.
"""
import csv
import os
import re
import signal
import subprocess
import sys
import time
import unittest

import apexlib
from apexlib import binary, free_port, read_csv, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
LOCUSTFILE = os.path.join(HERE, "locustfile.py")
SCENARIO = os.path.join(HERE, "scenario.json")
SCRIPTED = os.path.join(HERE, "scripted.json")
LOCUST = ["/usr/bin/locust"]
LOCUST_WRAPPED = ["/usr/bin/python3", os.path.join(HERE, "locustw.py")]
ROUTES = {("GET", "/health"): "GET /health",
          ("GET", "/api/v1/tasks"): "GET /api/v1/tasks",
          ("GET", "/api/v1/agents"): "GET /api/v1/agents"}


def locust_version():
    """The Debian package's version (locust itself reports '')."""
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                        "python3-locust"], capture_output=True, text=True)
    return p.stdout.strip() or "unknown"


def setUpModule():
    if not os.path.exists(LOCUST[0]):
        raise unittest.SkipTest("Debian's python3-locust is not installed "
                                "(make deps installs it)")
    sys.stderr.write("interop: running against Debian python3-locust %s "
                     "(its locust/_version.py is empty; locustw.py sets "
                     "2.12.1)\n" % locust_version())


class InteropCase(apexlib.ProcCase):
    def locust_master(self, base, *extra, wrapped=False, name="locust"):
        port = free_port()
        cmd = LOCUST_WRAPPED if wrapped else LOCUST
        p = self.start([*cmd, "-f", LOCUSTFILE, "--master",
                        "--master-bind-host", "127.0.0.1",
                        "--master-bind-port", port, "--host", base,
                        *extra], name)
        return p, port

    def locust_worker(self, port, name="locust-worker", wrapped=False):
        cmd = LOCUST_WRAPPED if wrapped else LOCUST
        return self.start([*cmd, "-f", LOCUSTFILE, "--worker",
                           "--master-host", "127.0.0.1", "--master-port",
                           port], name)

    def apex_master(self, base, *extra, name="apex-master"):
        port = free_port()
        p = self.start([binary("apex-master"), "-f", SCENARIO, "--headless",
                        "--master-bind-port", port, "--host", base,
                        "--only-summary", *extra], name)
        return p, port

    def apex_worker(self, port, *extra, name="apex-worker"):
        return self.start([binary("apex-worker"), "--master-port", port,
                           "-f", SCENARIO, *extra], name)

    def assert_counts(self, base, stats_csv, in_flight=0):
        """The CSV's counts per route equal what apex-target served.

        A Locust worker kills its users at quit (no stop_timeout), so the
        requests they had in flight were served but never reported: with
        Python workers up to in_flight (their users) may be missing.
        """
        served = apexlib.target_stats(base)["requests"]
        rows = read_csv(stats_csv)
        total = [r for r in rows if r["Name"] == "Aggregated"][0]
        entries = [r for r in rows if r["Name"] != "Aggregated"]
        self.assertTrue(entries, rows)
        for r in entries:
            key = ROUTES[(r["Type"], r["Name"])]
            ours = int(r["Request Count"])
            self.assertLessEqual(ours, served[key], key)
            self.assertGreaterEqual(ours, served[key] - in_flight, key)
        all_served = sum(served[k] for k in ROUTES.values())
        self.assertLessEqual(int(total["Request Count"]), all_served)
        self.assertGreaterEqual(int(total["Request Count"]),
                                all_served - in_flight)
        return int(total["Request Count"])


class ApexWorkerLocustMasterTest(InteropCase):
    """Keep the Locust master, add fast C workers."""

    def test_counts_match_and_clean_exit(self):
        base = self.target()
        prefix = os.path.join(self.dir, "locust")
        m, port = self.locust_master(
            base, "--headless", "-u", 8, "-r", 8, "-t", "5s",
            "--expect-workers", 1, "--csv", prefix)
        w = self.apex_worker(port)
        self.assertEqual(m.wait(60), 0, m.stderr()[-3000:])
        self.assertEqual(w.wait(10), 0, w.stderr())  # quit path
        total = self.assert_counts(base, prefix + "_stats.csv")
        self.assertGreater(total, 50)
        self.assertIn("registered with the master", w.stderr())
        # No message of ours made the Python master complain.
        for bad in ("Traceback", "Unknown message type",
                    "old (pre 2.0) worker", "different version"):
            self.assertNotIn(bad, m.stderr())

    def test_lua_worker_runs_the_class_the_master_names(self):
        # The Locust master dispatches WebUser and AgentUser by name; the
        # worker runs WebUser as its Lua script (webuser.lua).
        base = self.target()
        prefix = os.path.join(self.dir, "locust")
        m, port = self.locust_master(
            base, "--headless", "-u", 8, "-r", 8, "-t", "4s",
            "--expect-workers", 1, "--csv", prefix)
        w = self.start([binary("apex-worker"), "--master-port", port,
                        "-f", SCRIPTED], "apex-worker")
        self.assertEqual(m.wait(60), 0, m.stderr()[-3000:])
        self.assertEqual(w.wait(10), 0, w.stderr())
        self.assertGreater(self.assert_counts(base, prefix + "_stats.csv"),
                           50)
        rows = {r["Name"]: int(r["Request Count"])
                for r in read_csv(prefix + "_stats.csv")}
        self.assertGreater(rows["/health"], 0)
        self.assertGreater(rows["/api/v1/tasks"], 0)
        self.assertGreater(rows["/api/v1/agents"], 0)
        self.assertNotIn("Traceback", m.stderr())

    def test_failures_exit_code_and_merged_error_rows(self):
        base = self.target("--error-rate", "0.3")
        prefix = os.path.join(self.dir, "locust")
        m, port = self.locust_master(
            base, "--headless", "-u", 6, "-r", 6, "-t", "5s",
            "--expect-workers", 2, "--csv", prefix)
        w1 = self.apex_worker(port, name="apex-worker1")
        w2 = self.apex_worker(port, name="apex-worker2")
        self.assertEqual(m.wait(60), 1, m.stderr()[-3000:])
        self.assertEqual(w1.wait(10), 0)
        self.assertEqual(w2.wait(10), 0)
        self.assert_counts(base, prefix + "_stats.csv")
        failures = read_csv(prefix + "_failures.csv")
        keys = [(f["Method"], f["Name"], f["Error"]) for f in failures]
        # Two workers, one row per (method, name, error): the error keys
        # hash identically on both.
        self.assertEqual(len(keys), len(set(keys)), failures)
        self.assertEqual(sum(int(f["Occurrences"]) for f in failures),
                         apexlib.target_stats(base)["errors_injected"])
        health = [f for f in failures if f["Name"] == "/health"]
        self.assertEqual(len(health), 1, failures)
        self.assertIn("500 Server Error: Internal Server Error for url: "
                      + base + "/health", health[0]["Error"])

    def test_unknown_class_is_reported_and_known_ones_run(self):
        base = self.target()
        scenario = os.path.join(self.dir, "web-only.json")
        with open(scenario, "w") as f:
            f.write('{"users": [{"name": "WebUser", "wait": 0.05, '
                    '"tasks": [{"request": {"path": "/health"}}]}]}')
        prefix = os.path.join(self.dir, "locust")
        m, port = self.locust_master(
            base, "--headless", "-u", 8, "-r", 8, "-t", "4s",
            "--expect-workers", 1, "--csv", prefix)
        w = self.start([binary("apex-worker"), "--master-port", port, "-f",
                        scenario], "apex-worker")
        # Locust counts the reported exception, so it exits 1.
        self.assertEqual(m.wait(60), 1, m.stderr()[-3000:])
        self.assertEqual(w.wait(10), 0)
        self.assertIn("unknown user class(es) AgentUser", w.stderr())
        exceptions = read_csv(prefix + "_exceptions.csv")
        self.assertTrue(any("AgentUser" in e["Message"] for e in exceptions),
                        exceptions)
        served = apexlib.target_stats(base)["requests"]
        self.assertGreater(served["GET /health"], 20)
        self.assertEqual(served["GET /api/v1/agents"], 0)

    def test_stop_then_start_again_then_quit(self):
        # A Locust master with its web UI (wrapped, so it has a version):
        # swarm, stop, swarm again, then SIGTERM.
        base = self.target()
        web = free_port()
        m, port = self.locust_master(base, "--web-host", "127.0.0.1",
                                     "--web-port", web, wrapped=True)
        w = self.apex_worker(port)
        url = "http://127.0.0.1:%d" % web

        def workers_ready():
            try:
                status, stats = apexlib.http_json("GET",
                                                  url + "/stats/requests")
            except OSError:
                return False  # the web UI is not up yet
            return status == 200 and stats.get("workers") and all(
                x["state"] == "ready" for x in stats["workers"])
        wait_for(workers_ready, 20, what="the apex-worker to register")
        for round_ in (1, 2):
            status, body = apexlib.http_json(
                "POST", url + "/swarm", "user_count=4&spawn_rate=4",
                {"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(status, 200, body)
            wait_for(lambda: apexlib.http_json(
                "GET", url + "/stats/requests")[1]["user_count"] == 4, 15,
                what="4 users in round %d" % round_)
            before = apexlib.target_stats(base)["total"]
            wait_for(lambda: apexlib.target_stats(base)["total"] > before + 10,
                     15, what="requests in round %d" % round_)
            status, body = apexlib.http_json("GET", url + "/stop")
            self.assertEqual(status, 200, body)
            wait_for(lambda: w.stderr().count(
                "users stopped, ready for a new test") == round_, 15,
                what="the worker to stop in round %d" % round_)
            wait_for(workers_ready, 15, what="the worker to be ready again")
        m.signal(signal.SIGTERM)
        self.assertEqual(w.wait(15), 0, w.stderr())
        m.wait(15)
        self.assertIn("quit from the master", w.stderr())
        self.assertNotIn("Traceback", m.stderr())


class LocustWorkerApexMasterTest(InteropCase):
    """Keep the Python workers, use our master."""

    def test_debian_locust_worker_counts_match(self):
        base = self.target()
        prefix = os.path.join(self.dir, "apex")
        m, port = self.apex_master(base, "-u", 8, "-r", 8, "-t", "5s",
                                   "--csv", prefix)
        w = self.locust_worker(port)
        self.assertEqual(m.wait(60), 0, m.stderr())
        self.assertEqual(w.wait(15), 0, w.stderr()[-3000:])  # quit path
        total = self.assert_counts(base, prefix + "_stats.csv", in_flight=8)
        self.assertGreater(total, 50)
        self.assertIn("sent an empty version", m.stderr())
        self.assertRegex(m.stdout(), r"\S+_[0-9a-f]{32}\s+locust \(no "
                                     r"version\)")
        for bad in ("Traceback", "Unknown message type"):
            self.assertNotIn(bad, w.stderr())

    def test_locust_worker_with_version_and_failures(self):
        base = self.target("--error-rate", "0.3")
        prefix = os.path.join(self.dir, "apex")
        m, port = self.apex_master(base, "-u", 4, "-r", 4, "-t", "4s",
                                   "--csv", prefix)
        w = self.locust_worker(port, wrapped=True)
        self.assertEqual(m.wait(60), 1, m.stderr())
        self.assertEqual(w.wait(15), 0)
        self.assert_counts(base, prefix + "_stats.csv", in_flight=4)
        failures = read_csv(prefix + "_failures.csv")
        ours = sum(int(f["Occurrences"]) for f in failures)
        injected = apexlib.target_stats(base)["errors_injected"]
        self.assertTrue(injected - 4 <= ours <= injected, (ours, injected))
        self.assertRegex(m.stdout(), r"locust 2\.12\.1")
        self.assertNotIn("Unknown message type", w.stderr())

    def test_worker_quitting_ends_the_run(self):
        base = self.target()
        m, port = self.apex_master(base, "-u", 4, "-r", 4, "-t", "60s")
        w = self.locust_worker(port)
        wait_for(lambda: "All users spawned" in m.stderr(), 20,
                 what="the ramp")
        w.signal(signal.SIGTERM)  # the worker sends quit
        self.assertEqual(w.wait(15), 0)
        self.assertEqual(m.wait(20), 3, m.stderr())
        self.assertIn("The last worker quit, stopping test.", m.stderr())


class MixedFleetTest(InteropCase):
    """One apex-master, an apex-worker and a Locust worker together."""

    def test_both_get_users_and_counts_merge(self):
        base = self.target("--error-rate", "0.1")
        prefix = os.path.join(self.dir, "apex")
        m, port = self.apex_master(base, "-u", 8, "-r", 8, "-t", "6s",
                                   "--csv", prefix, "--expect-workers", 2)
        pw = self.locust_worker(port)
        aw = self.apex_worker(port)
        self.assertEqual(m.wait(60), 1, m.stderr())
        self.assertEqual(pw.wait(15), 0)
        self.assertEqual(aw.wait(15), 0)
        self.assert_counts(base, prefix + "_stats.csv", in_flight=4)
        table = re.findall(r"^(\S+_[0-9a-f]{32})\s+(apex \S+|locust \(no "
                           r"version\))\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(\d+)",
                           m.stdout(), re.M)
        kinds = {k.split()[0]: (int(u), int(n)) for _, k, u, n in table}
        self.assertEqual(set(kinds), {"apex", "locust"}, m.stdout())
        for kind, (users, requests) in kinds.items():
            self.assertEqual(users, 4, kind)
            self.assertGreater(requests, 10, kind)
        # Errors of both kinds of worker merge into single rows.
        failures = read_csv(prefix + "_failures.csv")
        keys = [(f["Method"], f["Name"], f["Error"]) for f in failures]
        self.assertEqual(len(keys), len(set(keys)), failures)
        health = [f for f in failures if f["Name"] == "/health"]
        self.assertEqual(len(health), 1, failures)


if __name__ == "__main__":
    unittest.main()

"""Headless runs of apex-master with apex-workers against apex-target.

Every test starts real processes on 127.0.0.1 and checks what the target
counted against what the master reports and writes.
"""
import json
import os
import re
import http.server
import signal
import threading
import time

import apexlib
from apexlib import (SIMPLE, binary, free_port, read_csv, wait_for,
                     write_scenario)

STATS_HEADER = ("Type,Name,Request Count,Failure Count,Median Response Time,"
                "Average Response Time,Min Response Time,Max Response Time,"
                "Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,"
                "90%,95%,98%,99%,99.9%,99.99%,100%")
HISTORY_HEADER = ("Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,"
                  "66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,"
                  "Total Request Count,Total Failure Count,"
                  "Total Median Response Time,Total Average Response Time,"
                  "Total Min Response Time,Total Max Response Time,"
                  "Total Average Content Size")
FAILURES_HEADER = "Method,Name,Error,Occurrences,First Seen,Last Seen"
EXCEPTIONS_HEADER = "Count,Message,Traceback,Nodes"


def first_line(path):
    with open(path, newline="") as f:
        return f.readline()


class RunCase(apexlib.ProcCase):
    """Headless masters and workers against apex-target."""

    def master(self, scenario, *extra, name="master", only_summary=True,
               env=None):
        port = free_port()
        args = [binary("apex-master"), "-f", scenario, "--headless",
                "--master-bind-port", port, *extra]
        if only_summary:
            args.append("--only-summary")
        return self.start(args, name, env=env), port

    def worker(self, port, name, *extra):
        return self.start([binary("apex-worker"), "--master-port", port,
                           *extra], name)

    def assert_counts_match(self, base, prefix, exact=True):
        """Our CSV counts per route equal what the target counted."""
        total, _ = self.assert_routes_served(
            apexlib.target_stats(base)["requests"], prefix, exact)
        return int(total["Request Count"])


class RunTest(RunCase):
    def test_processes_run_writes_locust_csvs(self):
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "out", "run")
        m, _ = self.master(scn, "-u", 6, "-r", 6, "-t", "4s", "--host", base,
                           "--csv", prefix, "--processes", 2)
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assertEqual(first_line(prefix + "_stats.csv").rstrip("\r\n"),
                         STATS_HEADER)
        self.assertTrue(first_line(prefix + "_stats.csv").endswith("\r\n"))
        self.assertEqual(
            first_line(prefix + "_stats_history.csv").rstrip("\r\n"),
            HISTORY_HEADER)
        self.assertEqual(first_line(prefix + "_failures.csv").rstrip("\r\n"),
                         FAILURES_HEADER)
        self.assertEqual(
            first_line(prefix + "_exceptions.csv").rstrip("\r\n"),
            EXCEPTIONS_HEADER)
        total = self.assert_counts_match(base, prefix)
        self.assertGreater(total, 50)
        history = read_csv(prefix + "_stats_history.csv")
        self.assertGreater(len(history), 3)
        self.assertIn("6", [h["User Count"] for h in history])
        out = m.stdout()
        self.assertIn("Response time percentiles (approximated)", out)
        self.assertIn("Aggregated", out)
        # Both local workers appear in the workers table with requests.
        workers = re.findall(r"^(\S+_[0-9a-f]{32})\s+apex \S+\s+\S+\s+\d+"
                             r"\s+\S+\s+\S+\s+(\d+)", out, re.M)
        self.assertEqual(len(workers), 2, out)
        self.assertTrue(all(int(n) > 0 for _, n in workers), workers)

    def test_percentiles_are_exact_in_csv(self):
        # 300 ms of injected delay: the CSV's percentiles are the exact
        # microsecond percentiles (the JSON report's) rounded to whole
        # ms, as Locust rounds, never 0 nor a coarse bucket; none below
        # the delay, none above the slowest request (a busy machine may
        # add milliseconds, so there is no upper bound of its own).
        base = self.target("--delay-ms", "300")
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(scn, "-u", 4, "-r", 4, "-t", "3s", "--host", base,
                           "--csv", prefix, "--json-file", prefix + ".json",
                           "--processes", 1)
        self.assertEqual(m.wait(40), 0, m.stderr())
        total = [r for r in read_csv(prefix + "_stats.csv")
                 if r["Name"] == "Aggregated"][0]
        with open(prefix + ".json") as f:
            exact = json.load(f)["total"]["percentiles_ms"]
        slowest = float(total["Max Response Time"])
        for col in ("50%", "90%", "99%", "100%"):
            ms = int(total[col])
            self.assertTrue(300 <= ms <= round(slowest) + 1, (col, total))
            self.assertEqual(ms, round(exact[col.rstrip("%")]),
                             (col, total, exact))
        self.assertGreaterEqual(float(total["Min Response Time"]), 300)

    def test_injected_failures_exit_1_with_failures_csv(self):
        base = self.target("--error-rate", "0.3")
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(scn, "-u", 4, "-r", 4, "-t", "3s", "--host", base,
                           "--csv", prefix, "--processes", 1)
        self.assertEqual(m.wait(40), 1, m.stderr())
        self.assert_counts_match(base, prefix)
        failures = read_csv(prefix + "_failures.csv")
        self.assertTrue(failures)
        served = apexlib.target_stats(base)
        self.assertEqual(sum(int(f["Occurrences"]) for f in failures),
                         served["errors_injected"])
        errors = {(f["Method"], f["Name"]): f["Error"] for f in failures}
        # As Locust's HttpUser words it (full URL when no name is given),
        # so errors from Python and apex workers merge into one row.
        self.assertEqual(
            errors[("GET", "/health")],
            "HTTPError('500 Server Error: Internal Server Error for url: "
            "%s/health')" % base)
        # One row per (method, name, error): no duplicates.
        self.assertEqual(len(errors), len(failures))
        self.assertIn("Error report", m.stdout())
        # --exit-code-on-error changes the code.
        m2, _ = self.master(scn, "-u", 2, "-r", 2, "-t", "2s", "--host",
                            base, "--processes", 1, "--exit-code-on-error",
                            "7", name="master2")
        self.assertEqual(m2.wait(40), 7, m2.stderr())

    def test_separate_workers_both_get_users(self):
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m, port = self.master(scn, "-u", 6, "-r", 6, "-t", "4s", "--host",
                              base, "--csv", prefix, "--expect-workers", 2)
        w1 = self.worker(port, "worker1")
        w2 = self.worker(port, "worker2")
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assertEqual(w1.wait(10), 0, w1.stderr())
        self.assertEqual(w2.wait(10), 0, w2.stderr())
        self.assert_counts_match(base, prefix)
        for w in (w1, w2):
            self.assertIn("scenario received from the master", w.stderr())
        rows = re.findall(r"^\S+_[0-9a-f]{32}\s+apex \S+\s+\S+\s+\d+\s+\S+"
                          r"\s+\S+\s+(\d+)", m.stdout(), re.M)
        self.assertEqual(len(rows), 2, m.stdout())
        self.assertTrue(all(int(n) > 0 for n in rows), rows)

    def test_killed_worker_goes_missing_and_users_move(self):
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m, port = self.master(scn, "-u", 6, "-r", 6, "-t", "14s", "--host",
                              base, "--csv", prefix, "--expect-workers", 2,
                              "--csv-full-history")
        w1 = self.worker(port, "worker1")
        w2 = self.worker(port, "worker2")
        wait_for(lambda: "All users spawned" in m.stderr(), 15,
                 what="the ramp to finish")
        w1.signal(signal.SIGKILL)
        wait_for(lambda: "setting state to missing" in m.stderr(), 10,
                 what="the master to mark the worker missing")
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assertEqual(w2.wait(10), 0, w2.stderr())
        self.assertIn("rebalancing 6 users over 1 workers", m.stderr())
        # The survivor ends with all 6 users.
        table = re.findall(r"^(\S+_[0-9a-f]{32})\s+apex \S+\s+(\S+)\s+"
                           r"(\d+)", m.stdout(), re.M)
        states = {s: int(u) for _, s, u in table}
        self.assertEqual(states.get("missing"), 3, table)
        self.assertEqual(states.get("gone"), 6, table)
        history = read_csv(prefix + "_stats_history.csv")
        users = [h["User Count"] for h in history
                 if h["Name"] == "Aggregated" and h["User Count"] != "0"]
        self.assertEqual(users[-1], "6", users)
        self.assert_counts_match(base, prefix, exact=False)

    def test_scenario_error_names_json_path(self):
        bad = write_scenario(self.dir, {"users": [{
            "name": "U", "tasks": [{"weight": 0,
                                    "request": {"path": "/health"}}]}]})
        m, _ = self.master(bad, "-u", 1)
        self.assertEqual(m.wait(10), 2)
        self.assertIn("$.users[0].tasks[0].weight", m.stderr())
        self.assertIn("scenario.json", m.stderr())
        syntax = os.path.join(self.dir, "syntax.json")
        with open(syntax, "w") as f:
            f.write('{"users": [\n  {"name": "U",}\n]}')
        m2, _ = self.master(syntax, name="master2")
        self.assertEqual(m2.wait(10), 2)
        self.assertRegex(m2.stderr(), r"syntax\.json: line 2")

    def test_usage_errors_exit_2(self):
        scn = write_scenario(self.dir, SIMPLE)
        cases = [
            (["-u", "x"], "--users: expected an integer"),
            (["-t", "5y"], "--run-time: expected a duration"),
            (["--host", "ftp://x"], "--host: expected a URL"),
            (["--bogus"], "--bogus: unknown option"),
            (["--csv-full-history"], "--csv-full-history needs --csv"),
        ]
        for i, (extra, message) in enumerate(cases):
            p = self.start([binary("apex-master"), "-f", scn, "--headless",
                            *extra], "usage%d" % i)
            self.assertEqual(p.wait(10), 2, extra)
            self.assertIn(message, p.stderr())
        env = self.start([binary("apex-master"), "-f", scn, "--headless"],
                         "env", env={"APEX_USERS": "many"})
        self.assertEqual(env.wait(10), 2)
        self.assertIn("APEX_USERS: expected an integer", env.stderr())
        w = self.start([binary("apex-worker"), "--master-port", "0"], "wusage")
        self.assertEqual(w.wait(10), 2)
        self.assertIn("--master-port: expected an integer", w.stderr())

    def test_no_workers_gives_up_with_exit_3(self):
        scn = write_scenario(self.dir, SIMPLE)
        m, _ = self.master(scn, "--expect-workers-max-wait", "1")
        self.assertEqual(m.wait(15), 3)
        self.assertIn("Gave up waiting for workers", m.stderr())

    def test_sigterm_ends_run_with_summary(self):
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(scn, "-u", 4, "-r", 4, "--host", base, "--csv",
                           prefix, "--processes", 1)
        wait_for(lambda: "All users spawned" in m.stderr(), 15,
                 what="the ramp")
        time.sleep(1)  # let some requests happen (not a timing assertion)
        m.signal(signal.SIGTERM)
        self.assertEqual(m.wait(20), 0, m.stderr())
        self.assertIn("terminated, shutting down", m.stderr())
        self.assertIn("Response time percentiles", m.stdout())
        self.assert_counts_match(base, prefix)


class MalformedFrameTest(RunCase):
    """Hostile frames on the master's port: no crash, stats stay right."""

    def test_malformed_frames_do_not_crash_or_corrupt(self):
        import msgpack
        import zmq
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m, port = self.master(scn, "-u", 4, "-r", 4, "-t", "6s", "--host",
                              base, "--csv", prefix, "--expect-workers", 2)
        self.worker(port, "worker1")
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        node = "evil_" + "0" * 32
        sock.setsockopt(zmq.IDENTITY, node.encode())
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect("tcp://127.0.0.1:%d" % port)
        try:
            # Register as a worker, so frames from a known peer are tried.
            sock.send(msgpack.packb(["client_ready", -1, node]))
            self.assertTrue(sock.poll(5000), "no ack from the master")
            ack = msgpack.unpackb(sock.recv(), raw=False)
            self.assertEqual(ack[0], "ack")
            good_stats = {
                "stats": [], "errors": {}, "user_classes_count": {},
                "user_count": 0,
                "stats_total": {"name": "Aggregated", "method": "",
                                "last_request_timestamp": None,
                                "start_time": time.time(),
                                "num_requests": 0, "num_none_requests": 0,
                                "num_failures": 0, "total_response_time": 0,
                                "max_response_time": 0,
                                "min_response_time": None,
                                "total_content_length": 0,
                                "response_times": {},
                                "num_reqs_per_sec": {},
                                "num_fail_per_sec": {}}}
            bad_entry = dict(good_stats["stats_total"], name="/evil",
                             method="GET", num_requests="many")
            frames = [
                b"",
                b"\x01\x02\x03",
                b"\xdd\xff\xff\xff\xff",           # array of 4 billion
                b"\x93" * 200,                      # too deep
                msgpack.packb(["stats", {}, node]) + b"\x01",  # trailing
                msgpack.packb(["stats", None]),    # 2 elements
                msgpack.packb([1, 2, 3]),
                msgpack.packb(["heartbeat", {"state": 5}, node]),
                msgpack.packb(["stats", "x", node]),
                msgpack.packb(["stats", dict(good_stats,
                                             stats=[bad_entry]), node]),
                msgpack.packb(["stats", dict(
                    good_stats, stats_total=dict(
                        good_stats["stats_total"],
                        num_requests=-5)), node]),
                msgpack.packb(["spawning_complete",
                               {"user_count": "x"}, node]),
                msgpack.packb(["stats", good_stats, "someone_else"]),
                msgpack.packb(["no_such_type", {}, node]),
            ]
            for frame in frames:
                sock.send(frame)
            sock.send_multipart([msgpack.packb(["heartbeat", None, node]),
                                 b"extra frame"])
        finally:
            sock.close()
            ctx.term()
        # The fake worker never heartbeats, so the real one does the work;
        # the master must finish normally with exact counts.
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assert_counts_match(base, prefix)
        err = m.stderr()
        self.assertIn("malformed message from worker " + node, err)
        self.assertIn("malformed messages were dropped", err)
        self.assertNotIn("/evil", open(prefix + "_stats.csv").read())


class MasterRestartTest(RunCase):
    def test_worker_registers_again_with_a_restarted_master(self):
        # A master that answered heartbeats dies mid-run: after 30 s of
        # silence the worker stops its users and registers again, so a
        # master restarted on the same port gets it back (start order and
        # restarts do not matter, e.g. on Kubernetes).
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        port = free_port()
        first = self.start([binary("apex-master"), "-f", scn, "--headless",
                            "--master-bind-port", port, "-u", 2, "-r", 2,
                            "--host", base, "--only-summary"], "master1")
        w = self.worker(port, "worker")
        wait_for(lambda: "All users spawned" in first.stderr(), 20,
                 what="the first run")
        first.signal(signal.SIGKILL)
        first.wait(10)
        wait_for(lambda: "registering again" in w.stderr(), 45,
                 what="the worker to notice the master is gone")
        before = apexlib.target_stats(base)["total"]
        prefix = os.path.join(self.dir, "second")
        second = self.start([binary("apex-master"), "-f", scn, "--headless",
                             "--master-bind-port", port, "-u", 2, "-r", 2,
                             "-t", "3s", "--host", base, "--csv", prefix,
                             "--only-summary"], "master2")
        self.assertEqual(second.wait(60), 0, second.stderr())
        self.assertEqual(w.wait(10), 0)  # quit by the second master
        total = [r for r in read_csv(prefix + "_stats.csv")
                 if r["Name"] == "Aggregated"][0]
        served = apexlib.target_stats(base)["total"] - before
        self.assertEqual(int(total["Request Count"]), served)
        self.assertGreater(served, 10)
        self.assertEqual(w.stderr().count("registered with the master"), 2)


class _HeaderRecorder(http.server.BaseHTTPRequestHandler):
    """Answers 200 to every GET and keeps each request's header list."""
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def do_GET(self):
        self.server.seen.setdefault(self.path, self.headers.items())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class HeadersTest(RunCase):
    def test_user_agent_and_scenario_headers_reach_the_server(self):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                 _HeaderRecorder)
        server.daemon_threads = True
        server.seen = {}
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        scn = write_scenario(self.dir, {
            "headers": {"X-Suite": "apex"},
            "users": [{"name": "U", "wait": {"constant": 0.02}, "tasks": [
                {"request": {"path": "/default"}},
                {"request": {"path": "/templated",
                             "headers": {"X-Id": "${uuid()}"}}},
                {"request": {"path": "/custom",
                             "headers": {"User-Agent": "custom/1"}}},
                {"request": {"path": "/none",
                             "headers": {"user-agent": ""}}},
            ]}]})
        m, _ = self.master(scn, "-u", 2, "-r", 2, "-t", "2s", "--host",
                           "http://127.0.0.1:%d" % server.server_port,
                           "--processes", 1)
        self.assertEqual(m.wait(40), 0, m.stderr())
        seen = server.seen
        self.assertEqual(sorted(seen), ["/custom", "/default", "/none",
                                        "/templated"], seen)
        version = self.start([binary("apex-worker"), "--version"],
                             "version")
        self.assertEqual(version.wait(10), 0)
        ours = "apex-worker/" + version.stdout().split()[1]

        def values(path, name):
            return [v for k, v in seen[path] if k.lower() == name.lower()]
        self.assertEqual(values("/default", "User-Agent"), [ours])
        self.assertEqual(values("/templated", "User-Agent"), [ours])
        self.assertRegex(values("/templated", "X-Id")[0],
                         r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-")
        self.assertEqual(values("/custom", "User-Agent"), ["custom/1"])
        self.assertEqual(values("/none", "User-Agent"), [])
        for path in seen:
            self.assertEqual(values(path, "X-Suite"), ["apex"], path)

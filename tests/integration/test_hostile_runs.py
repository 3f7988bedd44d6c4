"""Findings of the hostile review (issue 19) about runs and workers, each
reproduced against real processes on 127.0.0.1: absurd user counts,
requests cut off at the end of a run, outputs that cannot be written, and
responses larger than a worker keeps."""
import http.server
import json
import os
import subprocess
import threading
import time

import msgpack
import zmq

from apexlib import (SIMPLE, binary, free_port, read_csv, wait_for,
                     write_scenario)
from test_run import RunCase

WORKER_NOFILE = 4160  # the worker's open-file limit: takes 4,096 users


def vm_hwm_kib(pid):
    """The peak resident memory of a process (VmHWM), in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % pid)


class FakeMaster:
    """A ZeroMQ ROUTER speaking Locust's protocol to one real worker."""

    def __init__(self, case):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = free_port()
        self.sock.bind("tcp://127.0.0.1:%d" % self.port)
        case.addCleanup(self.ctx.term)
        case.addCleanup(self.sock.close)
        self.ident = None
        self.node = None
        self.seen = []

    def recv(self, timeout=100):
        if not self.sock.poll(timeout):
            return None
        ident, payload = self.sock.recv_multipart()
        self.ident = ident
        msg = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        self.node = msg[2]
        self.seen.append(msg)
        return msg

    def send(self, kind, data):
        self.sock.send_multipart([self.ident,
                                  msgpack.packb([kind, data, self.node])])

    def wait(self, kind, timeout):
        def got():
            msg = self.recv()
            return msg if msg and msg[0] == kind else None
        return wait_for(got, timeout, what=kind)

    def spawn(self, classes, scenario, host="http://127.0.0.1:1"):
        self.send("spawn", {
            "timestamp": time.time(), "user_classes_count": classes,
            "host": host, "stop_timeout": None,
            "parsed_options": {"host": host, "num_users": 1,
                               "spawn_rate": 1, "tags": None,
                               "exclude_tags": None,
                               "apex_scenario": json.dumps(scenario)}})


class UserCountTest(RunCase):
    def test_the_master_refuses_absurd_user_counts(self):
        # Finding 7: -u 10000000 was accepted, and workers tried to make
        # them all at once.
        scn = os.path.join(self.dir, "s.json")
        with open(scn, "w") as f:
            json.dump({"users": [{"name": "U", "tasks": [
                {"request": {"path": "/"}}]}]}, f)
        m, _ = self.master(scn, "-u", 10000000)
        self.assertEqual(m.wait(10), 2)
        self.assertIn("--users: expected an integer from 0 to 1000000, got "
                      "'10000000'", m.stderr())

    def test_a_worker_caps_users_and_keeps_its_heartbeat(self):
        # Finding 7: a master asking for INT32_MAX users made a worker
        # allocate them in one loop (1.8 GB for 10 million), with no
        # heartbeat, until it was marked missing. Now it makes what its
        # open-file limit and memory allow, in slices, says so, and keeps
        # its heartbeat.
        fake = FakeMaster(self)
        w = self.start(["sh", "-c", 'ulimit -n %d && exec "$0" "$@"'
                        % WORKER_NOFILE, binary("apex-worker"),
                        "--master-port", fake.port], "worker")
        fake.wait("client_ready", 20)
        fake.send("ack", {"index": 0})
        idle = {"users": [{"name": "U", "wait": {"constant": 600},
                           "tasks": [{"sequence": [{"sleep": 600}]}]}]}
        fake.spawn({"U": 2 ** 31 - 1}, idle)
        done = fake.wait("spawning_complete", 60)
        users = done[1]["user_count"]
        cap = WORKER_NOFILE - 64
        self.assertEqual(users, cap)
        exceptions = [m for m in fake.seen if m[0] == "exception"]
        self.assertEqual(len(exceptions), 1, exceptions)
        self.assertIn("asked for 2147483647 users, but this worker runs at "
                      "most %d (open-file limit %d): running %d"
                      % (cap, cap + 64, cap), exceptions[0][1]["msg"])
        # Heartbeats go on while the users exist.
        beats = len([m for m in fake.seen if m[0] == "heartbeat"])
        wait_for(lambda: fake.recv() and len(
            [m for m in fake.seen if m[0] == "heartbeat"]) >= beats + 3,
            20, what="three more heartbeats")
        self.assertLess(vm_hwm_kib(w.pid), 1 << 20)  # 1 GiB
        fake.send("quit", None)
        self.assertEqual(w.wait(20), 0, w.stderr())


class CutOffTest(RunCase):
    def test_requests_cut_off_at_the_end_are_counted_and_fail_the_run(self):
        # Finding 11: a target that hangs with -t shorter than the request
        # timeout gave 0 requests, 0 failures and exit 0: CI saw a pass.
        base = self.target()
        scn = write_scenario(self.dir, {"users": [{
            "name": "U", "wait": {"constant": 0},
            "tasks": [{"request": {"path": "/health",
                                   "query": {"delay_ms": 60000}}}]}]})
        report = os.path.join(self.dir, "r.json")
        # Every user has begun (within a second) when -t ends the run.
        m, port = self.master(scn, "-u", 3, "-r", 3, "-t", "3s", "--host",
                              base, "--json-file", report,
                              "--expect-workers", 1)
        w = self.worker(port, "worker")
        self.assertEqual(m.wait(30), 1, m.stderr())
        self.assertEqual(w.wait(20), 0, w.stderr())
        self.assertIn("3 requests were cut off: still waiting for an answer "
                      "when the run ended", m.stderr())
        with open(report) as f:
            doc = json.load(f)
        self.assertEqual(doc["run"]["verdict"], "no requests completed")
        self.assertEqual(doc["figures"]["counters"]["requests_cut_off"], 3)


class OutputsTest(RunCase):
    def test_outputs_on_a_full_disk_make_the_exit_code_non_zero(self):
        # Finding 12: --csv on a full disk logged write errors but exited
        # 0 (with a stale stats CSV). The master runs in a mount namespace
        # of its own where the CSVs' folder is a full 16 KiB tmpfs.
        if subprocess.call(["unshare", "-rm", "true"]) != 0:
            self.skipTest("no user and mount namespaces here")
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        full = os.path.join(self.dir, "full")
        os.mkdir(full)
        report = os.path.join(self.dir, "r.json")
        port = free_port()
        m = self.start([
            "unshare", "-rm", "sh", "-c",
            'mount -t tmpfs -o size=16k tmpfs "$1" && '
            'dd if=/dev/zero of="$1/fill" bs=4k count=8 2>/dev/null; '
            'shift; exec "$@"', "sh", full, binary("apex-master"), "-f", scn,
            "--headless", "--only-summary", "--master-bind-port", port,
            "-u", 2, "-r", 2, "-t", "2s", "--host", base, "--expect-workers",
            1, "--csv", os.path.join(full, "run"), "--json-file", report],
            "master")
        w = self.worker(port, "worker")
        self.assertEqual(m.wait(30), 4, m.stderr())
        self.assertEqual(w.wait(20), 0, w.stderr())
        err = m.stderr()
        self.assertIn("run_stats.csv: write failed: No space left on device",
                      err)
        self.assertIn("run_stats_history.csv: write failed", err)
        self.assertIn("exit code 4: an output could not be written", err)
        with open(report) as f:
            run = json.load(f)["run"]
        self.assertEqual((run["exit_code"], run["verdict"]),
                         (4, "outputs not written"))
        self.assertEqual(os.listdir(full), [])  # the tmpfs was the master's

    def test_an_unwritable_report_makes_the_exit_code_non_zero(self):
        # The same for --json-file and --html: a path in a folder that is
        # a file.
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        blocker = os.path.join(self.dir, "file")
        open(blocker, "w").close()
        m, port = self.master(scn, "-u", 2, "-r", 2, "-t", "2s", "--host",
                              base, "--expect-workers", 1, "--json-file",
                              os.path.join(blocker, "r.json"), "--html",
                              os.path.join(blocker, "r.html"))
        w = self.worker(port, "worker")
        self.assertEqual(m.wait(30), 4, m.stderr())
        self.assertEqual(w.wait(20), 0, w.stderr())
        self.assertIn("r.json: cannot write: Not a directory", m.stderr())
        self.assertIn("r.html: cannot write: Not a directory", m.stderr())


class _HugeResponses(http.server.BaseHTTPRequestHandler):
    """/header: a 10 MB header line; /body: a 17 MiB JSON body."""
    protocol_version = "HTTP/1.1"
    BODY = b'{"token": "' + b"x" * (17 << 20) + b'"}'

    def do_GET(self):
        self.send_response(200)
        if self.path == "/header":
            self.send_header("X-Big", "a" * (10 << 20))
            body = b"{}"
        else:
            body = self.BODY
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the worker hangs up on the 10 MB header: expected


class HugeResponseTest(RunCase):
    def test_limits_are_named_in_the_failures(self):
        # Finding 16: a 10 MB response header was reported as
        # CurlError(27, 'Out of memory'), and a body over 16 MiB was cut
        # and then "response body is not JSON".
        server = _QuietServer(("127.0.0.1", 0), _HugeResponses)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        # One user of each class: each asks at once, then every 0.3 s.
        scn = write_scenario(self.dir, {"users": [
            {"name": "H", "wait": {"constant": 0.3}, "tasks": [
                {"request": {"path": "/header"}}]},
            {"name": "B", "wait": {"constant": 0.3}, "tasks": [
                {"request": {"path": "/body",
                             "capture": {"token": "$.token"}}}]}]})
        prefix = os.path.join(self.dir, "run")
        m, port = self.master(scn, "-u", 2, "-r", 2, "-t", "3s", "--host",
                              "http://127.0.0.1:%d" % server.server_port,
                              "--expect-workers", 1, "--csv", prefix)
        w = self.worker(port, "worker")
        self.assertEqual(m.wait(30), 1, m.stderr())
        self.assertEqual(w.wait(20), 0, w.stderr())
        errors = {r["Name"]: r["Error"]
                  for r in read_csv(prefix + "_failures.csv")}
        self.assertEqual(errors, {
            "/header": "CurlError(27, 'response headers too large: over 100 "
                       "KiB a line or 300 KiB in all')",
            "/body": "CaptureError('response body over 16 MiB, the most a "
                     "step keeps')"})

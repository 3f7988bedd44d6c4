"""Helpers shared by the integration, interop and distributed tests.

They start our real programs (and peers) as processes on 127.0.0.1, with
logs in a per-test output folder, poll with deadlines (never fixed
sleeps), and make sure nothing is left running. ProcCase is the base
class of every suite's test cases; SIMPLE is the scenario whose request
counts the suites compare with what apex-target served.
"""
import csv
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("APEX_BUILD", "build"))
RESULTS = os.path.join(ROOT, "results", "tests")

# A scenario with fixed names and short waits, so counts are meaningful.
SIMPLE = {
    "users": [{
        "name": "WebUser",
        "wait": {"constant": 0.05},
        "tasks": [
            {"weight": 3, "request": {"path": "/health"}},
            {"weight": 1, "request": {"path": "/api/v1/tasks",
                                      "query": {"limit": 5}}},
        ],
    }],
}

# SIMPLE's stats entries (Type, Name) -> apex-target's route names.
ROUTES = {("GET", "/health"): "GET /health",
          ("GET", "/api/v1/tasks"): "GET /api/v1/tasks"}


def binary(name):
    """Path of one of our programs in the build folder."""
    return os.path.join(BUILD, name)


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def out_dir(name):
    """A fresh output folder for one test under results/tests/."""
    os.makedirs(RESULTS, exist_ok=True)
    return tempfile.mkdtemp(prefix=name.replace("/", "_") + "-", dir=RESULTS)


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Poll predicate() until it returns a true value or timeout expires.

    Returns the value; raises AssertionError naming `what` on timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


class Proc:
    """A child process whose stdout and stderr go to files in a folder."""

    def __init__(self, args, folder, name, env=None, stdin=None, cwd=None):
        self.name = name
        self.args = [str(a) for a in args]
        self.out_path = os.path.join(folder, name + ".out")
        self.err_path = os.path.join(folder, name + ".err")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        full_env = dict(os.environ)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)  # None removes a variable
            else:
                full_env[key] = value
        self.popen = subprocess.Popen(self.args, stdout=self._out,
                                      stderr=self._err, env=full_env,
                                      stdin=stdin or subprocess.DEVNULL,
                                      start_new_session=True, cwd=cwd)

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def wait(self, timeout):
        """Wait for exit and return the exit code; AssertionError on timeout."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not exit within %.1fs; stderr:\n%s"
                                 % (self.name, timeout, self.stderr()[-3000:]))

    def signal(self, sig):
        if self.running():
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL the whole process group after timeout."""
        if self.running():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.running():
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=10)
        self._out.close()
        self._err.close()
        return self.popen.returncode

    def stdout(self):
        if not self._out.closed:
            self._out.flush()
        with open(self.out_path, "r", errors="replace") as f:
            return f.read()

    def stderr(self):
        if not self._err.closed:
            self._err.flush()
        with open(self.err_path, "r", errors="replace") as f:
            return f.read()

    def output(self):
        return self.stdout() + self.stderr()


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "WARNING: ThreadSanitizer")


def sanitizer_report(proc):
    """The first sanitizer report line in a process's stderr, or None."""
    for line in proc.stderr().splitlines():
        if any(mark in line for mark in SANITIZER_MARKS):
            return line
    return None


def http(method, url, body=None, headers=None, timeout=10):
    """One HTTP request: returns (status, headers dict, body bytes)."""
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        headers = dict(headers or {}, **{"Content-Type": "application/json"})
    elif isinstance(body, str):
        data = body.encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def http_json(method, url, body=None, headers=None, timeout=10):
    """One HTTP request whose response is JSON: returns (status, value)."""
    status, _, data = http(method, url, body, headers, timeout)
    return status, json.loads(data.decode()) if data else None


def read_csv(path):
    """Rows of a CSV file as a list of dicts (header row as keys)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_scenario(folder, doc, name="scenario.json"):
    """Write a scenario (a dict) as JSON into folder; returns its path."""
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def start_target(folder, *extra, name="target"):
    """Start apex-target on a free port; returns (Proc, base URL)."""
    port = free_port()
    proc = Proc([binary("apex-target"), "--port", port, *extra], folder,
                name)

    def up():
        if not proc.running():
            raise AssertionError("apex-target exited: " + proc.stderr())
        try:
            # Any answer will do: with --error-rate 1 it is a 500.
            return http("GET", "http://127.0.0.1:%d/health" % port,
                        timeout=1)[0] in (200, 500)
        except OSError:
            return False
    wait_for(up, 10, what="apex-target to answer /health")
    # Forget the probes above, so counts start at zero.
    status = http("POST", "http://127.0.0.1:%d/stats/reset" % port)[0]
    assert status == 200, status
    return proc, "http://127.0.0.1:%d" % port


def target_stats(base):
    """apex-target's request counts: the JSON of GET /stats."""
    status, value = http_json("GET", base + "/stats")
    assert status == 200, status
    return value


class ProcCase(unittest.TestCase):
    """Runs each test in its own output folder (self.dir) and, after it,
    stops the processes it started (self.procs, newest first) and fails
    if one is left running or printed a sanitizer report."""

    DIR_PREFIX = ""    # prefix of the output folder's name
    STOP_TIMEOUT = 10  # seconds Proc.stop() waits before SIGKILL

    def setUp(self):
        self.dir = out_dir(self.DIR_PREFIX + self.id().split(".")[-1])
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop(timeout=self.STOP_TIMEOUT)
        for p in self.procs:
            self.assertFalse(p.running(), p.name + " left running")
            self.assertIsNone(sanitizer_report(p), p.name)

    def start(self, args, name, env=None, cwd=None):
        """Start a process whose output goes to self.dir/name.*."""
        p = Proc(args, self.dir, name, env=env, cwd=cwd)
        self.procs.append(p)
        return p

    def target(self, *extra):
        """Start apex-target on 127.0.0.1; returns its base URL."""
        proc, base = start_target(self.dir, *extra)
        self.procs.append(proc)
        return base

    def assert_routes_served(self, served, prefix, exact=True,
                             unserved=None):
        """The Aggregated row of PREFIX_stats.csv sums the others, and
        each of them (one of ROUTES) counts what apex-target served
        (`served`: the "requests" of its GET /stats), or at most that when
        not exact; `unserved` (route key -> count) are requests that
        failed before reaching the target. Returns the Aggregated row and
        all rows."""
        rows = read_csv(prefix + "_stats.csv")
        total = [r for r in rows if r["Name"] == "Aggregated"][0]
        entries = [r for r in rows if r["Name"] != "Aggregated"]
        self.assertEqual(int(total["Request Count"]),
                         sum(int(r["Request Count"]) for r in entries))
        for r in entries:
            key = ROUTES.get((r["Type"], r["Name"]))
            self.assertIsNotNone(key, r)
            ours, theirs = int(r["Request Count"]), served[key]
            ours -= (unserved or {}).get(key, 0)
            if exact:
                self.assertEqual(ours, theirs, key)
            else:
                self.assertLessEqual(ours, theirs, key)
        return total, rows

"""Integration tests for apex-target, the demo Project Apex API.

Each test starts the real binary (from $APEX_BUILD, default build/) on
127.0.0.1 and checks routes, status codes, JSON shapes, /stats counts,
error and latency injection, body limits and the command line. Counts and
bytes are asserted exactly; time only as "took at least the delay".
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest
import urllib.parse

import apexlib

ROUTE_KEYS = [
    "GET /health",
    "GET /api/v1/tasks",
    "POST /api/v1/tasks",
    "GET /api/v1/tasks/{id}",
    "GET /api/v1/agents",
    "GET /api/v1/dags",
    "POST /api/v1/dags/{id}/execute",
    "POST /api/v1/login",
    "GET /api/v1/executions/{id}",
    "other",
]
USUAL_STATUSES = ["200", "201", "202", "400", "404", "405", "413", "500"]
MAX_BODY = 1024 * 1024
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
LISTENING = re.compile(r"^apex-target: listening on http://127\.0\.0\.1:(\d+)$")


def stop_cleanly(proc):
    """Stop with SIGTERM; it must exit 0 with no sanitizer report."""
    code = proc.stop()
    with open(proc.err_path, errors="replace") as f:  # stop() closed ours
        err = f.read()
    assert code == 0, "%s exited %s:\n%s" % (proc.name, code, err[-3000:])
    for sign in ("Sanitizer", "runtime error:"):
        assert sign not in err, err[-3000:]


class TargetCase(unittest.TestCase):
    """Starts apex-target processes that are stopped after each test."""

    def start(self, *args):
        folder = apexlib.out_dir("target-" + self._testMethodName)
        proc, base = apexlib.start_target(folder, *args)
        self.addCleanup(stop_cleanly, proc)
        self.proc = proc
        return base

    def start_by_hand(self, *args):
        """Start on --port 0 without waiting for /health (for when it
        fails or is delayed); returns the base URL."""
        folder = apexlib.out_dir("target-" + self._testMethodName)
        proc = apexlib.Proc([apexlib.binary("apex-target"), "--port", "0",
                             *args], folder, "target")
        self.addCleanup(stop_cleanly, proc)
        self.proc = proc
        return "http://127.0.0.1:%d" % wait_for_port(proc)

    def get(self, base, path, **kw):
        return apexlib.http_json("GET", base + path, **kw)

    def post(self, base, path, body=None, **kw):
        return apexlib.http_json("POST", base + path, body, **kw)

    def assertError(self, status, value, want_status, *words):
        """An error response: status and {"error": text with words}."""
        self.assertEqual(status, want_status, value)
        self.assertEqual(list(value.keys()), ["error"], value)
        self.assertIsInstance(value["error"], str)
        for word in words:
            self.assertIn(word, value["error"])


class RoutesTest(TargetCase):

    def test_health(self):
        base = self.start()
        status, headers, body = apexlib.http("GET", base + "/health")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(json.loads(body), {"status": "ok"})

    def test_agents(self):
        base = self.start()
        status, value = self.get(base, "/api/v1/agents")
        self.assertEqual(status, 200)
        self.assertEqual(list(value.keys()), ["agents"])
        agents = value["agents"]
        self.assertEqual([a["id"] for a in agents],
                         ["agent-%d" % i for i in range(1, 6)])
        for agent in agents:
            self.assertIsInstance(agent["name"], str)
            self.assertTrue(agent["name"])
            self.assertIn(agent["status"], ("online", "busy"))

    def test_dags(self):
        base = self.start()
        status, value = self.get(base, "/api/v1/dags")
        self.assertEqual(status, 200)
        self.assertEqual(list(value.keys()), ["dags"])
        dags = value["dags"]
        self.assertEqual([d["id"] for d in dags],
                         ["dag-%d" % i for i in range(1, 6)])
        for dag in dags:
            self.assertEqual(sorted(dag.keys()), ["id", "name", "tasks"])
            self.assertIsInstance(dag["name"], str)
            self.assertIsInstance(dag["tasks"], int)
            self.assertGreater(dag["tasks"], 0)

    def test_create_and_get_tasks(self):
        base = self.start()
        status, task = self.post(base, "/api/v1/tasks", {
            "title": "Deploy \u00e9t\u00e9 \"v2\"", "description": "roll out",
            "priority": 3})
        self.assertEqual(status, 201, task)
        self.assertEqual(list(task.keys()),
                         ["id", "title", "description", "priority", "status",
                          "created_at"])
        self.assertEqual(task["id"], "task-1")
        self.assertEqual(task["title"], "Deploy \u00e9t\u00e9 \"v2\"")
        self.assertEqual(task["description"], "roll out")
        self.assertEqual(task["priority"], 3)
        self.assertEqual(task["status"], "pending")
        self.assertRegex(task["created_at"], STAMP)

        # Optional fields default; unknown members are ignored.
        status, second = self.post(base, "/api/v1/tasks",
                                   {"title": "only a title", "extra": [1]})
        self.assertEqual(status, 201, second)
        self.assertEqual(second["id"], "task-2")
        self.assertEqual(second["description"], "")
        self.assertEqual(second["priority"], 0)

        for created in (task, second):
            status, got = self.get(base, "/api/v1/tasks/" + created["id"])
            self.assertEqual(status, 200)
            self.assertEqual(got, created)

        status, listing = self.get(base, "/api/v1/tasks")
        self.assertEqual(status, 200)
        self.assertEqual(list(listing.keys()), ["tasks", "total"])
        self.assertEqual(listing["total"], 2)
        self.assertEqual(listing["tasks"], [second, task])  # newest first

    def test_task_list_limit(self):
        base = self.start()
        for i in range(105):
            status, _ = self.post(base, "/api/v1/tasks", {"title": "t%d" % i})
            self.assertEqual(status, 201)
        status, listing = self.get(base, "/api/v1/tasks")
        self.assertEqual(status, 200)
        self.assertEqual(listing["total"], 105)
        self.assertEqual([t["id"] for t in listing["tasks"]],
                         ["task-%d" % i for i in range(105, 85, -1)])
        status, listing = self.get(base, "/api/v1/tasks?limit=3")
        self.assertEqual([t["id"] for t in listing["tasks"]],
                         ["task-105", "task-104", "task-103"])
        status, listing = self.get(base, "/api/v1/tasks?limit=0")
        self.assertEqual((status, listing["tasks"]), (200, []))
        status, listing = self.get(base, "/api/v1/tasks?limit=1000")
        self.assertEqual(status, 200)
        self.assertEqual(len(listing["tasks"]), 100)
        self.assertEqual(listing["tasks"][-1]["id"], "task-6")
        for bad in ("abc", "-1", "", "2x"):
            status, value = self.get(base, "/api/v1/tasks?limit=" + bad)
            self.assertError(status, value, 400, "limit")

    def test_task_not_found(self):
        base = self.start()
        self.post(base, "/api/v1/tasks", {"title": "exists"})
        for task_id in ("task-2", "task-0", "task-01", "1", "nonsense",
                        "task-99999999999999999999999"):
            status, value = self.get(base, "/api/v1/tasks/" + task_id)
            self.assertEqual((status, value), (404, {"error": "task not found"}),
                             task_id)

    def test_bad_task_bodies(self):
        base = self.start()
        url = base + "/api/v1/tasks"
        cases = [
            (b"{not json", "invalid JSON"),
            (b"", "invalid JSON"),
            (b'{"title": "x"', "invalid JSON"),
            (b'{"title": "a\\u0000b"}', "invalid JSON"),  # NUL in a string
            (b'{"title": "\xff"}', "invalid"),  # not UTF-8
            (b"[1, 2]", "object"),
            (b'"just a string"', "invalid JSON"),
            (b"{}", "title"),
            (b'{"description": "no title"}', "title"),
            (b'{"title": 42}', "title"),
            (b'{"title": null}', "title"),
            (b'{"title": ["x"]}', "title"),
            (b'{"title": "x", "description": 5}', "description"),
            (b'{"title": "x", "priority": "high"}', "priority"),
            (b'{"title": "x", "priority": 1.5}', "priority"),
        ]
        for body, word in cases:
            status, _, data = apexlib.http(
                "POST", url, body, {"Content-Type": "application/json"})
            self.assertError(status, json.loads(data), 400, word)
        status, listing = self.get(base, "/api/v1/tasks")
        self.assertEqual(listing["total"], 0)  # nothing was created

    def test_dag_execute(self):
        base = self.start()
        status, value = self.post(base, "/api/v1/dags/dag-2/execute")
        self.assertEqual(status, 202, value)
        self.assertEqual(value, {"execution_id": "exec-1", "dag_id": "dag-2",
                                 "status": "running"})
        status, value = self.post(base, "/api/v1/dags/dag-5/execute",
                                  {"params": {"x": 1}})
        self.assertEqual(status, 202)
        self.assertEqual(value["execution_id"], "exec-2")
        self.assertEqual(value["dag_id"], "dag-5")
        for dag in ("dag-6", "dag-0", "dag-22", "x"):
            status, value = self.post(base,
                                      "/api/v1/dags/%s/execute" % dag)
            self.assertEqual((status, value), (404, {"error": "dag not found"}))

    def test_unknown_paths_and_wrong_methods(self):
        base = self.start()
        for path in ("/", "/nope", "/health/", "/api/v1", "/api/v1/tasks/",
                     "/api/v1/tasks/task-1/x", "/api/v1/dags/dag-1",
                     "/api/v1/dags/dag-1/run", "/api/v1/dags//execute",
                     "/api/v2/tasks", "/stats/x"):
            status, value = self.get(base, path)
            self.assertError(status, value, 404)
        cases = [
            ("DELETE", "/health", "GET"),
            ("POST", "/health", "GET"),
            ("PUT", "/api/v1/tasks", "GET, POST"),
            ("DELETE", "/api/v1/tasks/task-1", "GET"),
            ("POST", "/api/v1/agents", "GET"),
            ("PATCH", "/api/v1/dags", "GET"),
            ("GET", "/api/v1/dags/dag-1/execute", "POST"),
            ("POST", "/stats", "GET"),
            ("GET", "/stats/reset", "POST"),
        ]
        for method, path, allow in cases:
            status, headers, data = apexlib.http(method, base + path)
            self.assertError(status, json.loads(data), 405)
            self.assertEqual(headers["Allow"], allow, (method, path))
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["requests"]["other"], 11 + 7)  # not /stats*
        self.assertEqual(stats["status"]["404"], 11)
        self.assertEqual(stats["status"]["405"], 7)

    def test_keep_alive(self):
        base = self.start()
        conn = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc,
                                          timeout=10)
        self.addCleanup(conn.close)
        requests = [("GET", "/health", None, 200),
                    ("GET", "/nope", None, 404),
                    ("POST", "/api/v1/tasks", b'{"title":"k"}', 201),
                    ("POST", "/api/v1/tasks", b"{", 400),
                    ("DELETE", "/health", None, 405),
                    ("GET", "/api/v1/tasks/task-1", None, 200),
                    ("GET", "/health?delay_ms=10", None, 200),
                    ("GET", "/stats", None, 200)]
        sock = None
        for method, path, body, want in requests:
            conn.request(method, path, body)
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, want, path)
            self.assertNotEqual(resp.getheader("Connection"), "close", path)
            if sock is None:
                sock = conn.sock
            self.assertIs(conn.sock, sock, "connection was not kept alive")


class LoginTest(TargetCase):

    def test_login_sets_a_session_cookie_that_require_login_accepts(self):
        base = self.start("--require-login")
        status, value = self.get(base, "/api/v1/tasks")
        self.assertError(status, value, 401, "login required")
        self.assertEqual(self.get(base, "/health")[0], 200)  # not /api/*
        status, headers, body = apexlib.http(
            "POST", base + "/api/v1/login",
            {"username": "alice", "password": "pw"})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {"username": "alice"})
        cookie = headers["Set-Cookie"]
        self.assertRegex(cookie,
                         r"^apex_session=[0-9a-f]{32}; Path=/; HttpOnly$")
        session = cookie.split(";")[0]
        for path in ("/api/v1/tasks", "/api/v1/agents", "/api/v1/dags"):
            status, _ = self.get(base, path, headers={"Cookie": session})
            self.assertEqual(status, 200, path)
        forged = session[:-1] + ("0" if session[-1] != "0" else "1")
        status, value = self.get(base, "/api/v1/dags",
                                 headers={"Cookie": forged})
        self.assertError(status, value, 401, "login required")
        for bad in ({}, {"username": "a"}, {"username": "", "password": "x"},
                    {"username": 1, "password": "x"}):
            status, value = self.post(base, "/api/v1/login", bad)
            self.assertError(status, value, 400, "username")
        self.assertEqual(self.get(base, "/api/v1/login")[0], 405)
        self.post(base, "/api/v1/login", {"username": "bob", "password": "x"})
        self.post(base, "/api/v1/login", {"username": "bob", "password": "x"})
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["logins"], {"total": 3, "others": 0,
                                           "users": {"alice": 1, "bob": 2}})
        self.assertEqual(stats["requests"]["POST /api/v1/login"], 7)
        self.assertEqual(stats["status"]["401"], 2)

    def test_without_require_login_the_api_is_open(self):
        base = self.start()
        self.assertEqual(self.get(base, "/api/v1/tasks")[0], 200)


class StatsTest(TargetCase):

    def test_stats_shape_when_idle(self):
        base = self.start()
        stats = apexlib.target_stats(base)
        self.assertEqual(list(stats.keys()),
                         ["total", "requests", "status", "errors_injected",
                          "websocket", "logins"])
        self.assertEqual(list(stats["requests"].keys()), ROUTE_KEYS)
        self.assertEqual(list(stats["status"].keys()), USUAL_STATUSES)
        # start_target reset the counts after its probes of /health.
        self.assertEqual(stats["total"], 0)
        self.assertEqual(set(stats["requests"].values()), {0})
        self.assertEqual(set(stats["status"].values()), {0})
        self.assertEqual(stats["errors_injected"], 0)

    def test_stats_counts_exactly_and_resets(self):
        base = self.start()
        self.assertEqual(self.post(base, "/stats/reset"),
                         (200, {"status": "reset"}))
        expect = [
            ("GET", "/health", None, 200),
            ("GET", "/health", None, 200),
            ("GET", "/health", None, 200),
            ("POST", "/api/v1/tasks", {"title": "a"}, 201),
            ("POST", "/api/v1/tasks", {"title": "b"}, 201),
            ("POST", "/api/v1/tasks", {"title": 1}, 400),
            ("GET", "/api/v1/tasks", None, 200),
            ("GET", "/api/v1/tasks/task-1", None, 200),
            ("GET", "/api/v1/tasks/task-404", None, 404),
            ("GET", "/api/v1/agents", None, 200),
            ("GET", "/api/v1/agents", None, 200),
            ("GET", "/api/v1/dags", None, 200),
            ("POST", "/api/v1/dags/dag-1/execute", None, 202),
            ("POST", "/api/v1/dags/dag-x/execute", None, 404),
            ("GET", "/nope", None, 404),
            ("DELETE", "/health", None, 405),
            ("GET", "/stats", None, 200),  # not counted
            ("GET", "/stats/reset", None, 405),  # not counted
        ]
        for method, path, body, want in expect:
            status, _ = apexlib.http_json(method, base + path, body)
            self.assertEqual(status, want, (method, path))
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["requests"], {
            "GET /health": 3, "GET /api/v1/tasks": 1,
            "POST /api/v1/tasks": 3, "GET /api/v1/tasks/{id}": 2,
            "GET /api/v1/agents": 2, "GET /api/v1/dags": 1,
            "POST /api/v1/dags/{id}/execute": 2, "POST /api/v1/login": 0,
            "GET /api/v1/executions/{id}": 0, "other": 2})
        self.assertEqual(stats["total"], 16)
        self.assertEqual(stats["status"], {
            "200": 8, "201": 2, "202": 1, "400": 1, "404": 3, "405": 1,
            "413": 0, "500": 0})
        self.assertEqual(stats["errors_injected"], 0)

        self.assertEqual(self.post(base, "/stats/reset"),
                         (200, {"status": "reset"}))
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["total"], 0)
        self.assertEqual(set(stats["requests"].values()), {0})
        self.assertEqual(set(stats["status"].values()), {0})
        self.assertEqual(list(stats["requests"].keys()), ROUTE_KEYS)
        self.assertEqual(self.get(base, "/health")[0], 200)
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["total"], 1)
        self.assertEqual(stats["requests"]["GET /health"], 1)
        self.assertEqual(stats["status"]["200"], 1)

    def test_stats_count_concurrent_requests(self):
        base = self.start("--threads", "4")
        apexlib.http("POST", base + "/stats/reset")
        per_thread, threads = 50, 8
        failures = []

        def hammer():
            conn = http.client.HTTPConnection(
                urllib.parse.urlsplit(base).netloc, timeout=10)
            try:
                for _ in range(per_thread):
                    conn.request("GET", "/api/v1/agents")
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status != 200:
                        failures.append(resp.status)
            finally:
                conn.close()
        workers = [threading.Thread(target=hammer) for _ in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        self.assertEqual(failures, [])
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["requests"]["GET /api/v1/agents"],
                         per_thread * threads)
        self.assertEqual(stats["total"], per_thread * threads)


class BodyLimitTest(TargetCase):

    def test_oversized_body_is_413_and_server_keeps_working(self):
        base = self.start()
        url = base + "/api/v1/tasks"
        big = b"x" * (2 * MAX_BODY)
        status, headers, data = apexlib.http("POST", url, big, timeout=30)
        self.assertEqual(status, 413)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertIn("error", json.loads(data))
        # Just over and exactly at the limit, with a valid JSON body.
        for size, want in ((MAX_BODY + 1, 413), (MAX_BODY, 201)):
            head = b'{"title": "'
            tail = b'"}'
            body = head + b"t" * (size - len(head) - len(tail)) + tail
            self.assertEqual(len(body), size)
            status, _, data = apexlib.http("POST", url, body, timeout=30)
            self.assertEqual(status, want, size)
        # Other routes have the same limit.
        status, _, _ = apexlib.http("POST", base + "/api/v1/dags/dag-1/execute",
                                    big, timeout=30)
        self.assertEqual(status, 413)
        self.assertEqual(self.get(base, "/health")[0], 200)
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["status"]["413"], 3)
        self.assertEqual(stats["status"]["201"], 1)
        self.assertEqual(stats["requests"]["POST /api/v1/tasks"], 3)
        self.assertEqual(self.get(base, "/api/v1/tasks")[1]["total"], 1)

    def test_expect_continue_gets_413_before_the_body(self):
        base = self.start()
        host, port = urllib.parse.urlsplit(base).netloc.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: %d\r\n"
                      b"Expect: 100-continue\r\n\r\n" % (8 * MAX_BODY))
            reply = b""
            while b"\r\n\r\n" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        self.assertTrue(reply.startswith(b"HTTP/1.1 413 "), reply)
        self.assertEqual(self.get(base, "/health")[0], 200)

    def test_chunked_body(self):
        base = self.start()
        host, port = urllib.parse.urlsplit(base).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.addCleanup(conn.close)
        parts = [b'{"title": ', b'"chunked"}']
        conn.request("POST", "/api/v1/tasks", body=iter(parts),
                     encode_chunked=True,
                     headers={"Transfer-Encoding": "chunked"})
        resp = conn.getresponse()
        task = json.loads(resp.read())
        self.assertEqual(resp.status, 201)
        self.assertEqual(task["title"], "chunked")
        big = (b"y" * 65536 for _ in range(2 * MAX_BODY // 65536))
        conn.request("POST", "/api/v1/tasks", body=big, encode_chunked=True,
                     headers={"Transfer-Encoding": "chunked"})
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(resp.status, 413)

    def test_hostile_input_does_not_hurt(self):
        base = self.start()
        host, port = urllib.parse.urlsplit(base).netloc.split(":")
        junk = [
            b"\x00\x01\x02garbage\r\n\r\n",
            b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 100\r\n\r\n{\"title\"",  # then hang up
            b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"GET /health?delay_ms=100 HTTP/1.1\r\nHost: x\r\n\r\n",  # hang up
            b"GET /api/v1/tasks/%00%ff HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /health HTTP/9.9\r\n\r\n",
        ]
        for data in junk:
            with socket.create_connection((host, int(port)), timeout=10) as s:
                try:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(65536):
                        pass
                except OSError:
                    pass  # the server may reset a connection it refuses
        title = "\ud7ff\U0001F600 \u00e9 <ok> \\ \"q\""
        status, value = self.post(base, "/api/v1/tasks", {"title": title})
        self.assertEqual(status, 201)
        self.assertEqual(value["title"], title)
        self.assertEqual(self.get(base, "/api/v1/tasks/task-1")[1], value)
        self.assertEqual(self.get(base, "/health"), (200, {"status": "ok"}))
        self.assertTrue(self.proc.running())


class InjectionTest(TargetCase):

    def test_error_rate_half(self):
        base = self.start("--error-rate", "0.5")
        apexlib.http("POST", base + "/stats/reset")
        n = 400
        conn = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc,
                                          timeout=10)
        self.addCleanup(conn.close)
        codes = {200: 0, 500: 0}
        for _ in range(n):
            conn.request("GET", "/health")
            resp = conn.getresponse()
            body = json.loads(resp.read())
            codes[resp.status] += 1
            if resp.status == 500:
                self.assertEqual(body, {"error": "injected failure"})
            else:
                self.assertEqual(body, {"status": "ok"})
        # Binomial(400, 0.5): sd 10, so 140..260 is a 6-sigma band.
        self.assertGreater(codes[500], 140, codes)
        self.assertLess(codes[500], 260, codes)
        stats = apexlib.target_stats(base)  # /stats is never injected
        self.assertEqual(stats["errors_injected"], codes[500])
        self.assertEqual(stats["status"]["500"], codes[500])
        self.assertEqual(stats["status"]["200"], codes[200])
        self.assertEqual(stats["requests"]["GET /health"], n)

    def test_error_rate_one(self):
        # start_target waits for a 200 from /health, which never comes.
        base = self.start_by_hand("--error-rate", "1")
        for method, path, body in [
                ("GET", "/health", None),
                ("GET", "/api/v1/tasks", None),
                ("POST", "/api/v1/tasks", {"title": "never stored"}),
                ("GET", "/api/v1/agents", None),
                ("GET", "/api/v1/dags", None),
                ("POST", "/api/v1/dags/dag-1/execute", None),
                ("GET", "/api/v1/nope", None)]:
            status, value = apexlib.http_json(method, base + path, body)
            self.assertEqual((status, value),
                             (500, {"error": "injected failure"}), path)
        status, value = self.get(base, "/nope")  # not /health or /api/*
        self.assertEqual(status, 404)
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["errors_injected"], 7)
        self.assertEqual(stats["status"]["500"], 7)
        self.assertEqual(stats["total"], 8)
        self.assertEqual(stats["requests"]["POST /api/v1/tasks"], 1)


def wait_for_port(proc):
    """The port from apex-target's "listening on" line."""
    def port():
        if not proc.running():
            raise AssertionError("apex-target exited: " + proc.stderr())
        m = LISTENING.match(proc.stdout().strip())
        return int(m.group(1)) if m else None
    return apexlib.wait_for(port, 10, what="the listening line")


class DelayTest(TargetCase):

    def test_query_delay_does_not_block_other_requests(self):
        # One pool thread: a delay that held it would stall /health.
        base = self.start("--threads", "1")
        result = {}

        def delayed(delay_ms):
            t0 = time.monotonic()
            result[delay_ms] = (self.get(base, "/health?delay_ms=%d" % delay_ms,
                                         timeout=60),
                                time.monotonic() - t0)
        slow = threading.Thread(target=delayed, args=(3000,))
        slow.start()
        for _ in range(5):
            self.assertEqual(self.get(base, "/health")[0], 200)
        self.assertTrue(slow.is_alive(), "/health waited for a delayed one")
        slow.join(60)
        self.assertEqual(result[3000][0], (200, {"status": "ok"}))
        self.assertGreaterEqual(result[3000][1], 3.0)

        delayed(300)
        self.assertEqual(result[300][0][0], 200)
        self.assertGreaterEqual(result[300][1], 0.3)

    def test_many_concurrent_delayed_requests(self):
        base = self.start("--threads", "1")
        apexlib.http("POST", base + "/stats/reset")
        n, results = 20, []

        def one(i):
            t0 = time.monotonic()
            status, value = self.post(base, "/api/v1/tasks?delay_ms=300",
                                      {"title": "slow %d" % i}, timeout=60)
            results.append((status, time.monotonic() - t0))
        workers = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        self.assertEqual(len(results), n)
        for status, elapsed in results:
            self.assertEqual(status, 201)
            self.assertGreaterEqual(elapsed, 0.3)
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["status"]["201"], n)
        self.assertEqual(self.get(base, "/api/v1/tasks")[1]["total"], n)

    def test_delay_option_and_bad_delay_query(self):
        base = self.start("--delay-ms", "200")
        t0 = time.monotonic()
        self.assertEqual(self.get(base, "/api/v1/dags")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.2)
        t0 = time.monotonic()
        self.assertEqual(self.get(base, "/health?delay_ms=100")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)  # both add up
        for bad in ("abc", "-1", "", "1.5"):
            status, value = self.get(base, "/health?delay_ms=" + bad)
            self.assertError(status, value, 400, "delay_ms")
        self.assertEqual(apexlib.target_stats(base)["status"]["400"], 4)

    def test_stats_is_never_delayed(self):
        # start_target would wait for /health, which takes 30 s here.
        base = self.start_by_hand("--delay-ms", "30000")
        # A 30 s delay would overrun the 10 s timeout: /stats has none.
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["total"], 0)
        status, value = apexlib.http_json("POST", base + "/stats/reset",
                                          timeout=10)
        self.assertEqual(status, 200)


class CommandLineTest(unittest.TestCase):

    def run_target(self, *args):
        return subprocess.run([apexlib.binary("apex-target"), *args],
                              capture_output=True, text=True, timeout=30)

    def test_bad_values_exit_2_naming_the_option(self):
        cases = [
            (["--port", "abc"], "--port", "abc"),
            (["--port", "65536"], "--port", "65536"),
            (["--port", "-1"], "--port", "-1"),
            (["--port"], "--port", ""),
            (["--threads", "0"], "--threads", "0"),
            (["--threads", "many"], "--threads", "many"),
            (["--delay-ms", "-5"], "--delay-ms", "-5"),
            (["--delay-ms", "10s"], "--delay-ms", "10s"),
            (["--error-rate", "1.5"], "--error-rate", "1.5"),
            (["--error-rate", "half"], "--error-rate", "half"),
            (["--error-rate", "-0.1"], "--error-rate", "-0.1"),
            (["--loglevel", "loud"], "--loglevel", "loud"),
            (["--bind", "not-an-address"], "--bind", "not-an-address"),
            (["--bogus"], "--bogus", ""),
            (["stray"], "stray", ""),
        ]
        for args, option, value in cases:
            done = self.run_target(*args)
            self.assertEqual(done.returncode, 2, (args, done.stderr))
            self.assertIn(option, done.stderr, args)
            self.assertIn(value, done.stderr, args)
            self.assertEqual(done.stdout, "", args)

    def test_help_and_version(self):
        done = self.run_target("--help")
        self.assertEqual(done.returncode, 0)
        for option in ("--port", "--bind", "--threads", "--delay-ms",
                       "--error-rate", "--loglevel"):
            self.assertIn(option, done.stdout)
        done = self.run_target("--version")
        self.assertEqual(done.returncode, 0)
        self.assertRegex(done.stdout,
                         r"^apex-target \d+\.\d+\.\d+ \(git [\w.+-]+\)\n$")

    def test_port_zero_prints_the_chosen_port(self):
        folder = apexlib.out_dir("target-port-zero")
        proc = apexlib.Proc([apexlib.binary("apex-target"), "--port", "0"],
                            folder, "target")
        try:
            port = wait_for_port(proc)
            self.assertGreater(port, 0)
            self.assertEqual(apexlib.http_json(
                "GET", "http://127.0.0.1:%d/health" % port),
                (200, {"status": "ok"}))
            self.assertEqual(len(proc.stdout().splitlines()), 1)
        finally:
            stop_cleanly(proc)

    def test_port_in_use_fails(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            done = self.run_target("--port", str(port))
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn(str(port), done.stderr)

    def test_signals_exit_cleanly_even_with_delayed_requests(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            folder = apexlib.out_dir("target-signal")
            proc, base = apexlib.start_target(folder)
            try:
                answers = []

                def slow():
                    try:
                        answers.append(apexlib.http(
                            "GET", base + "/health?delay_ms=30000",
                            timeout=60)[0])
                    except OSError as e:
                        answers.append(e)
                waiting = [threading.Thread(target=slow) for _ in range(5)]
                for w in waiting:
                    w.start()
                # Each is parked once its connection is open; give them
                # a moment by making sure the server answers others.
                self.assertEqual(apexlib.http("GET", base + "/health")[0],
                                 200)
                proc.signal(sig)
                self.assertEqual(proc.wait(20), 0, proc.stderr())
                for w in waiting:
                    w.join(60)
                self.assertEqual(len(answers), 5)
            finally:
                stop_cleanly(proc)


if __name__ == "__main__":
    unittest.main()

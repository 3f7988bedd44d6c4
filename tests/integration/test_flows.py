"""User flows against servers that record what they received: cookie jars
per user (set, sent back, expired, path-scoped, isolated, redirects),
per-user and sequential data rows across two workers, typed JSON bodies,
sleeps, checks, JSON-path filters, load-time variable errors, and the
login-then-authenticated flow against apex-target --require-login.
"""
import http.server
import json
import os
import threading
import time

import apexlib
from apexlib import read_csv, write_scenario
from test_run import RunCase

ROOT = apexlib.ROOT


class Recorder(http.server.ThreadingHTTPServer):
    """A server that keeps every request: (time, method, path, headers,
    body). Routes:
      POST /login       sets sid=<n> (n counts logins), scoped=<n> for
                        /app, short=<n> for one second; answers {"uid": n}
      GET  /redir       302 to /landing, setting hop=1
      GET  /echo        answers the JSON body it got back ({} without)
      GET  /tasks       {"tasks": [...], "status": "done"}
      anything else     200 {"ok": true}
    """
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RecorderHandler)
        self.lock = threading.Lock()
        self.requests = []
        self.logins = 0

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def seen(self):
        with self.lock:
            return list(self.requests)


TASKS = {"status": "done", "count": 3,
         "tasks": [{"id": "t1", "priority": 1, "tags": ["a"]},
                   {"id": "t2", "priority": 3, "tags": []},
                   {"id": "t3", "priority": 2, "owner": {"id": "o9"}}]}


class RecorderHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, value, headers=()):
        data = json.dumps(value).encode()
        self.send_response(status)
        for name, v in headers:
            self.send_header(name, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size) if size else b""
        srv = self.server
        srv.record((time.monotonic(), self.command, self.path,
                    dict(self.headers), body))
        path = self.path.split("?")[0]
        if path == "/login":
            with srv.lock:
                srv.logins += 1
                n = srv.logins
            self.reply(200, {"uid": str(n)}, [
                ("Set-Cookie", "sid=%d; Path=/; HttpOnly" % n),
                ("Set-Cookie", "scoped=%d; Path=/app" % n),
                ("Set-Cookie", "short=%d; Max-Age=1" % n)])
        elif path == "/redir":
            self.send_response(302)
            self.send_header("Location", "/landing")
            self.send_header("Set-Cookie", "hop=1; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/echo":
            self.reply(200, json.loads(body) if body else {})
        elif path == "/tasks":
            self.reply(200, TASKS)
        else:
            self.reply(200, {"ok": True})

    do_GET = do_POST = do_PUT = handle_any


def cookies_of(headers):
    """The Cookie header as a dict (empty without one)."""
    out = {}
    for part in headers.get("Cookie", "").split(";"):
        if "=" in part:
            k, v = part.strip().split("=", 1)
            out[k] = v
    return out


class FlowCase(RunCase):
    def recorder(self):
        srv = Recorder()
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv

    def run_master(self, doc, users, seconds, *extra, processes=1,
                   code=0, name="run"):
        """A headless run; returns (stats rows by name, failures by
        (name, error), the JSON report, the master)."""
        scn = write_scenario(self.dir, doc)
        prefix = os.path.join(self.dir, name)
        m, _ = self.master(scn, "-u", users, "-r", users, "-t", seconds,
                           "--processes", processes, "--csv", prefix,
                           "--json-file", prefix + ".json", *extra, name=name)
        rc = m.wait(90)
        if code is not None:
            self.assertEqual(rc, code, m.stderr()[-4000:])
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        errors = {(r["Name"], r["Error"]): int(r["Occurrences"])
                  for r in read_csv(prefix + "_failures.csv")}
        with open(prefix + ".json") as f:
            report = json.load(f)
        return rows, errors, report, m


class CookieTest(FlowCase):
    def test_each_user_keeps_its_own_cookies(self):
        srv = self.recorder()
        doc = {"host": srv.base, "users": [
            {"name": "Jar", "wait": {"constant": 0.1},
             "on_start": [{"method": "POST", "path": "/login",
                           "capture": {"uid": "$.uid"}}],
             "tasks": [{"sequence": [
                 {"path": "/app/page", "headers": {"X-User": "${uid}"}},
                 {"path": "/other", "headers": {"X-User": "${uid}"}},
                 {"path": "/redir", "name": "redir",
                  "headers": {"X-User": "${uid}"}}]}]},
            {"name": "NoJar", "cookies": False, "wait": {"constant": 0.1},
             "on_start": [{"method": "POST", "path": "/login"}],
             "tasks": [{"path": "/nojar"}]}]}
        rows, errors, _, _ = self.run_master(doc, 4, "3s")
        self.assertEqual(errors, {})
        seen = srv.seen()
        login_times = [t for t, _, p, _, _ in seen if p == "/login"]
        self.assertEqual(len(login_times), 4)
        checked = {"/app/page": 0, "/other": 0, "/landing": 0, "/nojar": 0}
        short_early = short_late = 0
        first_login = min(login_times)
        for t, method, path, headers, body in seen:
            c = cookies_of(headers)
            if path == "/nojar" or (path == "/login" and not c):
                self.assertNotIn("Cookie", headers, path)
                checked["/nojar"] += path == "/nojar"
                continue
            if path not in checked:
                continue
            checked[path] += 1
            uid = headers.get("X-User")
            if path != "/landing":
                # Isolated: the session is the one this user logged in with.
                self.assertEqual(c.get("sid"), uid, (path, headers))
            self.assertIn("sid", c)
            # Path-scoped: scoped=N goes to /app only.
            self.assertEqual("scoped" in c, path == "/app/page", (path, c))
            if path == "/landing":
                # The redirect's own Set-Cookie is sent on the next hop.
                self.assertEqual(c.get("hop"), "1", headers)
            if "short" in c:
                short_early += 1
            if t - first_login > 2.2:
                self.assertNotIn("short", c, "expired after 1 s")
                short_late += 1
        self.assertTrue(all(n > 3 for n in checked.values()), checked)
        self.assertGreater(short_early, 0)
        self.assertGreater(short_late, 0)
        # One sample per redirect, as libcurl's own following gives.
        self.assertEqual(int(rows["redir"]["Request Count"]),
                         checked["/landing"])
        self.assertNotIn("/landing", rows)


def write_csv(folder, name, header, rows):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")
    return path


class DataTest(FlowCase):
    def test_login_flow_with_per_user_accounts_on_two_workers(self):
        # apex-target answers 401 on /api/* without the session cookie.
        base = self.target("--require-login")
        os.makedirs(os.path.join(self.dir, "data"))
        write_csv(self.dir, "data/accounts.csv", ["username", "password"],
                  [("user%02d" % i, "pw%d" % i) for i in range(40)])
        doc = {"host": base,
               "data": {"accounts": {"file": "data/accounts.csv",
                                     "mode": "per_user"}},
               "users": [{"name": "Member", "wait": {"constant": 0.05},
                          "on_start": [{"method": "POST",
                                        "path": "/api/v1/login",
                                        "json": {
                                            "username":
                                                "${data.accounts.username}",
                                            "password":
                                                "${data.accounts.password}"}}],
                          "tasks": [{"path": "/api/v1/tasks"},
                                    {"path": "/api/v1/agents"}]}]}
        rows, errors, _, m = self.run_master(doc, 12, "3s", processes=2)
        self.assertEqual(errors, {})
        self.assertGreater(int(rows["/api/v1/tasks"]["Request Count"]), 20)
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["status"].get("401", 0), 0)
        # Twelve users on two workers: twelve accounts, each once.
        self.assertEqual(stats["logins"]["total"], 12)
        self.assertEqual(sorted(stats["logins"]["users"]),
                         ["user%02d" % i for i in range(12)])
        self.assertEqual(set(stats["logins"]["users"].values()), {1})

    def test_sequential_rows_are_split_between_workers(self):
        srv = self.recorder()
        write_csv(self.dir, "rows.csv", ["id"], [(i,) for i in range(5000)])
        doc = {"host": srv.base,
               "data": {"r": {"file": "rows.csv", "mode": "sequential"},
                        "x": {"file": "rows.csv", "mode": "random"}},
               "users": [{"name": "Seq", "wait": {"constant": 0.02},
                          "tasks": [{"sequence": [
                              {"path": "/row?id=${data.r.id}"},
                              {"path": "/row?id=${data.r.id}&again=1"},
                              {"path": "/rnd?id=${data.x.id}"}]}]}]}
        _, errors, _, _ = self.run_master(doc, 6, "3s", processes=2)
        self.assertEqual(errors, {})
        firsts, agains = [], []
        for _, _, path, _, _ in srv.seen():
            if path.startswith("/row?"):
                q = path.split("?")[1]
                (agains if "again" in q else firsts).append(
                    int(q.split("&")[0].split("=")[1]))
        self.assertGreater(len(firsts), 50)
        # Each task took its own row (no two took the same), and kept it
        # for the task's second step.
        self.assertEqual(len(firsts), len(set(firsts)))
        self.assertTrue(set(agains) <= set(firsts))
        # Both workers' halves (even and odd rows) were used.
        self.assertTrue(any(i % 2 == 0 for i in firsts))
        self.assertTrue(any(i % 2 == 1 for i in firsts))


class TypedAndSleepTest(FlowCase):
    def test_typed_json_body_and_sleep_inside_a_sequence(self):
        srv = self.recorder()
        doc = {"host": srv.base, "users": [{
            "name": "T", "wait": {"constant": 0.05},
            "tasks": [{"sequence": [
                {"method": "POST", "path": "/echo", "name": "create",
                 "json": {"priority": "${random_int(1,3)}",
                          "title": "task ${random_int(1,3)}",
                          "user": "${user_index}", "it": "${iteration}"},
                 "capture": {"created": "$"}},
                {"sleep": 0.4},
                {"method": "PUT", "path": "/echo", "name": "again",
                 "headers": {"X-User": "${user_index}"},
                 "json": {"copy": "${created}"}}]}]}]}
        rows, errors, _, _ = self.run_master(doc, 3, "3s")
        self.assertEqual(errors, {})
        self.assertNotIn("sleep", rows)  # a pause is no request
        creates, last_create = 0, {}
        gaps = []
        for t, method, path, headers, body in srv.seen():
            value = json.loads(body) if body else None
            if method == "POST":
                creates += 1
                self.assertIsInstance(value["priority"], int)
                self.assertIn(value["priority"], (1, 2, 3))
                self.assertIsInstance(value["title"], str)
                self.assertIsInstance(value["user"], int)
                last_create[value["user"]] = (t, value)
            elif method == "PUT":
                user = int(headers["X-User"])
                t0, created = last_create[user]
                # The captured object went back as an object.
                self.assertEqual(value["copy"], created)
                gaps.append(t - t0)
        self.assertGreater(creates, 6)
        self.assertTrue(gaps)
        for gap in gaps:  # the sleep, seen by the server's clock
            self.assertTrue(0.38 <= gap <= 0.4 + 0.3, gaps)


class LoadErrorTest(FlowCase):
    def check_error(self, doc, *words):
        scn = write_scenario(self.dir, doc)
        m, _ = self.master(scn, "-u", 1, "-t", "1s")
        self.assertEqual(m.wait(20), 2)
        for w in words:
            self.assertIn(w, m.stderr())

    def test_misspelled_variable_is_a_scenario_error(self):
        self.check_error({"users": [{"name": "U", "tasks": [{"sequence": [
            {"path": "/a", "capture": {"task_id": "$.id"}},
            {"path": "/t/${tsk_id}"}]}]}]},
            "$.users[0].tasks[0].sequence[1].path: variable 'tsk_id' is "
            "not set by any capture, data file, built-in or the environment")

    def test_bad_data_files_name_the_path(self):
        self.check_error({"data": {"a": {"file": "missing.csv"}},
                          "users": [{"name": "U", "tasks": [{"path": "/"}]}]},
                         "$.data.a.file: cannot read missing.csv")
        write_csv(self.dir, "a.csv", ["user", "pw"], [("x", "y")])
        self.check_error({"data": {"a": {"file": "a.csv"}},
                          "users": [{"name": "U", "tasks": [
                              {"path": "/${data.a.usr}"}]}]},
                         "$.users[0].tasks[0].path: data set 'a' has no "
                         "column 'usr' (columns: user, pw)")
        with open(os.path.join(self.dir, "bad.csv"), "wb") as f:
            f.write(b"user\n\xff\n")
        self.check_error({"data": {"a": {"file": "bad.csv"}},
                          "users": [{"name": "U", "tasks": [{"path": "/"}]}]},
                         "$.data.a.file: bad.csv: line 2: invalid UTF-8")
        with open(os.path.join(self.dir, "big.csv"), "wb") as f:
            f.write(b"a\n" + b"1\n" * (2 * 1024 * 1024 + 1))
        self.check_error({"data": {"a": {"file": "big.csv"}},
                          "users": [{"name": "U", "tasks": [{"path": "/"}]}]},
                         "$.data.a.file: big.csv: too large")

    def test_use_before_capture_is_a_warning(self):
        srv = self.recorder()
        doc = {"host": srv.base, "users": [{"name": "U",
               "wait": {"constant": 0.05}, "tasks": [
                   {"path": "/a", "capture": {"task_id": "$.missing"}},
                   {"path": "/t/${task_id}", "name": "get"}]}]}
        rows, errors, _, m = self.run_master(doc, 1, "2s", code=1)
        self.assertIn("$.users[0].tasks[1].path: variable 'task_id' may be "
                      "read before it is set", m.stderr())
        # At run time the unset variable fails the step; nothing is sent.
        self.assertIn(("get", "VariableNotSet(\"variable 'task_id' is not "
                       "set\")"), errors)
        self.assertFalse(any(p.startswith("/t/") for _, _, p, _, _
                             in srv.seen()))


class CheckTest(FlowCase):
    def test_checks_filters_and_thresholds(self):
        srv = self.recorder()
        doc = {"host": srv.base,
               "thresholds": {"checks{name:status is done}": ["rate==1"],
                              "checks": ["rate>0.5"]},
               "users": [{"name": "C", "wait": {"constant": 0.05}, "tasks": [
                   {"sequence": [
                       {"path": "/tasks", "name": "tasks",
                        "check": {"status is done": "$.status == 'done'",
                                  "has tasks": "$.tasks.length() > 0",
                                  "says done": {"regex": "\"done\""},
                                  "typed": {"header": "Content-Type"},
                                  "never": {"json": "$.count > 10",
                                            "soft": True}},
                        "capture": {"urgent": "$.tasks[?(@.priority>2)].id",
                                    "owner": "$..owner.id",
                                    "n": "$.tasks.length()"}},
                       {"path": "/got/${urgent}/${owner}/${n}",
                        "name": "got"}]},
                   {"path": "/tasks", "name": "strict",
                    "check": {"not there": "$.missing"}}]}]}
        rows, errors, report, m = self.run_master(doc, 2, "3s", code=0)
        # The strict task's check fails its request, named in the text.
        self.assertEqual(set(errors), {("strict", "CatchResponseError("
                                        "'check not there failed')")})
        self.assertEqual(errors[("strict", "CatchResponseError('check not "
                                 "there failed')")],
                         int(rows["strict"]["Failure Count"]))
        self.assertEqual(int(rows["tasks"]["Failure Count"]), 0)
        # Filters, recursive descent and length() fed the next request.
        got = [p for _, _, p, _, _ in srv.seen() if p.startswith("/got/")]
        self.assertTrue(got)
        self.assertEqual(set(got), {"/got/t2/o9/3"})
        checks = {c["name"]: c for c in report["checks"]}
        n = int(rows["tasks"]["Request Count"])
        self.assertEqual(checks["status is done"],
                         {"name": "status is done", "passes": n, "fails": 0})
        for name in ("has tasks", "says done", "typed"):
            self.assertEqual(checks[name]["passes"], n)
        self.assertEqual(checks["never"]["fails"], n)  # soft: counted only
        self.assertEqual(checks["not there"]["passes"], 0)
        out = m.stdout()
        self.assertIn("Checks", out)
        ths = {t["source"] if "source" in t else str(t): t
               for t in report["thresholds"]}
        self.assertIn("checks{name:status is done}: rate==1", str(ths))


class ShippedScenarioTest(FlowCase):
    """The scenarios the README shows, against apex-target with logins
    required: no failures."""

    def run_shipped(self, name, users=6):
        base = self.target("--require-login")
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(os.path.join(ROOT, "scenarios", name), "-u", users,
                           "-r", users, "-t", "4s", "--host", base,
                           "--processes", 2, "--csv", prefix,
                           "--json-file", prefix + ".json")
        self.assertEqual(m.wait(90), 0, m.stderr()[-3000:])
        self.assertEqual(read_csv(prefix + "_failures.csv"), [])
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["status"].get("401", 0), 0)
        with open(prefix + ".json") as f:
            return stats, json.load(f)

    def test_accounts_scenario_logs_in_each_user_once(self):
        stats, report = self.run_shipped("accounts.json")
        self.assertEqual(stats["logins"]["total"], 6)
        self.assertEqual(len(stats["logins"]["users"]), 6)
        self.assertGreater(stats["requests"]["GET /api/v1/tasks"], 10)
        checks = {c["name"]: c for c in report["checks"]}
        self.assertEqual(checks["my own session"]["fails"], 0)
        self.assertEqual(checks["my own session"]["passes"], 6)

    def test_apex_scenario_runs_with_logins_required(self):
        stats, report = self.run_shipped("apex.json", users=4)
        self.assertEqual(stats["logins"]["total"], 4)
        self.assertEqual(sorted(stats["logins"]["users"]),
                         ["apex-0", "apex-1", "apex-2", "apex-3"])


class WsCheckTest(FlowCase):
    def test_checks_on_websocket_replies(self):
        base = self.target()
        ws = base.replace("http://", "ws://")
        doc = {"users": [{"name": "W", "wait": {"constant": 0.05},
                          "on_start": [{"ws": "connect",
                                        "url": ws + "/ws/echo"}],
                          "tasks": [{"sequence": [
                              {"ws": "request", "name": "echo",
                               "json": {"id": "${uuid()}",
                                        "n": "${random_int(1,3)}"},
                               "correlate": "$.id",
                               "check": {"typed echo":
                                         "$.n >= 1 && $.n <= 3"}},
                              {"ws": "send", "text": "plain"},
                              {"ws": "receive", "name": "plain back",
                               "check": {"says plain": {"regex": "^plain$"},
                                         "not json": {"json": "$.x",
                                                      "soft": True}}}]}]}]}
        rows, errors, report, _ = self.run_master(doc, 2, "3s")
        self.assertEqual(errors, {})
        checks = {c["name"]: c for c in report["checks"]}
        n = int(rows["echo"]["Request Count"])
        self.assertGreater(n, 5)
        self.assertEqual(checks["typed echo"], {"name": "typed echo",
                                                "passes": n, "fails": 0})
        self.assertEqual(checks["says plain"]["fails"], 0)
        self.assertEqual(checks["not json"]["passes"], 0)

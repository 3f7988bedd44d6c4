"""Scripted users (Lua) against apex-target and a recording server: the
requests a script makes are counted by the target as in our CSV (the
shipped scenarios/apex.lua included), many coroutines interleave on one
worker's loop and a sleeping user holds no one up, a runtime error lands
in the exceptions table with its line and the user goes on, the sandbox
refuses what reaches outside (at load and in a task), custom metrics
reach the master, /metrics and its thresholds, on_stop runs when the run ends,
JSON and Lua classes mix on two workers, workers started elsewhere get
the script, the data rows and the master's environment values, requests
carry their bodies, headers, params and the user's own cookies and the
response says what the server sent, and the UI's Trends tab shows the
trends (headless Chromium).
"""
import json
import os
import threading
from urllib.parse import parse_qs, urlsplit

import apexlib
from apexlib import read_csv, write_scenario
from test_flows import FlowCase

ROOT = apexlib.ROOT


def write_script(folder, name, text):
    with open(os.path.join(folder, name), "w") as f:
        f.write(text)


class LuaCase(FlowCase):
    def assert_rows_served(self, stats_csv, base):
        """Every row of a stats CSV ("TYPE NAME") counts what apex-target
        served for that route; returns the Aggregated count."""
        served = apexlib.target_stats(base)["requests"]
        total = 0
        rows = read_csv(stats_csv)
        for r in rows:
            if r["Name"] == "Aggregated":
                self.assertEqual(int(r["Request Count"]),
                                 sum(int(x["Request Count"]) for x in rows
                                     if x is not r))
                continue
            key = "%s %s" % (r["Type"], r["Name"])
            self.assertIn(key, served, rows)
            self.assertEqual(int(r["Request Count"]), served[key], key)
            total += int(r["Request Count"])
        return total


class ScriptedRequestsTest(LuaCase):
    def test_apex_lua_counts_equal_the_targets(self):
        base = self.target()
        scn = os.path.join(ROOT, "scenarios", "apex_lua.json")
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(scn, "-u", 12, "-r", 12, "-t", "4s", "--host",
                           base, "--processes", 1, "--csv", prefix,
                           "--json-file", prefix + ".json")
        self.assertEqual(m.wait(60), 0, m.stderr()[-3000:])
        self.assertGreater(
            self.assert_rows_served(prefix + "_stats.csv", base), 30)
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        # on_start logs in once per user.
        self.assertEqual(int(rows["/api/v1/login"]["Request Count"]), 12)
        self.assertEqual(read_csv(prefix + "_exceptions.csv"), [])
        with open(prefix + ".json") as f:
            report = json.load(f)
        checks = {c["name"]: c for c in report["checks"]}
        self.assertEqual(checks["logged in"]["passes"], 12)
        self.assertTrue(all(c["fails"] == 0 for c in checks.values()))
        self.assertTrue(all(t["ok"] for t in report["thresholds"]))


class CoroutineTest(LuaCase):
    def test_many_users_one_loop_and_a_sleeper_delays_no_one(self):
        srv = self.recorder()
        write_script(self.dir, "busy.lua", """
local Busy = apex.user{wait_time = apex.constant(0.05)}
Busy:task("work", 1, function(self)
  self:get("/step1", {headers = {["X-User"] = self.index}})
  self:sleep(0.02)
  self:get("/step2", {headers = {["X-User"] = self.index}})
end)
return Busy
""")
        write_script(self.dir, "sleeper.lua", """
local Sleeper = apex.user()
function Sleeper:on_start() self:sleep(3600) end
Sleeper:task("late", 1, function(self) self:get("/sleeper") end)
return Sleeper
""")
        doc = {"host": srv.base, "users": [
            {"name": "Busy", "script": "busy.lua", "weight": 200},
            {"name": "Sleeper", "script": "sleeper.lua", "fixed_count": 1}]}
        rows, errors, _, _ = self.run_master(doc, 201, "4s")
        self.assertEqual(errors, {})
        seen = srv.seen()
        users = {h.get("X-User") for _, _, p, h, _ in seen if p == "/step1"}
        # 200 coroutines on the one worker's loop each got through a task
        # while the sleeper slept (and it sent nothing).
        self.assertEqual(len(users), 200)
        self.assertNotIn("/sleeper", [p for _, _, p, _, _ in seen])
        step2 = {h.get("X-User") for _, _, p, h, _ in seen if p == "/step2"}
        self.assertEqual(step2, users)
        self.assertEqual(int(rows["/step1"]["Request Count"]),
                         sum(1 for _, _, p, _, _ in seen if p == "/step1"))


class RequestsAndResponsesTest(LuaCase):
    def test_bodies_headers_params_cookies_and_responses(self):
        srv = self.recorder()
        write_script(self.dir, "rr.lua", """
local U = apex.user{wait_time = apex.constant(0.05)}
function U:on_start()
  local r = self:post("/login", {json = {user = self.index}})
  self.uid = r:json().uid
  apex.check("login response", r.status == 200 and r.ok and
    r:header("Content-Type") == "application/json" and
    r.headers["content-type"] == "application/json" and
    r.headers["set-cookie"] ~= nil and r.elapsed_ms >= 0 and
    r.url == "/login" and r.failure == nil)
end
U:task("t", 1, function(self)
  local r = self:http{method = "put", url = "/echo", name = "echo",
                      body = apex.json.encode({n = self.index}),
                      headers = {["Content-Type"] = "application/json"}}
  apex.check("echoed", r.ok and r:json().n == self.index and
             r.body:find('"n"', 1, true) ~= nil)
  self:get("/items/" .. self.index, {params = {q = "a b&c"},
           name = "/items/{i}", headers = {["X-Uid"] = self.uid}})
end)
return U
""")
        doc = {"host": srv.base, "users": [{"name": "U",
                                            "script": "rr.lua"}]}
        # --stop-timeout: each user ends the task it is in (without it a
        # stop ends a task after the request in flight, as Locust's).
        rows, errors, report, _ = self.run_master(doc, 4, "3s",
                                                  "--stop-timeout", "10")
        self.assertEqual(errors, {})
        checks = {c["name"]: (c["passes"], c["fails"])
                  for c in report["checks"]}
        self.assertEqual(checks["login response"], (4, 0))
        seen = srv.seen()
        puts = [b for _, m, p, _, b in seen if m == "PUT" and p == "/echo"]
        self.assertEqual(checks["echoed"], (len(puts), 0))
        self.assertEqual(int(rows["echo"]["Request Count"]), len(puts))
        self.assertEqual(rows["echo"]["Type"], "PUT")
        self.assertEqual({json.loads(b)["n"] for b in puts}, set(range(4)))
        items = [(p, h) for _, m, p, h, _ in seen
                 if p.startswith("/items/")]
        self.assertEqual(int(rows["/items/{i}"]["Request Count"]),
                         len(items))
        self.assertGreater(len(items), 8)
        for path, headers in items:
            self.assertEqual(parse_qs(urlsplit(path).query), {"q": ["a b&c"]})
            # Each user's own cookie jar: the session its login set.
            self.assertIn("sid=%s" % headers["X-Uid"], headers["Cookie"])
        self.assertEqual(len({h["X-Uid"] for _, h in items}), 4)


class ErrorsTest(LuaCase):
    def test_runtime_error_lands_in_exceptions_with_its_line(self):
        base = self.target()
        write_script(self.dir, "oops.lua", """local Oops = apex.user{
  wait_time = apex.constant(0.1)}
Oops:task("fails", 1, function(self)
  self:get("/health")
  local body = nil
  return body.field
end)
return Oops
""")
        doc = {"host": base, "users": [{"name": "Oops",
                                         "script": "oops.lua"}]}
        rows, _, report, m = self.run_master(doc, 3, "3s", code=1)
        exc = read_csv(os.path.join(self.dir, "run_exceptions.csv"))
        self.assertEqual(len(exc), 1, exc)
        self.assertIn("oops.lua:6: attempt to index a nil value (local "
                      "'body')", exc[0]["Message"])
        self.assertIn("stack traceback:", exc[0]["Traceback"])
        self.assertIn("oops.lua:6: in function", exc[0]["Traceback"])
        # Each failed task was one exception, and the users went on.
        gets = int(rows["/health"]["Request Count"])
        self.assertGreater(gets, 6)
        self.assertEqual(int(exc[0]["Count"]), gets)
        self.assertEqual(apexlib.target_stats(base)["requests"]
                         ["GET /health"], gets)

    def test_compile_error_is_a_scenario_error_with_file_and_line(self):
        write_script(self.dir, "bad.lua", "local U = apex.user()\n\n"
                                          "U:task('t', 1 function() end)\n")
        doc = {"users": [{"name": "Bad", "script": "bad.lua"}]}
        scn = write_scenario(self.dir, doc)
        m, _ = self.master(scn, "-u", 1, "-t", "1s", "--processes", 1)
        self.assertEqual(m.wait(30), 2)
        self.assertIn("bad.lua:3: ')' expected near 'function'",
                      m.stderr())


class SandboxTest(LuaCase):
    def test_outside_world_is_refused_at_load_and_in_tasks(self):
        write_script(self.dir, "exec.lua", "local U = apex.user()\n"
                                           "os.execute('touch pwned')\n")
        scn = write_scenario(self.dir, {"users": [
            {"name": "Exec", "script": "exec.lua"}]})
        m, _ = self.master(scn, "-u", 1, "-t", "1s", "--processes", 1)
        self.assertEqual(m.wait(30), 2)
        self.assertIn("exec.lua:2: attempt to call a nil value (field "
                      "'execute')", m.stderr())
        base = self.target()
        write_script(self.dir, "escape.lua", """
local U = apex.user{wait_time = apex.constant(0.2)}
U:task("popen", 1, function(self) io.popen("touch pwned") end)
U:task("write", 1, function(self) io.open("pwned", "w") end)
U:task("native", 1, function(self) package.loadlib("libc.so.6", "x") end)
U:task("load", 1, function(self) load("return 1") end)
U:task("sql", 1, function(self) self:sql("SELECT 1") end)
return U
""")
        doc = {"host": base, "users": [{"name": "Escape",
                                         "script": "escape.lua"}]}
        self.run_master(doc, 4, "3s", code=1)
        messages = {r["Message"] for r in
                    read_csv(os.path.join(self.dir, "run_exceptions.csv"))}
        self.assertIn("escape.lua:3: attempt to index a nil value (global "
                      "'io')", messages)
        self.assertIn("escape.lua:4: attempt to index a nil value (global "
                      "'io')", messages)
        self.assertIn("escape.lua:5: attempt to index a nil value (global "
                      "'package')", messages)
        self.assertIn("escape.lua:6: attempt to call a nil value (global "
                      "'load')", messages)
        # A query needs the scenario's "database" (no connection string
        # comes from a script).
        self.assertIn("sql: the scenario names no \"database\"",
                      " ".join(messages))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "pwned")))
        self.assertFalse(os.path.exists(os.path.join(ROOT, "pwned")))


class MetricsTest(LuaCase):
    def test_custom_metrics_reach_the_master_and_thresholds(self):
        base = self.target()
        write_script(self.dir, "m.lua", """
local M = apex.user{wait_time = apex.constant(0.05)}
function M:on_stop() self:get("/health", {name = "bye"}) end
M:task("t", 1, function(self)
  local r = self:get("/api/v1/tasks", {check = {
    ["has tasks"] = "$.tasks", ["soft miss"] = {json = "$.nope",
                                               soft = true}}})
  local a = self:get("/api/v1/agents", {check = {
    ["agents down"] = "$.agents[0].status == 'down'"}})
  apex.check("agents failed", not a.ok and
             a.failure:find("agents down", 1, true) ~= nil)
  apex.counter("lists")
  apex.counter("items", #r:json().tasks + 2)
  apex.trend("cart_size", 2.5)
  apex.check("listed", r.status == 200)
  apex.check("never", false)
end)
return M
""")
        doc = {"host": base, "users": [{"name": "M", "script": "m.lua"}],
               "thresholds": {"cart_size": ["avg==2.5", "p(99)<1"],
                              "lists": "count>5",
                              "checks{name:listed}": "rate==1",
                              "checks{name:never}": "rate>0"}}
        # /metrics (a headless master's --metrics) carries them while
        # the run goes on: the last scrape that had the trend.
        web = apexlib.free_port()
        scraped = []
        done = threading.Event()

        def scrape():
            while not done.wait(0.3):
                try:
                    _, _, body = apexlib.http(
                        "GET", "http://127.0.0.1:%d/metrics" % web,
                        timeout=2)
                except OSError:
                    continue
                if b"apex_trend_count" in body:
                    scraped.append(body.decode())
        t = threading.Thread(target=scrape, daemon=True)
        t.start()
        try:
            rows, _, report, m = self.run_master(
                doc, 3, "3s", "--metrics", "--web-host", "127.0.0.1",
                "--web-port", web, "--stop-timeout", "10", "--html",
                os.path.join(self.dir, "run.html"), code=99)
        finally:
            done.set()
            t.join(5)
        self.assertTrue(scraped, "no custom trend in /metrics")
        from prometheus_client.parser import text_string_to_metric_families
        samples = {(s.name, s.labels.get("name"), s.labels.get("quantile")):
                   s.value for f in text_string_to_metric_families(
                       scraped[-1]) for s in f.samples}
        count = samples[("apex_trend_count", "cart_size", None)]
        self.assertGreater(count, 0)
        self.assertEqual(samples[("apex_trend", "cart_size", "0.5")], 2.5)
        self.assertEqual(samples[("apex_trend_sum", "cart_size", None)],
                         2.5 * count)
        self.assertGreater(samples[("apex_lists_total", None, None)], 0)
        lists = int(rows["/api/v1/tasks"]["Request Count"])
        self.assertEqual(lists, apexlib.target_stats(base)["requests"]
                         ["GET /api/v1/tasks"])
        counters = report["figures"]["counters"]
        self.assertEqual(counters["lists"], lists)
        self.assertEqual(counters["items"], 2 * lists)  # empty store
        trend = {t["name"]: t for t in report["trends"]}["cart_size"]
        self.assertEqual(trend["count"], lists)
        self.assertEqual(trend["avg"], 2.5)
        # check= on requests: common/check.c's checks, counted by name; a
        # hard one that fails fails its request.
        checks = {c["name"]: (c["passes"], c["fails"])
                  for c in report["checks"]}
        self.assertEqual(checks["has tasks"], (lists, 0))
        self.assertEqual(checks["soft miss"], (0, lists))
        self.assertEqual(checks["agents down"], (0, lists))
        self.assertEqual(checks["agents failed"], (lists, 0))
        self.assertEqual(int(rows["/api/v1/agents"]["Failure Count"]), lists)
        self.assertEqual(int(rows["/api/v1/tasks"]["Failure Count"]), 0)
        verdicts = {t["source"]: t["ok"] for t in report["thresholds"]}
        self.assertEqual(verdicts, {
            "cart_size: avg==2.5": True, "cart_size: p(99)<1": False,
            "lists: count>5": True, "checks{name:listed}: rate==1": True,
            "checks{name:never}: rate>0": False})
        # Each user ran on_stop when the run ended, and its request was
        # counted before the worker's last report.
        self.assertEqual(int(rows["bye"]["Request Count"]), 3)
        self.assertEqual(apexlib.target_stats(base)["requests"]
                         ["GET /health"], 3)
        csv_rows = read_csv(os.path.join(self.dir, "run_trends.csv"))
        self.assertEqual(csv_rows[0]["Name"], "cart_size")
        self.assertEqual(int(csv_rows[0]["Count"]), lists)
        out = m.stdout()
        self.assertIn("Custom trends", out)
        # The HTML report's tables (the trends' too) say what its JSON
        # holds, in headless Chromium (tests/browser/report.test.mjs).
        import subprocess
        p = subprocess.run(
            ["node", "--test", "--test-reporter=tap",
             os.path.join(ROOT, "tests/browser/report.test.mjs")],
            capture_output=True, text=True, cwd=ROOT, timeout=180,
            env=dict(os.environ, APEX_BROWSER_OUT=self.dir,
                     APEX_REPORT=os.path.join(self.dir, "run.html")))
        self.assertEqual(p.returncode, 0, p.stdout[-4000:] + p.stderr)
        self.assertRegex(p.stdout, r"ok \d+ - lists the scripts' custom "
                                   r"trends")
        self.assertRegex(p.stdout, r"# fail 0")


class MixedTest(LuaCase):
    def test_json_and_lua_classes_on_two_workers(self):
        base = self.target()
        write_script(self.dir, "lister.lua", """
local Lister = apex.user{wait_time = apex.constant(0.05)}
Lister:task("list", 1, function(self) self:get("/api/v1/tasks") end)
return Lister
""")
        doc = {"host": base, "users": [
            {"name": "Lister", "script": "lister.lua", "weight": 1},
            {"name": "Checker", "weight": 1, "wait": {"constant": 0.05},
             "tasks": [{"path": "/health"}]}]}
        rows, errors, report, _ = self.run_master(doc, 8, "3s", processes=2)
        self.assertEqual(errors, {})
        self.assertGreater(self.assert_rows_served(
            os.path.join(self.dir, "run_stats.csv"), base), 40)
        self.assertGreater(int(rows["/api/v1/tasks"]["Request Count"]), 10)
        self.assertGreater(int(rows["/health"]["Request Count"]), 10)
        workers = [w for w in report["run"]["workers"] if w["requests"] > 0]
        self.assertEqual(len(workers), 2, report["run"]["workers"])


class DataEnvTest(LuaCase):
    def test_rows_index_and_the_masters_env_on_separate_workers(self):
        # apex-target answers 401 on /api/* without the session cookie.
        base = self.target("--require-login")
        with open(os.path.join(self.dir, "accounts.csv"), "w") as f:
            f.write("username,password\n")
            f.writelines("user%02d,pw%d\n" % (i, i) for i in range(40))
        write_script(self.dir, "member.lua", """
local SUFFIX = apex.env("LUA_T_SUFFIX", "-unset")
local Member = apex.user{wait_time = apex.constant(0.05)}
function Member:on_start()
  local a = apex.data("accounts")
  local r = self:post("/api/v1/login", {json = {
    username = a.username .. SUFFIX .. "-" .. self.index,
    password = a.password}})
  apex.check("logged in", r.ok)
end
Member:task("list", 1, function(self) self:get("/api/v1/tasks") end)
return Member
""")
        scn = write_scenario(self.dir, {
            "host": base,
            "data": {"accounts": {"file": "accounts.csv",
                                  "mode": "per_user"}},
            "users": [{"name": "Member", "script": "member.lua"}]})
        prefix = os.path.join(self.dir, "run")
        port = apexlib.free_port()
        m = self.start([apexlib.binary("apex-master"), "-f", scn,
                        "--headless", "--only-summary", "--master-bind-port",
                        port, "-u", 10, "-r", 10, "-t", "3s", "--csv", prefix,
                        "--expect-workers", 2], "master",
                       env={"LUA_T_SUFFIX": "-m"})
        # The workers have neither the script, the data file nor the
        # variable: the master sends all three.
        empty = os.path.join(self.dir, "elsewhere")
        os.makedirs(empty)
        ws = [self.start([apexlib.binary("apex-worker"), "--master-port",
                          port], "worker%d" % i, cwd=empty,
                         env={"LUA_T_SUFFIX": None}) for i in (1, 2)]
        self.assertEqual(m.wait(60), 0, m.stderr()[-3000:])
        for w in ws:
            self.assertEqual(w.wait(10), 0, w.stderr())
        self.assertGreater(self.assert_rows_served(prefix + "_stats.csv",
                                                   base), 20)
        stats = apexlib.target_stats(base)
        self.assertEqual(stats["status"].get("401", 0), 0)
        # Ten users on two workers: indexes 0-9 across the run, each with
        # its per_user row and the master's value of the variable.
        self.assertEqual(sorted(stats["logins"]["users"]),
                         sorted("user%02d-m-%d" % (i, i) for i in range(10)))


class UiTrendsTest(LuaCase):
    def test_trends_tab_and_counter_in_headless_chromium(self):
        import subprocess
        base = self.target()
        write_script(self.dir, "cart.lua", """
local Cart = apex.user{wait_time = apex.constant(0.1)}
Cart:task("t", 1, function(self)
  self:get("/health")
  apex.trend("cart_size", 2.5)
  apex.counter("lists")
end)
return Cart
""")
        scn = write_scenario(self.dir, {"host": base, "users": [
            {"name": "Cart", "script": "cart.lua"}]})
        web, port = apexlib.free_port(), apexlib.free_port()
        m = self.start([apexlib.binary("apex-master"), "-f", scn,
                        "--web-host", "127.0.0.1", "--web-port", web,
                        "--master-bind-port", port, "--autostart", "-u", 3,
                        "-r", 3, "-t", "60s"], "master")
        self.start([apexlib.binary("apex-worker"), "--master-port", port],
                   "worker")
        env = dict(os.environ, APEX_UI_URL="http://127.0.0.1:%d/" % web,
                   APEX_BROWSER_OUT=self.dir)
        p = subprocess.run(["node", "--test", "--test-reporter=tap",
                            os.path.join(ROOT, "tests/browser/"
                                               "ui_trends.test.mjs")],
                           capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=180)
        self.assertEqual(p.returncode, 0, p.stdout[-4000:] + p.stderr)
        self.assertRegex(p.stdout, r"# pass 2")
        self.assertRegex(p.stdout, r"# fail 0")
        self.assertTrue(m.running(), m.stderr()[-3000:])

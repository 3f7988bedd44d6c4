"""SQL steps against a real PostgreSQL: a throwaway cluster started for
this module (scripts/pg.sh: Debian's postgresql-15 on its own port of
127.0.0.1, removed afterwards). The counts in the CSV against what the
server counted (pg_stat_statements), each query prepared once per
connection (the server's log), parameters bound (a hostile value is data),
a timeout as a failure with its SQLSTATE, the server restarted mid-run
(failures, then recovery), and a bad connection string, an unreachable
server and a syntax error reported clearly, naming the step; a scripted
(Lua) user's self:sql() through the same kind."""
import json
import os
import re
import subprocess

import apexlib
from apexlib import ROOT, free_port, read_csv, wait_for, write_scenario
from test_run import RunCase

PG = os.path.join(ROOT, "scripts", "pg.sh")
CLUSTER = {}


def pg(*args, check=True):
    """scripts/pg.sh with args; returns its stdout."""
    p = subprocess.run(["sh", PG, *args], capture_output=True, text=True,
                       timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("pg.sh %s: %s" % (" ".join(args),
                                               p.stdout + p.stderr))
    return p.stdout.strip()


def sql(query):
    """Rows of one query on the cluster's database, as lists of text."""
    out = pg("psql", CLUSTER["dir"], "-At", "-F", "\t", "-c", query)
    return [line.split("\t") for line in out.splitlines() if line]


def setUpModule():
    CLUSTER["dir"] = pg("start")
    CLUSTER["url"] = pg("url", CLUSTER["dir"])
    sql("CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL);"
        "INSERT INTO items SELECT i, 'v' || i FROM generate_series(1, 500) i;"
        "CREATE TABLE notes (id serial PRIMARY KEY, body text, n int);"
        "ALTER ROLE apex SET log_min_duration_statement = 0")


def tearDownModule():
    if CLUSTER.get("dir"):
        pg("stop", CLUSTER["dir"], check=False)


def calls():
    """pg_stat_statements' calls by query text."""
    return {q: int(n) for q, n in sql(
        "SELECT query, sum(calls) FROM pg_stat_statements GROUP BY query")}


class SqlCase(RunCase):
    def run_sql(self, doc, users, seconds, code=None, name="run", extra=()):
        doc = dict({"database": CLUSTER["url"]}, **doc)
        scn = write_scenario(self.dir, doc)
        prefix = os.path.join(self.dir, name)
        m, _ = self.master(scn, "-u", users, "-r", users, "-t", seconds,
                           "--processes", 1, "--csv", prefix, "--json-file",
                           prefix + ".json", *extra, name=name)
        rc = m.wait(90)
        if code is not None:
            self.assertEqual(rc, code, m.stderr()[-3000:])
        self.master_proc = m
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        errors = {(r["Name"], r["Error"]): int(r["Occurrences"])
                  for r in read_csv(prefix + "_failures.csv")}
        self.report = json.load(open(prefix + ".json"))
        return rows, errors

    def count(self, rows, name):
        return int(rows[name]["Request Count"])


class SqlCountTest(SqlCase):
    def test_counts_match_pg_stat_statements_and_prepare_once(self):
        sql("SELECT pg_stat_statements_reset()")
        log = os.path.join(CLUSTER["dir"], "postgres.log")
        log_start = os.path.getsize(log)
        by_id = "SELECT v FROM items WHERE id = $1"
        insert = "INSERT INTO notes (body, n) VALUES ($1, $2)"
        rows, errors = self.run_sql({
            "thresholds": {"sql_duration": ["max<60000"],
                           "sql_duration{name:by id}": ["p(99)<60000"],
                           "sql_failed": ["rate==0"],
                           "sql_connections": ["max==4"]},
            "users": [{
                "name": "Db", "wait": {"constant": 0.01},
                "on_start": [{"sql": "SELECT id, v FROM items WHERE id <= $1",
                              "name": "pick", "params": [100],
                              "capture": {"item": {"column": "id",
                                                   "row": "random"},
                                          "v": {"column": "v"}}}],
                "tasks": [
                    {"weight": 3, "sql": by_id, "name": "by id",
                     "params": ["${random_int(1,500)}"], "expect_rows": 1,
                     "capture": {"v": {"column": "v"}}},
                    {"weight": 1, "sql": insert, "name": "insert",
                     "params": ["${v}", "${item}"], "expect_rows": 1}]}]},
            4, "4s", code=0)
        self.assertEqual(errors, {})
        served = calls()
        self.assertGreater(self.count(rows, "by id"), 50)
        self.assertEqual(self.count(rows, "by id"), served[by_id])
        self.assertEqual(self.count(rows, "insert"), served[insert])
        self.assertEqual(self.count(rows, "pick"), 4)
        self.assertEqual(int(sql("SELECT count(*) FROM notes")[0][0]),
                         self.count(rows, "insert"))
        # The captured values went in as parameters: v of a row, an id.
        bad = sql("SELECT count(*) FROM notes WHERE body !~ '^v[0-9]+$' "
                  "OR n NOT BETWEEN 1 AND 100")
        self.assertEqual(bad, [["0"]])
        # Each of the 3 statements was parsed once per connection (4).
        with open(log, errors="replace") as f:
            f.seek(log_start)
            parses = re.findall(r"parse (apex_\d+):", f.read())
        self.assertEqual(len(parses), 3 * 4, parses[:20])
        self.assertEqual(len(set(parses)), 3)
        fig = self.report["figures"]
        self.assertEqual(fig["counters"]["sql_connects"], 4)
        self.assertEqual(fig["counters"]["sql_drops"], 0)
        self.assertEqual(fig["peaks"]["sql_connections"], 4)
        verdicts = {t["source"]: t["ok"] for t in self.report["thresholds"]}
        self.assertEqual(len(verdicts), 4, verdicts)
        self.assertTrue(all(verdicts.values()), verdicts)
        self.assertEqual(rows["by id"]["Type"], "SQL")
        # Content size: the bytes of the result ("v1" .. "v500").
        size = float(rows["by id"]["Average Content Size"])
        self.assertTrue(2 <= size <= 4, size)

    def test_parameters_are_bound_not_pasted(self):
        hostile = "it's'); DROP TABLE notes; -- \\ $1 \"x\" ;"
        param = hostile.replace("$", "$$")  # a template: $$ is one $
        rows, errors = self.run_sql({"users": [{
            "name": "Db", "wait": {"constant": 0.02},
            "tasks": [{"sequence": [
                {"sql": "INSERT INTO notes (body) VALUES ($1) RETURNING id",
                 "name": "insert hostile", "params": [param],
                 "capture": {"id": {"column": "id"}}, "expect_rows": 1},
                {"sql": "SELECT body FROM notes WHERE id = $1 AND body = $2",
                 "name": "read back", "params": ["${id}", param],
                 "expect_rows": 1}]}]}]}, 2, "2s", code=0,
            extra=("--stop-timeout", 10))  # no sequence cut after its insert
        self.assertEqual(errors, {})
        n = self.count(rows, "insert hostile")
        self.assertGreater(n, 5)
        self.assertEqual(self.count(rows, "read back"), n)
        # The table is there, and holds the value as it was sent.
        stored = sql("SELECT count(*) FROM notes WHERE body = '%s'" %
                     hostile.replace("'", "''"))
        self.assertEqual(int(stored[0][0]), n)


class SqlScriptedTest(SqlCase):
    def test_scripted_user_queries_through_the_sql_kind(self):
        # self:sql() in a Lua task: parameters bound (a hostile value is
        # data), rows back as tables, a branch on them, expect_rows.
        with open(os.path.join(self.dir, "db.lua"), "w") as f:
            f.write("""
local HOSTILE = "lua it's'); DROP TABLE notes; -- $1 ;"
local Db = apex.user{wait_time = apex.constant(0.02)}
Db:task("note", 1, function(self)
  local ins = self:sql(
    "INSERT INTO notes (body, n) VALUES ($1, $2) RETURNING id",
    {params = {HOSTILE, self.index}, name = "lua insert", expect_rows = 1})
  local r = self:sql(
    "SELECT body, n, NULL::text AS nothing FROM notes WHERE id = $1",
    {params = {ins.rows[1].id}, name = "lua read"})
  apex.check("read back", r.ok and r.row_count == 1 and
             r.rows[1].body == HOSTILE and
             tonumber(r.rows[1].n) == self.index and
             r.rows[1].nothing == nil)
  local items = self:sql("SELECT id, v FROM items WHERE id <= $1 "
                         .. "ORDER BY id", {params = {3}, name = "lua items"})
  if #items.rows == 3 and items.rows[3].v == "v3" then
    local bad = self:sql("SELECT id FROM items WHERE id = $1",
                         {params = {apex.json.null}, name = "lua none",
                          expect_rows = 1})
    apex.check("none failed", not bad.ok and
               bad.failure == "SQL expected 1 row, got 0")
  end
end)
return Db
""")
        before = calls().get(
            "INSERT INTO notes (body, n) VALUES ($1, $2) RETURNING id", 0)
        rows, errors = self.run_sql({"users": [{"name": "Db",
                                                "script": "db.lua"}]},
                                    3, "3s", code=1,
                                    # Each task ends whole: without it a
                                    # stop may cut one after its insert.
                                    extra=("--stop-timeout", 10))
        n = self.count(rows, "lua insert")
        self.assertGreater(n, 10)
        self.assertEqual(rows["lua insert"]["Type"], "SQL")
        self.assertEqual(calls()["INSERT INTO notes (body, n) VALUES ($1, "
                         "$2) RETURNING id"] - before, n)
        stored = sql("SELECT count(*) FROM notes WHERE body = "
                     "'lua it''s''); DROP TABLE notes; -- $1 ;'")
        self.assertEqual(int(stored[0][0]), n)
        self.assertEqual(self.count(rows, "lua read"), n)
        self.assertEqual(self.count(rows, "lua items"), n)
        self.assertEqual(errors, {("lua none", "SQL expected 1 row, got 0"):
                                  self.count(rows, "lua none")})
        checks = {c["name"]: (c["passes"], c["fails"])
                  for c in self.report["checks"]}
        self.assertEqual(checks["read back"], (n, 0))
        self.assertEqual(checks["none failed"],
                         (self.count(rows, "lua none"), 0))


class SqlFailureTest(SqlCase):
    def test_timeout_is_a_failure_with_its_sqlstate(self):
        rows, errors = self.run_sql({"users": [{
            "name": "Db", "wait": {"constant": 0},
            "tasks": [{"sequence": [
                {"sql": "SELECT pg_sleep(30)", "name": "slow",
                 "timeout": 0.3},
                {"sql": "SELECT 1", "name": "after"}]},
                {"sql": "SELECT 2", "name": "fast", "timeout": 5}]}]},
            2, "3s", code=1)
        slow = self.count(rows, "slow")
        self.assertGreater(slow, 2)
        self.assertEqual(int(rows["slow"]["Failure Count"]), slow)
        self.assertEqual(errors, {("slow", "SQL 57014 canceling statement "
                                   "due to statement timeout"): slow})
        # A failure ends the task: "after" never ran.
        self.assertEqual(int(rows.get("after", {}).get("Request Count", 0)),
                         0)
        self.assertGreater(self.count(rows, "fast"), 2)
        # The server cancelled it: the connections stayed open (the
        # statement_timeout of each step was SET on them as needed).
        fig = self.report["figures"]["counters"]
        self.assertEqual(fig["sql_connects"], 2)
        self.assertEqual(fig["sql_drops"], 0)

    def test_bad_server_query_and_rows_are_named_failures(self):
        port = free_port()  # nobody listens there
        unreachable = "postgresql://apex@127.0.0.1:%d/apex" % port
        rows, errors = self.run_sql({"users": [{
            "name": "Db", "wait": {"constant": 0.05},
            "tasks": [
                {"sql": "SELECT 1", "name": "unreachable",
                 "database": unreachable},
                {"sql": "SELEC 1", "name": "bad sql"},
                {"sql": "SELECT v FROM items WHERE id < 0", "name": "no rows",
                 "expect_rows": 1},
                {"sql": "SELECT v FROM items WHERE id = 1", "name": "capture",
                 "capture": {"x": {"column": "nope"}}},
                {"sql": "COPY items TO STDOUT", "name": "copy"}]}]},
            2, "3s", code=1)
        for name in ("unreachable", "bad sql", "no rows", "capture", "copy"):
            self.assertGreater(self.count(rows, name), 0, name)
            self.assertEqual(rows[name]["Failure Count"],
                             rows[name]["Request Count"], name)
        refused = ('SQL connection error: connection to server at '
                   '"127.0.0.1", port %d failed: Connection refused' % port)
        self.assertEqual(set(errors), {
            ("unreachable", refused),
            ("bad sql", 'SQL 42601 syntax error at or near "SELEC"'),
            ("no rows", "SQL expected 1 row, got 0"),
            ("capture", "CaptureError('capture x: column nope: no such "
                        "column in the result')"),
            ("copy", "SQL COPY is not supported in sql steps")})
        # The worker's log names the step, once.
        err = self.master_proc.stderr()
        self.assertEqual(err.count("sql step 'bad sql': SQL 42601"), 1, err)
        self.assertIn("sql step 'unreachable': " + refused, err)
        fig = self.report["figures"]["counters"]
        self.assertGreaterEqual(fig["sql_connect_failures"],
                                self.count(rows, "unreachable"))

    def test_malformed_connection_string_is_a_scenario_error(self):
        scn = write_scenario(self.dir, {"users": [{"name": "Db", "tasks": [
            {"sql": "SELECT 1", "name": "x",
             "database": "host=127.0.0.1 port"}]}]})
        m, _ = self.master(scn, "-u", 1, "-t", "1s")
        self.assertEqual(m.wait(20), 2)
        self.assertIn("$.users[0].tasks[0].database: invalid connection "
                      "string: missing \"=\" after \"port\"", m.stderr())


class SqlRestartTest(SqlCase):
    def test_server_restart_gives_failures_then_recovery(self):
        query = "SELECT v FROM items WHERE id = $1"
        sql("SELECT pg_stat_statements_reset()")
        doc = {"database": CLUSTER["url"], "users": [{
            "name": "Db", "wait": {"constant": 0.01},
            "tasks": [{"sql": query, "name": "by id",
                       "params": ["${random_int(1,500)}"],
                       "expect_rows": 1}]}]}
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(write_scenario(self.dir, doc), "-u", 4, "-r", 4,
                           "-t", "12s", "--processes", 1, "--csv", prefix,
                           "--json-file", prefix + ".json")

        def served():
            return calls().get(query, 0)

        def connected():
            return int(sql("SELECT count(*) FROM pg_stat_activity WHERE "
                           "application_name = 'apex-worker'")[0][0])
        wait_for(lambda: connected() == 4 and served() > 100, 20, 0.2,
                 "4 users connected")
        pg("restart", CLUSTER["dir"])
        after = served()
        wait_for(lambda: served() > after + 100, 20, 0.2, "queries after")
        self.assertEqual(m.wait(60), 1, m.stderr()[-3000:])
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        errors = {r["Error"]: int(r["Occurrences"])
                  for r in read_csv(prefix + "_failures.csv")}
        self.assertGreater(int(rows["by id"]["Failure Count"]), 0)
        known = ("SQL 57P01 terminating connection due to administrator "
                 "command", "SQL error: ", "SQL connection error: ")
        for text in errors:
            self.assertTrue(text.startswith(known), text)
        # Every connection was lost and every user came back.
        fig = json.load(open(prefix + ".json"))["figures"]["counters"]
        self.assertEqual(fig["sql_drops"], 4)
        self.assertEqual(fig["sql_connects"], 8)


class SqlBenchmarkScriptTest(SqlCase):
    def test_benchmark_db_runs_the_four_queries(self):
        pg("load", CLUSTER["dir"], "0.01")
        env = dict(os.environ, DATABASE_URL=CLUSTER["url"],
                   APEX_DURATION="4s", APEX_USERS="8", APEX_PROCESSES="1",
                   APEX_BUILD=os.path.relpath(apexlib.BUILD, ROOT),
                   APEX_MASTER_BIND_PORT=str(free_port()),
                   APEX_ONLY_SUMMARY="1")
        p = subprocess.run(["sh", os.path.join(ROOT, "scripts/benchmark.sh"),
                            "db"], capture_output=True, text=True, env=env,
                           cwd=ROOT, timeout=120)
        # At scale 0.01 most primary keys are missing: "simple select"
        # fails its expect_rows and the run its sql_failed threshold.
        self.assertIn(p.returncode, (0, 99), p.stdout + p.stderr)
        for name in ("simple select", "join"):  # weights 10 and 4 of 17
            self.assertRegex(p.stdout, r"\nSQL +%s +\d+" % name, name)
        for name in ("simple select", "join", "aggregation",
                     "full-text search"):
            self.assertIn("sql_duration{name:%s}: p(95)<" % name, p.stdout)

"""Benchmarks as files: load shapes, the open model, thresholds and exit
codes, the JSON and HTML reports and scripts/benchmark.sh, against
apex-target on 127.0.0.1. Short runs; assertions on counts and values,
never on how long something took."""
import json
import math
import os
import re
import subprocess
import unittest

import apexlib
from apexlib import binary, free_port, read_csv, write_scenario
from test_run import RunCase

ROOT = apexlib.ROOT


def scenario(tasks, **extra):
    doc = {"users": [{"name": "ShapeUser", "wait": {"constant": 0.05},
                      "tasks": tasks}]}
    doc.update(extra)
    return doc


HEALTH = [{"request": {"path": "/health"}}]


class StagesTest(RunCase):
    def test_users_follow_the_stages(self):
        base = self.target()
        scn = write_scenario(self.dir, scenario(HEALTH))
        prefix = os.path.join(self.dir, "run")
        # 0 -> 8 users over 4 s, hold 4 s, down to 0 over 2 s.
        m, _ = self.master(scn, "--stages", "4s:8,4s:8,2s:0", "--host", base,
                           "--processes", 1, "--csv", prefix, "--json-file",
                           prefix + ".json", only_summary=False)
        self.assertEqual(m.wait(60), 0, m.stderr())
        self.assertIn("the load shape is complete", m.stderr())
        doc = json.load(open(prefix + ".json"))
        history = doc["history"]
        self.assertGreaterEqual(len(history), 8)
        # Every point: the reported users are within one dispatch step (the
        # per-second change of its stage's ramp: 2, 0 and 4 users) of the
        # target; the point is sampled as that second's spawn goes out.
        steps = {1: 2, 2: 2, 3: 4}
        for p in history:
            self.assertIsNotNone(p["target_users"], p)
            self.assertLessEqual(abs(p["users"] - p["target_users"]),
                                 steps[p["stage"]] + 1, p)
        holds = [p for p in history if p["stage"] == 2]
        self.assertTrue(holds)
        self.assertTrue(all(p["users"] == 8 for p in holds[1:]), holds)
        # The console and the CSV history show the stage and its target.
        self.assertRegex(m.stdout(), r"Stage 2/3: target 8 users, \d+ "
                                     r"running")
        rows = read_csv(prefix + "_stats_history.csv")
        self.assertEqual(list(rows[0])[-3:],
                         ["Stage", "Target Users", "Target Rate"])
        self.assertEqual({r["Stage"] for r in rows} - {"0"},
                         {"1", "2", "3"})
        self.assertIn("8.0", {r["Target Users"] for r in rows})
        # The CSV history shows the same ramp up and down.
        users = [int(r["User Count"]) for r in rows]
        self.assertEqual(max(users), 8)
        peak = users.index(8)
        self.assertEqual(users[:peak + 1], sorted(users[:peak + 1]))
        self.assertEqual(doc["run"]["shape"]["kind"], "stages")
        self.assert_counts_match(base, prefix)

    def test_scenario_shape_and_scaling_by_u_and_t(self):
        base = self.target()
        scn = write_scenario(self.dir, scenario(HEALTH, shape={"stages": [
            {"duration": "1m", "users": 100},
            {"duration": "1m", "users": 100}]}))
        prefix = os.path.join(self.dir, "run")
        # -u 4 scales the peak to 4 users, -t 6s the whole shape to 6 s.
        m, _ = self.master(scn, "-u", 4, "-t", "6s", "--host", base,
                           "--processes", 1, "--json-file", prefix + ".json")
        self.assertEqual(m.wait(60), 0, m.stderr())
        self.assertIn("users x0.04, time x0.05", m.stderr())
        doc = json.load(open(prefix + ".json"))
        self.assertEqual(max(p["users"] for p in doc["history"]), 4)
        self.assertAlmostEqual(doc["run"]["shape"]["duration"], 6.0)

    def test_bad_shapes_are_scenario_errors(self):
        cases = [
            ({"stages": [{"duration": "1m", "users": -1}]},
             "$.shape.stages[0].users"),
            ({"stages": [{"duration": "soon", "users": 1}]},
             "$.shape.stages[0].duration"),
            ({"stages": [], "arrival_rate": {}}, "$.shape"),
            ({"arrival_rate": {"rate": 10, "duration": "1m"}},
             "$.shape.arrival_rate.pre_allocated_users"),
            ({"arrival_rate": {"rate": 10, "duration": "1m",
                               "pre_allocated_users": 5, "max_users": 2}},
             "$.shape.arrival_rate.max_users"),
            ({"stagez": []}, "$.shape.stagez"),
        ]
        for i, (shape, path) in enumerate(cases):
            scn = write_scenario(self.dir, scenario(HEALTH, shape=shape),
                                 "bad%d.json" % i)
            m, _ = self.master(scn, name="bad%d" % i)
            self.assertEqual(m.wait(10), 2, shape)
            self.assertIn(path, m.stderr())
        m, _ = self.master(write_scenario(self.dir, scenario(HEALTH)),
                           "--stages", "1m:x", name="badarg")
        self.assertEqual(m.wait(10), 2)
        self.assertIn("--stages: stage 1: users", m.stderr())


class ThresholdsTest(RunCase):
    def run_with(self, base, extra, tasks=HEALTH, name="master", **doc):
        scn = write_scenario(self.dir, scenario(tasks, **doc),
                             name + ".json")
        prefix = os.path.join(self.dir, name)
        m, _ = self.master(scn, "-u", 3, "-r", 3, "-t", "3s", "--host", base,
                           "--processes", 1, "--json-file", prefix + ".json",
                           *extra, name=name)
        code = m.wait(60)
        return code, m, json.load(open(prefix + ".json"))

    def test_failing_threshold_exits_99_and_is_named(self):
        base = self.target()
        code, m, doc = self.run_with(
            base, ["--threshold", "http_req_duration: p(95)<0.001",
                   "--threshold", "http_req_failed: rate<0.5"])
        self.assertEqual(code, 99, m.stderr())
        self.assertRegex(m.stdout(), "\u2717 http_req_duration: p\\(95\\)"
                                     "<0.001 +observed [0-9.]+ ms")
        self.assertRegex(m.stdout(), "\u2713 http_req_failed: rate<0.5")
        self.assertEqual(doc["run"]["exit_code"], 99)
        self.assertEqual(doc["run"]["verdict"], "thresholds failed")
        failed = [t for t in doc["thresholds"] if not t["ok"]]
        self.assertEqual([t["source"] for t in failed],
                         ["http_req_duration: p(95)<0.001"])
        self.assertGreater(failed[0]["observed"], 0.001)

    def test_passing_set_exits_0_even_with_failed_requests(self):
        # With thresholds, they decide the exit code (as k6), not the
        # failed requests (Locust's rule without thresholds).
        base = self.target("--error-rate", "0.2")
        code, m, doc = self.run_with(base, [], thresholds={
            "http_req_duration": ["p(95)<2000", "avg<1000", "max<5000"],
            "http_req_failed": ["rate<0.6"],
            "http_reqs": ["count>10", "rate>1"],
            "iterations": ["count>10"],
        })
        self.assertEqual(code, 0, m.stdout() + m.stderr())
        self.assertTrue(all(t["ok"] for t in doc["thresholds"]),
                        doc["thresholds"])
        rate = [t for t in doc["thresholds"]
                if t["source"] == "http_req_failed: rate<0.6"][0]
        self.assertGreater(rate["observed"], 0.05)

    def test_per_entry_threshold_looks_at_its_entry_only(self):
        base = self.target()
        tasks = [{"request": {"path": "/health"}},
                 {"request": {"path": "/api/v1/tasks",
                              "query": {"delay_ms": 200}}}]
        code, m, doc = self.run_with(base, [], tasks=tasks, thresholds={
            "http_req_duration{name:GET /health}": ["p(95)<100"],
            "http_req_duration{name:/api/v1/tasks}": ["p(95)<100"],
            "http_req_duration{method:GET}": ["max>150"],
            "http_req_duration": ["p(99)>150"],
        })
        self.assertEqual(code, 99)
        verdicts = {t["source"]: t["ok"] for t in doc["thresholds"]}
        self.assertTrue(verdicts["http_req_duration{name:GET /health}: "
                                 "p(95)<100"])
        self.assertFalse(verdicts["http_req_duration{name:/api/v1/tasks}: "
                                  "p(95)<100"])
        self.assertTrue(verdicts["http_req_duration{method:GET}: max>150"])
        self.assertTrue(verdicts["http_req_duration: p(99)>150"])

    def test_abort_on_fail_stops_the_run_early(self):
        base = self.target("--error-rate", "1")
        scn = write_scenario(self.dir, scenario(HEALTH, thresholds={
            "http_req_failed": [{"threshold": "rate<0.1",
                                 "abortOnFail": True,
                                 "delayAbortEval": "1s"}]}))
        m, _ = self.master(scn, "-u", 2, "-r", 2, "-t", "60s", "--host",
                           base, "--processes", 1)
        self.assertEqual(m.wait(30), 99, m.stderr())
        self.assertIn("threshold http_req_failed: rate<0.1 failed",
                      m.stderr())

    def test_malformed_thresholds_are_errors(self):
        base = self.target()
        cases = [
            (["--threshold", "http_req_duration p(95)<1"],
             "expected 'metric: expression'"),
            (["--threshold", "http_req_duration: p(95)=1"],
             "expected an operator"),
            (["--threshold", "http_req_failed: p(95)<1"],
             "http_req_failed takes rate"),
            (["--threshold", "latency: p(95)<1"], "unknown metric 'latency'"),
            (["--threshold", "http_reqs: rate>x"], "expected a number"),
            (["--threshold", "http_req_duration{host:x}: p(95)<1"],
             "unknown filter 'host'"),
        ]
        scn = write_scenario(self.dir, scenario(HEALTH))
        for i, (extra, message) in enumerate(cases):
            m, _ = self.master(scn, "--host", base, *extra,
                               name="bad%d" % i)
            self.assertEqual(m.wait(10), 2, extra)
            self.assertIn(message, m.stderr())
        bad = write_scenario(self.dir, scenario(HEALTH, thresholds={
            "http_req_duration": ["p(95)<500", "pp(99)<1"]}), "bad.json")
        m, _ = self.master(bad, name="badjson")
        self.assertEqual(m.wait(10), 2)
        self.assertIn('bad.json: $.thresholds["http_req_duration"][1]: '
                      "'pp(99)<1': expected an aggregation", m.stderr())


class ArrivalRateTest(RunCase):
    def arrival(self, base, arrival, tasks, name="master"):
        scn = write_scenario(self.dir, scenario(
            tasks, shape={"arrival_rate": arrival}), name + ".json")
        prefix = os.path.join(self.dir, name)
        m, _ = self.master(scn, "--host", base, "--processes", 1,
                           "--json-file", prefix + ".json", "--csv", prefix,
                           name=name)
        self.assertEqual(m.wait(60), 0, m.stderr())
        return json.load(open(prefix + ".json")), prefix

    def test_achieved_rate_within_two_percent(self):
        base = self.target("--delay-ms", "20")
        doc, prefix = self.arrival(base, {
            "rate": 50, "duration": "6s", "pre_allocated_users": 5,
            "max_users": 20}, HEALTH)
        expected = 50 * 6
        got = doc["iterations"]
        self.assertLessEqual(abs(got - expected), 0.02 * expected,
                             (got, expected))
        self.assertEqual(doc["dropped_iterations"], 0)
        served = apexlib.target_stats(base)["requests"]["GET /health"]
        self.assertEqual(doc["total"]["requests"], served)
        # Service time is recorded next to the latency from intended start.
        entry = doc["entries"][0]
        self.assertIn("service", entry)
        self.assertGreaterEqual(entry["service"]["p50_ms"], 20)
        rates = [p["target_rate"] for p in doc["history"]]
        self.assertTrue(rates and all(r == 50 for r in rates), rates)
        self.assertIn("50.0", {r["Target Rate"] for r in
                               read_csv(prefix + "_stats_history.csv")})

    def test_too_few_users_drop_iterations_and_latency_shows_queueing(self):
        # 400 ms per request, 2-4 users: at most 10 iterations/s, 20 asked.
        base = self.target()
        tasks = [{"request": {"path": "/api/v1/tasks",
                              "query": {"delay_ms": 400}}}]
        doc, prefix = self.arrival(base, {
            "rate": 20, "duration": "5s", "pre_allocated_users": 2,
            "max_users": 4}, tasks)
        self.assertGreater(doc["dropped_iterations"], 0)
        total = doc["iterations"] + doc["dropped_iterations"]
        self.assertLessEqual(abs(total - 100), 3, doc)
        entry = doc["entries"][0]
        # Iterations that waited for a free user count from when they
        # should have started: latency well above the server's time.
        self.assertGreater(entry["percentiles_ms"]["50"],
                           entry["service"]["p50_ms"] + 100, entry)
        self.assertGreaterEqual(entry["service"]["p50_ms"], 400)
        self.assertIn("dropped", open(self.procs[-1].out_path).read())


class ReportsTest(RunCase):
    def test_json_counts_equal_csv_and_html_renders(self):
        base = self.target("--error-rate", "0.1")
        scn = write_scenario(self.dir, scenario(
            [{"weight": 2, "request": {"path": "/health"}},
             {"request": {"path": "/api/v1/agents"}}]))
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(scn, "--stages", "3s:4,3s:4", "--host", base,
                           "--processes", 1, "--csv", prefix, "--json-file",
                           prefix + ".json", "--html", prefix + ".html",
                           "--threshold", "http_req_failed: rate<0.5")
        self.assertEqual(m.wait(60), 0, m.stderr())
        doc = json.load(open(prefix + ".json"))
        rows = {(r["Type"], r["Name"]): r
                for r in read_csv(prefix + "_stats.csv")}
        for e in doc["entries"] + [doc["total"]]:
            row = rows[(e["method"], e["name"])]
            self.assertEqual(int(row["Request Count"]), e["requests"])
            self.assertEqual(int(row["Failure Count"]), e["failures"])
            self.assertEqual(int(row["50%"]),
                             round(e["percentiles_ms"]["50"]))
        self.assertEqual(sum(e["occurrences"] for e in doc["errors"]),
                         doc["total"]["failures"])
        for key in ("start", "end", "host", "scenario", "workers", "shape"):
            self.assertIn(key, doc["run"])
        self.assertEqual(len(doc["run"]["workers"]), 1)
        self.assertTrue(doc["history"])
        html = open(prefix + ".html").read()
        self.assertNotIn("__APEX_REPORT_DATA__", html)
        self.assertNotRegex(html, r"(src|href)=\"https?://")
        # The real browser test: no console errors, non-empty charts.
        env = dict(os.environ, APEX_REPORT=prefix + ".html",
                   APEX_BROWSER_OUT=self.dir)
        p = subprocess.run(["node", "--test", "--test-reporter=tap",
                            os.path.join(ROOT, "tests/browser/"
                                               "report.test.mjs")],
                           capture_output=True, text=True, env=env,
                           cwd=ROOT, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout[-4000:] + p.stderr)
        self.assertRegex(p.stdout, r"# fail 0")


class BenchmarkScriptTest(RunCase):
    def test_benchmark_load_with_tiny_overrides(self):
        base = self.target()
        env = dict(os.environ, API_URL=base, APEX_DURATION="6s",
                   APEX_USERS="4", APEX_PROCESSES="1",
                   APEX_BUILD=os.path.relpath(apexlib.BUILD, ROOT),
                   APEX_MASTER_BIND_PORT=str(free_port()),
                   APEX_ONLY_SUMMARY="1")
        before = set(os.listdir(os.path.join(ROOT, "results")))
        p = subprocess.run(["sh", os.path.join(ROOT, "scripts/benchmark.sh"),
                            "load"], capture_output=True, text=True,
                           env=env, cwd=ROOT, timeout=120)
        # 0 (every threshold passed) or 99 (one failed: a tiny run may miss
        # the request-rate target), never a usage or run failure.
        self.assertIn(p.returncode, (0, 99), p.stdout + p.stderr)
        made = sorted(set(os.listdir(os.path.join(ROOT, "results"))) - before)
        jsons = [f for f in made if f.startswith("load-") and
                 f.endswith(".json")]
        self.assertEqual(len(jsons), 1, made)
        stem = jsons[0][:-len(".json")]
        for suffix in (".html", "_stats.csv", "_stats_history.csv",
                       "_failures.csv"):
            self.assertIn(stem + suffix, made)
        doc = json.load(open(os.path.join(ROOT, "results", jsons[0])))
        self.assertEqual(doc["run"]["exit_code"], p.returncode)
        self.assertAlmostEqual(doc["run"]["shape"]["duration"], 6, places=3)
        self.assertEqual(max(s["users"] for s in
                             doc["run"]["shape"]["stages"]), 4)
        self.assertGreater(doc["total"]["requests"], 10)
        self.assertEqual(len(doc["thresholds"]), 22)
        for f in made:
            if f.startswith(stem):
                os.remove(os.path.join(ROOT, "results", f))


if __name__ == "__main__":
    unittest.main()

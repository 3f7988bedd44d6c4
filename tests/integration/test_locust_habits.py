"""Locust's options, files and variables on apex-master (the first-hour
issue): each habit of a Locust user against real processes on 127.0.0.1.
Every run is short (1-4 s) with one local worker."""
import json
import os
import re

import apexlib
from apexlib import binary, free_port, read_csv, wait_for, write_scenario
from test_run import RunCase

TAGGED = {
    "users": [
        {"name": "WebUser", "wait": {"constant": 0.05}, "tags": ["web"],
         "tasks": [
             {"weight": 3, "tags": ["health"],
              "request": {"path": "/health"}},
             {"weight": 1, "tags": ["tasks", "api"],
              "request": {"path": "/api/v1/tasks", "query": {"limit": 5}}},
         ]},
        {"name": "AgentUser", "wait": {"constant": 0.05}, "tags": ["api"],
         "tasks": [{"request": {"path": "/api/v1/agents"}}]},
    ],
}

SPAWNED = re.compile(r"All users spawned: .* \((\d+) total users\)")


class HabitCase(RunCase):
    def run_master(self, scenario, *extra, name="master", env=None,
                   cwd=None, headless=True, timeout=40):
        """A master with one local worker; waits for it to exit."""
        args = [binary("apex-master"), "-f", scenario,
                "--master-bind-port", free_port(), "--processes", 1, *extra]
        if headless:
            args.append("--headless")
        # HOME is the test's folder: no ~/.apex.conf of the machine.
        env = {"HOME": self.dir, **(env or {})}
        m = self.start(args, name, env=env, cwd=cwd or self.dir)
        m.wait(timeout)
        return m

    def spawned(self, m):
        found = SPAWNED.findall(m.stderr())
        self.assertTrue(found, m.stderr())
        return int(found[-1])


class ConfigTest(HabitCase):
    def test_file_then_environment_then_command_line(self):
        # Locust's precedence: locust.conf < LOCUST_* < the command line.
        base = self.target()
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        with open(os.path.join(self.dir, "apex.conf"), "w") as f:
            f.write("# as locust.conf\n[locust]\nusers = 3\nspawn-rate = 3\n"
                    "run_time = 1s\nhost = %s\nonly-summary = true\n"
                    "master = true\n" % base)
        m = self.run_master(scn, name="file")
        self.assertEqual(m.popen.returncode, 0, m.stderr())
        self.assertEqual(self.spawned(m), 3)
        m = self.run_master(scn, name="env", env={"LOCUST_USERS": "2"})
        self.assertEqual(self.spawned(m), 2)
        # APEX_* wins over LOCUST_*, the command line over both.
        m = self.run_master(scn, "-u", 1, name="cli",
                            env={"LOCUST_USERS": "2", "APEX_USERS": "2"})
        self.assertEqual(self.spawned(m), 1)
        # --config FILE, and LOCUST_LOCUSTFILE for -f.
        other = os.path.join(self.dir, "other.conf")
        with open(other, "w") as f:
            f.write("users: 2\n")
        args = [binary("apex-master"), "--config", other, "--headless",
                "--master-bind-port", free_port(), "--processes", 1]
        m = self.start(args, "config", cwd=self.dir,
                       env={"HOME": self.dir, "LOCUST_LOCUSTFILE": scn})
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assertEqual(self.spawned(m), 2)

    def test_bad_values_are_named_with_file_and_line(self):
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        with open(os.path.join(self.dir, "apex.conf"), "w") as f:
            f.write("users = 3\nspawn-rate = fast\n")
        m = self.run_master(scn, name="badconf")
        self.assertEqual(m.popen.returncode, 2)
        self.assertIn("apex.conf:2: spawn-rate: expected a number",
                      m.stderr())
        os.unlink(os.path.join(self.dir, "apex.conf"))
        # A value that is the next option: "--csv --headless".
        m = self.run_master(scn, "--csv", "--only-summary", name="novalue")
        self.assertEqual(m.popen.returncode, 2)
        self.assertIn("--csv: expected a value, got the option "
                      "'--only-summary'", m.stderr())
        # A locustfile: what to do instead.
        py = os.path.join(self.dir, "locustfile.py")
        with open(py, "w") as f:
            f.write("from locust import HttpUser\n")
        m = self.run_master(py, name="py")
        self.assertEqual(m.popen.returncode, 2)
        self.assertIn("locustfile.py: a Python locustfile; apex scenarios "
                      "are JSON files (see the README's \"From Locust\" "
                      "section", m.stderr())


class TagsTest(HabitCase):
    def run_tagged(self, name, *tags):
        base = self.target()
        scn = write_scenario(self.dir, TAGGED, name + ".json")
        prefix = os.path.join(self.dir, name)
        m = self.run_master(scn, "-u", 4, "-r", 4, "-t", "2s", "--host",
                            base, "--csv", prefix, "--only-summary", *tags,
                            name=name)
        self.assertEqual(m.popen.returncode, 0, m.stderr())
        served = apexlib.target_stats(base)["requests"]
        rows = {r["Name"]: int(r["Request Count"])
                for r in read_csv(prefix + "_stats.csv")}
        return m, served, rows

    def test_tags_keep_only_tagged_tasks(self):
        m, served, rows = self.run_tagged("tags", "--tags", "health")
        self.assertGreater(served["GET /health"], 0, served)
        self.assertEqual(served["GET /api/v1/tasks"], 0, served)
        self.assertEqual(served["GET /api/v1/agents"], 0, served)
        self.assertEqual(set(rows), {"/health", "Aggregated"}, rows)
        self.assertEqual(rows["/health"], served["GET /health"])
        self.assertIn("user class(es) AgentUser have no task left after "
                      "the tag filter", m.stderr())

    def test_class_tags_and_exclude_tags(self):
        # "api" is on a task of WebUser and on the whole AgentUser class;
        # "-T api -E tasks" leaves AgentUser's task alone.
        m, served, rows = self.run_tagged("excl", "-T", "api", "-E", "tasks")
        self.assertGreater(served["GET /api/v1/agents"], 0, served)
        self.assertEqual(served["GET /health"], 0, served)
        self.assertEqual(served["GET /api/v1/tasks"], 0, served)
        self.assertIn("WebUser have no task left", m.stderr())

    def test_nothing_left_is_an_error(self):
        scn = write_scenario(self.dir, TAGGED)
        m = self.run_master(scn, "--tags", "nope", "x", name="none")
        self.assertEqual(m.popen.returncode, 2)
        self.assertIn("no task is left after --tags nope x", m.stderr())


class OutputTest(HabitCase):
    def test_json_prints_locusts_stats_on_stdout(self):
        base = self.target()
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        prefix = os.path.join(self.dir, "run")
        # Locust's habit: "--json --only-summary" (no value for --json).
        m = self.run_master(scn, "-u", 2, "-r", 2, "-t", "2s", "--host",
                            base, "--csv", prefix, "--json",
                            "--only-summary", "--skip-log")
        self.assertEqual(m.popen.returncode, 0, m.stderr())
        entries = json.loads(m.stdout())  # the JSON alone on stdout
        self.assertNotIn("apex.master", m.stderr())  # --skip-log
        rows = {(r["Type"], r["Name"]): r
                for r in read_csv(prefix + "_stats.csv")}
        self.assertEqual(len(entries), 2, entries)
        for e in entries:
            row = rows[(e["method"], e["name"])]
            self.assertEqual(e["num_requests"], int(row["Request Count"]))
            self.assertEqual(e["num_failures"], 0)
            self.assertEqual(sum(e["response_times"].values()),
                             e["num_requests"])
            self.assertEqual(sum(e["num_reqs_per_sec"].values()),
                             e["num_requests"])
            self.assertLessEqual(e["min_response_time"],
                                 e["max_response_time"])
            self.assertGreater(e["total_response_time"], 0)
            self.assertEqual(set(e), {
                "name", "method", "last_request_timestamp", "start_time",
                "num_requests", "num_none_requests", "num_failures",
                "total_response_time", "max_response_time",
                "min_response_time", "total_content_length",
                "response_times", "num_reqs_per_sec", "num_fail_per_sec"})

    def test_json_file_is_the_report(self):
        base = self.target()
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        path = os.path.join(self.dir, "report.json")
        m = self.run_master(scn, "-u", 1, "-t", "1s", "--host", base,
                            "--json-file", path, "--only-summary")
        self.assertEqual(m.popen.returncode, 0, m.stderr())
        with open(path) as f:
            report = json.load(f)
        self.assertEqual(report["total"]["name"], "Aggregated")
        self.assertGreater(report["total"]["requests"], 0)
        self.assertIn("Aggregated", m.stdout())  # tables as usual

    def test_logfile_takes_the_log_of_master_and_workers(self):
        base = self.target()
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        log = os.path.join(self.dir, "apex.log")
        m = self.run_master(scn, "-u", 1, "-t", "1s", "--host", base,
                            "--logfile", log, "--only-summary")
        self.assertEqual(m.popen.returncode, 0, m.stderr())
        self.assertEqual(m.stderr(), "")
        with open(log) as f:
            text = f.read()
        self.assertIn("apex.master: Starting apex-master", text)
        self.assertIn("apex.worker: registered with the master", text)

    def test_reset_stats_drops_the_ramp(self):
        base = self.target()
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m = self.run_master(scn, "-u", 3, "-r", 1, "-t", "5s", "--host",
                            base, "--csv", prefix, "--only-summary",
                            "--reset-stats")
        self.assertEqual(m.popen.returncode, 0, m.stderr())
        err = m.stderr()
        self.assertLess(err.index("All users spawned"),
                        err.index("apex.master: Resetting stats"))
        # The workers drop what they measured in the ramp too.
        self.assertIn("apex.worker: Resetting stats", err)
        served = apexlib.target_stats(base)["total"]
        total = [r for r in read_csv(prefix + "_stats.csv")
                 if r["Name"] == "Aggregated"][0]
        ours = int(total["Request Count"])
        # The 2 s ramp served requests the reset dropped; after it, the
        # 3 users went on.
        self.assertGreater(ours, 0)
        self.assertLess(ours, served)

    def test_print_stats_with_the_web_ui(self):
        base = self.target()
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        m = self.run_master(scn, "-u", 1, "-t", "3s", "--host", base,
                            "--autostart", "--autoquit", "0", "-P", 0,
                            "--print-stats", headless=False)
        self.assertEqual(m.popen.returncode, 0, m.stderr())
        # The periodic table (current RPS), then the summary.
        self.assertGreaterEqual(m.stdout().count("Aggregated"), 3,
                                m.stdout())
        m = self.run_master(scn, "--print-stats", name="headless")
        self.assertEqual(m.popen.returncode, 2)
        self.assertIn("--print-stats is for web UI runs", m.stderr())


class ReadableTest(HabitCase):
    def test_fast_responses_have_decimals_in_the_console(self):
        base = self.target()
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        m = self.run_master(scn, "-u", 2, "-r", 2, "-t", "2s", "--host",
                            base, "--only-summary")
        self.assertEqual(m.popen.returncode, 0, m.stderr())
        out = m.stdout()
        # apex-target answers in well under 10 ms: Avg, Min, Max, Med
        # with two decimals, not 0, and the percentiles likewise.
        agg = [line for line in out.splitlines()
               if line.lstrip().startswith("Aggregated")]
        self.assertEqual(len(agg), 2, out)
        times = agg[0].split("|")[1].split()
        self.assertEqual(len(times), 4, agg[0])
        for t in times:
            self.assertRegex(t, r"^\d\.\d\d$", agg[0])
        self.assertRegex(agg[1], r"Aggregated\s+\d\.\d\d\s", agg[1])

    def test_a_hundred_workers_fit_in_a_short_summary(self):
        base = self.target()
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        args = [binary("apex-master"), "-f", scn, "--headless",
                "--master-bind-port", free_port(), "--processes", 100,
                "-u", 100, "-r", 100, "-t", "2s", "--host", base,
                "--only-summary"]
        m = self.start(args, "master", env={"HOME": self.dir})
        self.assertEqual(m.wait(120), 0, m.stderr()[-3000:])
        out = m.stdout()
        table = out[out.index("Workers: 100"):]
        self.assertLess(len(table.strip().splitlines()), 40, table)
        self.assertRegex(table, r"\n\S+ \(100\)\s+apex \S+\s+gone\s+100\s")
        self.assertIn("Total (100)", table)
        self.assertIn("Worth a look", table)


class WorkerOptionsTest(HabitCase):
    def test_locust_worker_variables(self):
        base = self.target()
        scn = write_scenario(self.dir, apexlib.SIMPLE)
        port = free_port()
        m = self.start([binary("apex-master"), "-f", scn, "--headless",
                        "--master-bind-port", port, "--expect-workers", 1,
                        "-u", 1, "-t", "1s", "--host", base,
                        "--only-summary"], "master")
        wait_for(lambda: "Waiting for" in m.stderr(), 20,
                 what="the master waiting for its worker")
        w = self.start([binary("apex-worker")], "worker",
                       env={"LOCUST_MASTER_NODE_HOST": "127.0.0.1",
                            "LOCUST_MASTER_NODE_PORT": str(port),
                            "APEX_MASTER_PORT": None})
        self.assertEqual(m.wait(30), 0, m.stderr())
        self.assertEqual(w.wait(10), 0, w.stderr())
        self.assertIn("registered with the master at tcp://127.0.0.1:%d"
                      % port, w.stderr())

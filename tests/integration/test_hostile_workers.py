"""Findings of the hostile review (issue 19) about what a peer on the
master's port can make a master do, each reproduced against a real
apex-master with a real apex-worker next to a hostile one
(fake_worker.FakeWorker: a ZeroMQ DEALER speaking Locust's protocol).

The real worker's traffic is always checked against what apex-target
served: what the hostile peer sends must never corrupt it."""
import os
import re
import time

import apexlib
from apexlib import SIMPLE, read_csv, wait_for, write_scenario
from fake_worker import FakeWorker, entry, report
from test_run import RunCase

# master/limits.h and proto/proto.h
MAX_WORKER_NAMES = 1000
MAX_EXCEPTIONS = 200
OTHER_NAME = "(other names, over the limit)"
COUNT_MAX = 2 ** 63 - 1


def vm_hwm_kib(pid):
    """The peak resident memory of a process (VmHWM), in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % pid)


class HostileWorkerCase(RunCase):
    def run_with_fake(self, *extra, users=2, run_time="3s"):
        """A master expecting 2 workers, a real one and a fake one that
        registered; returns (master, fake, target base URL, CSV prefix)."""
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m, port = self.master(scn, "-u", users, "-r", users, "-t", run_time,
                              "--host", base, "--csv", prefix,
                              "--expect-workers", 2, *extra)
        self.worker(port, "worker")
        fake = FakeWorker(port, "evil_" + "1" * 32)
        self.addCleanup(fake.close)
        fake.register()
        wait_for(lambda: fake.got("spawn"), 20, what="the run to start")
        return m, fake, base, prefix

    def assert_real_counts(self, base, prefix):
        """The real worker's rows equal what apex-target served."""
        served = apexlib.target_stats(base)["requests"]
        rows = {(r["Type"], r["Name"]): r for r in read_csv(
            prefix + "_stats.csv")}
        for key, route in apexlib.ROUTES.items():
            self.assertEqual(int(rows[key]["Request Count"]), served[route],
                             key)


class StatsBoundsTest(HostileWorkerCase):
    def test_one_report_with_50000_names_is_bounded(self):
        # Finding 3: one 4.8 MB report with 50,000 names took a master
        # from 10 MB to 1.4 GB for good, and the CSV to 50,009 rows.
        m, fake, base, prefix = self.run_with_fake()
        names = [entry("/flood/%05d" % i, 1) for i in range(50000)]
        errors = {"%064x" % i: {"name": "/flood", "method": "GET",
                                "error": "E%d" % i, "occurrences": 1}
                  for i in range(5000)}
        fake.send("stats", report(names, errors))

        def merged():  # the CSV is rewritten every second
            with open(prefix + "_stats.csv") as f:
                return "/flood/" in f.read()
        wait_for(merged, 30, what="the report to be merged")
        self.assertLess(vm_hwm_kib(m.pid), 300 * 1024)
        self.assertEqual(m.wait(40), 1, m.stderr())  # the fake's failures
        self.assert_real_counts(base, prefix)
        rows = read_csv(prefix + "_stats.csv")
        flood = [r for r in rows if r["Name"].startswith("/flood/")]
        self.assertEqual(len(flood), MAX_WORKER_NAMES)
        other = [r for r in rows if r["Name"] == OTHER_NAME]
        self.assertEqual(int(other[0]["Request Count"]),
                         50000 - MAX_WORKER_NAMES)
        total = [r for r in rows if r["Name"] == "Aggregated"][0]
        self.assertEqual(int(total["Request Count"]),
                         sum(int(r["Request Count"]) for r in rows
                             if r["Name"] != "Aggregated"))
        failures = read_csv(prefix + "_failures.csv")
        self.assertEqual(len(failures), 1001)
        self.assertEqual(sum(int(f["Occurrences"]) for f in failures), 5000)
        self.assertEqual(m.stderr().count("more than 1000 names"), 1)

    def test_counts_saturate_instead_of_wrapping(self):
        # Finding 14: 2,100 reports of 2^53 - 1 requests were printed as
        # 468374361246529809 (the sum wrapped); times of 1e12 ms printed
        # past their columns.
        m, fake, base, prefix = self.run_with_fake()
        for _ in range(2100):
            fake.send("stats", report([entry("/huge", 2 ** 53 - 1,
                                             ms=1e12)]))
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assert_real_counts(base, prefix)
        rows = {r["Name"]: r for r in read_csv(prefix + "_stats.csv")}
        self.assertEqual(int(rows["/huge"]["Request Count"]), COUNT_MAX)
        self.assertEqual(int(rows["Aggregated"]["Request Count"]), COUNT_MAX)
        out = m.stdout()
        self.assertIn(str(COUNT_MAX), out)
        self.assertNotRegex(out, r"\b4683743612465\d+")
        self.assertIn("1.0e+12", out)
        self.assertNotIn("1000000000000", out)


class ExceptionsTest(HostileWorkerCase):
    def test_exception_from_an_unregistered_peer_is_dropped(self):
        # Finding 9: an exception from a peer that never registered was
        # counted, and turned a clean run's exit code into 1.
        base = self.target()
        scn = write_scenario(self.dir, SIMPLE)
        prefix = os.path.join(self.dir, "run")
        m, port = self.master(scn, "-u", 2, "-r", 2, "-t", "2s", "--host",
                              base, "--csv", prefix, "--expect-workers", 1)
        self.worker(port, "worker")
        stranger = FakeWorker(port, "stranger_" + "2" * 32, heartbeat=False)
        self.addCleanup(stranger.close)
        wait_for(lambda: "All users spawned" in m.stderr(), 20,
                 what="the run")
        stranger.send("exception", {"msg": "ZeroDivisionError",
                                    "traceback": "Traceback ..."})
        self.assertEqual(m.wait(40), 0, m.stderr())
        self.assertEqual(len(read_csv(prefix + "_exceptions.csv")), 0)
        self.assertIn("discarding exception from unknown worker stranger_",
                      m.stderr())
        self.assert_counts_match(base, prefix)

    def test_distinct_exceptions_are_bounded(self):
        # Finding 9: 20,000 unique exceptions made a 39 MB CSV and a
        # 41 MB HTML report.
        html = os.path.join(self.dir, "report.html")
        m, fake, base, prefix = self.run_with_fake("--html", html)
        for i in range(20000):
            fake.send("exception", {"msg": "Boom%d" % i,
                                    "traceback": "x" * 1000})
        self.assertEqual(m.wait(60), 1, m.stderr())
        self.assert_real_counts(base, prefix)
        rows = read_csv(prefix + "_exceptions.csv")
        self.assertEqual(len(rows), MAX_EXCEPTIONS + 1)
        self.assertEqual(sum(int(r["Count"]) for r in rows), 20000)
        self.assertLess(os.path.getsize(prefix + "_exceptions.csv"),
                        1024 * 1024)
        self.assertLess(os.path.getsize(html), 3 * 1024 * 1024)
        self.assertEqual(m.stderr().count("distinct exceptions"), 1)
        # Each distinct exception is logged once, the flood is not.
        self.assertEqual(m.stderr().count("exception from worker"),
                         MAX_EXCEPTIONS)


class CsvFormulaTest(RunCase):
    def test_names_starting_like_formulas_are_neutralised(self):
        # Finding 13: names and errors starting with =, +, -, @ were
        # written raw into the CSVs (spreadsheet formula injection).
        base = self.target("--error-rate", "0.5")
        names = ["=HYPERLINK(\"http://evil\")", "+1+1", "-1+1", "@SUM(1)"]
        scn = write_scenario(self.dir, {"users": [{
            "name": "U", "wait": {"constant": 0.05},
            "tasks": [{"request": {"path": "/health", "name": n}}
                      for n in names]}]})
        prefix = os.path.join(self.dir, "run")
        m, _ = self.master(scn, "-u", 2, "-r", 2, "-t", "2s", "--host", base,
                           "--csv", prefix, "--processes", 1,
                           "--csv-full-history")
        self.assertEqual(m.wait(40), 1, m.stderr())
        for suffix in ("stats", "failures", "stats_history"):
            rows = read_csv("%s_%s.csv" % (prefix, suffix))
            seen = {r["Name"] for r in rows}
            for n in names:
                self.assertIn("'" + n, seen, suffix)
                self.assertNotIn(n, seen, suffix)
            for r in rows:
                for value in r.values():
                    self.assertFalse(value and value[0] in "=+@\t\r",
                                     (suffix, r))
        self.assertTrue(read_csv(prefix + "_failures.csv"))
